"""``master doctor``: what would stop ``master serve`` (with the same options) from working
well on this host, and how the running master's workers are doing.

Checks: the state directory (``--state-dir``: writable, room), the ports (``--grpc``,
``--http``, ``--cluster``), Docker and the inotify limits when the master runs its own worker
(``--local-worker``), the master at ``--master`` and each worker it knows (alive, clock
skew), and the certificates' expiry: the workers' CA and the master's own certificate in the
state directory, and ``--tls-cert`` when given. The verdicts and the report come from
:mod:`shared.doctor`; this module gathers the facts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from master.cluster import BINDINGS, CA_CERT, CA_KEY, MASTER_CERT, MASTER_KEY
from master.config import MasterConfig
from shared.doctor import (
    Check,
    Status,
    certificate_check,
    exit_code,
    format_report,
    master_checks,
    report_json,
)
from shared.doctor_checks import ask_master, check_directory, check_port, read_file
from shared.paths import default_state_dir


def local_worker_checks() -> list[Check]:
    """Docker and inotify, as the embedded worker (``--local-worker``) would meet them."""
    from worker.config import WorkerConfig
    from worker.doctor import check_docker
    from worker.hostcheck import inotify_checks, read_inotify_limit, read_inotify_watches

    docker_host = WorkerConfig().docker_host  # the embedded worker's: $DOCKER_HOST or default
    return [
        check_docker(docker_host),
        *inotify_checks(read_inotify_limit(), read_inotify_watches(), docker_host),
    ]


def doctor_checks(config: MasterConfig, master: str) -> list[Check]:
    """Every check, in the order of the report. ``master``: the running master to ask."""
    if config.local_worker:
        checks = local_worker_checks()
    else:
        checks = [
            Check(
                "docker",
                Status.NOTE,
                "not checked: the master alone does not use Docker (with --local-worker, "
                "its embedded worker does)",
            )
        ]
    state_dir = config.state_dir or default_state_dir()
    checks.append(check_directory("state-dir", "--state-dir", state_dir))
    checks.append(check_port("grpc", "--grpc", config.grpc_listen))
    checks.append(check_port("http", "--http", config.http_listen, http_server="master"))
    checks.append(check_port("cluster", "--cluster", config.cluster_listen))
    workers, error = ask_master(master)
    now = time.time()
    checks += master_checks(master, workers, error, now)
    checks += certificate_checks(config, state_dir, now)
    return checks


FIRST_START = "none yet: made on the first start of master serve"


def certificate_checks(config: MasterConfig, state_dir: Path, now: float) -> list[Check]:
    """The workers' CA and the master's certificate for its cluster port (both kept in the
    state directory), and ``--tls-cert`` when given: how long each is valid."""
    anew = (
        f"move {CA_KEY}, {CA_CERT}, {MASTER_KEY}, {MASTER_CERT} and {BINDINGS} out of "
        f"{state_dir}, start master serve (it makes a new CA), then restart every worker with "
        "--join-token TOKEN, a new token from `master join-token`"
    )
    checks = [
        check_certificate(
            "ca-cert",
            state_dir / CA_CERT,
            now,
            missing=FIRST_START,
            soon=f"the CA is not renewed: before it ends, {anew}",
            bad=f"the CA cannot be used: {anew}",
        ),
        check_certificate(
            "cluster-cert",
            state_dir / MASTER_CERT,
            now,
            missing=FIRST_START,
            soon="master serve renews it at start and while it runs, after two thirds of its "
            "lifetime (never past the CA's end): start it, or read its log for why it did not",
            bad="restart master serve: it issues a new one at start",
        ),
    ]
    if config.tls_cert:
        checks.append(
            check_certificate(
                "tls-cert",
                Path(config.tls_cert),
                now,
                what=f"--tls-cert {config.tls_cert}",
                missing="no such file",
                required=True,
                soon="replace the file with a renewed certificate (its key in --tls-key) and "
                "restart master serve: it reads both at start",
                bad="put a valid PEM certificate there (or name another with --tls-cert FILE) "
                "and restart master serve",
            )
        )
    return checks


def check_certificate(
    name: str,
    path: Path,
    now: float,
    *,
    what: str = "",
    missing: str,
    soon: str,
    bad: str,
    required: bool = False,
) -> Check:
    """Read the certificate at ``path`` (named ``what``, else by its path) and judge it."""
    pem, error = read_file(path)
    return certificate_check(
        name,
        what or str(path),
        pem,
        now,
        missing=missing,
        soon=soon,
        bad=bad,
        required=required,
        error=error,
    )


def run_doctor(config: MasterConfig, master: str, *, as_json: bool = False) -> int:
    """Print the report (text or JSON) on stdout; return the exit code (1: a check failed)."""
    checks = doctor_checks(config, master)
    sys.stdout.write(report_json(checks) + "\n" if as_json else format_report(checks))
    return exit_code(checks)
