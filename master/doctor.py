"""``master doctor``: what would stop ``master serve`` (with the same options) from working
well on this host, and how the running master's workers are doing.

Checks: the state directory (``--state-dir``: writable, room), the ports (``--grpc``,
``--http``), Docker and the inotify limits when the master runs its own worker
(``--local-worker``), the master at ``--master`` and each worker it knows (alive, clock
skew), and TLS certificates (none yet). The verdicts and the report come from
:mod:`shared.doctor`; this module gathers the facts.
"""

from __future__ import annotations

import sys
import time

from master.config import MasterConfig
from shared.doctor import (
    Check,
    Status,
    exit_code,
    format_report,
    master_checks,
    report_json,
    tls_check,
)
from shared.doctor_checks import ask_master, check_directory, check_port
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
    workers, error = ask_master(master)
    checks += master_checks(master, workers, error, time.time())
    checks.append(tls_check())
    return checks


def run_doctor(config: MasterConfig, master: str, *, as_json: bool = False) -> int:
    """Print the report (text or JSON) on stdout; return the exit code (1: a check failed)."""
    checks = doctor_checks(config, master)
    sys.stdout.write(report_json(checks) + "\n" if as_json else format_report(checks))
    return exit_code(checks)
