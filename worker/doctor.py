"""``worker doctor``: what would stop ``worker serve`` (with the same options) from working
well on this host, and how to fix it.

Checks: Docker answers at ``--docker-host`` (and its version), the inotify limits dockerd
follows logs with, the data directory (``--data-dir``: writable, room), the ports
(``--listen``, ``--metrics``), the clock skew the master (``--master``) measured for this
worker (``--name``), and the expiry of the worker's certificate from its master (kept in the
data directory). The verdicts and the report come from :mod:`shared.doctor`; this module
gathers the facts.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from shared.doctor import (
    Check,
    certificate_check,
    docker_check,
    exit_code,
    format_report,
    registration_check,
    report_json,
)
from shared.doctor_checks import ask_master, check_directory, check_port, read_file
from shared.paths import default_state_dir, worker_data_dir
from worker.config import WorkerConfig
from worker.hostcheck import inotify_checks, read_inotify_limit, read_inotify_watches
from worker.identity import IdentityFiles

DOCKER_TIMEOUT = 5  # seconds Docker has to answer


def check_docker(host: str, timeout: int = DOCKER_TIMEOUT) -> Check:
    """Docker answers at ``host`` (docker-py, as the worker talks to it), and its version."""
    import docker
    import requests

    try:
        client = docker.DockerClient(base_url=host, version="auto", timeout=timeout)
        try:
            version = client.version()
        finally:
            client.close()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        return docker_check(host, "", "", _why_unreachable(host, exc))
    return docker_check(host, version.get("Version", "?"), version.get("ApiVersion", "?"), "")


def _why_unreachable(host: str, exc: Exception) -> str:
    """A short reason; for a local socket, what is wrong with it."""
    if host.startswith("unix://"):
        path = urlsplit(host).path or host.removeprefix("unix://")
        if not os.path.exists(path):
            return f"no socket at {path} (dockerd not running?)"
        if not os.access(path, os.R_OK | os.W_OK):
            return f"permission denied on {path}"
    return str(exc) or type(exc).__name__


def worker_checks(config: WorkerConfig) -> list[Check]:
    """Every check, in the order of the report."""
    data_dir = config.data_dir or worker_data_dir(default_state_dir(), config.name)
    checks = [check_docker(config.docker_host)]
    checks += inotify_checks(read_inotify_limit(), read_inotify_watches(), config.docker_host)
    checks.append(check_directory("data-dir", "--data-dir", data_dir))
    checks.append(check_port("listen", "--listen", config.listen))
    if config.metrics_listen:
        checks.append(
            check_port("metrics", "--metrics", config.metrics_listen, http_server="logcast server")
        )
    workers, error = ask_master(config.master) if config.master else (None, "")
    checks.append(registration_check(config.master, config.name, workers, error))
    checks.append(check_certificate(data_dir, config.name, time.time()))
    return checks


def check_certificate(data_dir: Path, name: str, now: float) -> Check:
    """The certificate worker ``name`` got from its master (``DATA_DIR/identity/cert.pem``):
    how long it is valid."""
    identity = IdentityFiles(data_dir).dir
    path = identity / "cert.pem"
    pem, error = read_file(path)  # (a file in the path: the data-dir check fails)
    return certificate_check(
        "worker-cert",
        str(path),
        pem,
        now,
        missing="not joined yet: start it with --master HOST:PORT --join-token TOKEN (from "
        "`master join-token`)",
        soon="it renews itself after two thirds of its lifetime, so renewing has failed: check "
        "that the worker runs and reaches its master's cluster port (its log says why: "
        '"could not renew")',
        bad=f"the worker cannot use it: remove {identity} and start the worker with --master "
        f"HOST:PORT --join-token TOKEN, a token from `master join-token --replace {name}` (the "
        "name stays bound to its old key otherwise)",
        error=error,
    )


def run_doctor(config: WorkerConfig, *, as_json: bool = False) -> int:
    """Print the report (text or JSON) on stdout; return the exit code (1: a check failed)."""
    checks = worker_checks(config)
    sys.stdout.write(report_json(checks) + "\n" if as_json else format_report(checks))
    return exit_code(checks)
