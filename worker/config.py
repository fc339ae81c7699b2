"""The worker's configuration: built once by the CLI (or a test), read by the server."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from shared.hub import HubLimits
from shared.limits import LimitPolicy
from worker.docker_logs import DEFAULT_DOCKER_HOST
from worker.frames import DEFAULT_MAX_LINE_BYTES


def _default_name() -> str:
    """The host name made a valid worker name (:func:`shared.ids.validate_worker_name`)."""
    host = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_" else "-"
        for c in socket.gethostname().lower()
    )
    return host.lstrip("-_")[:40] or "worker"


def _default_limits() -> HubLimits:
    # the worker's subscribers are masters (few, each relaying to many viewers): give them a
    # deep queue so a burst never costs lines between worker and master
    return HubLimits(history=1000, max_lag_lines=200_000, max_lag_bytes=64 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything ``worker serve`` can be told."""

    name: str = field(default_factory=_default_name)
    listen: str = "127.0.0.1:50052"
    metrics_listen: str = ""  # HTTP for /healthz, /readyz, /metrics; "" = not served
    # count the log flow for /metrics (lines read, sent, dropped, latency ...); `worker serve`
    # counts only when it serves metrics (--metrics), the embedded worker always
    flow_metrics: bool = True
    advertise: str = ""  # address the master dials; "" = the listen address (with its real port)
    master: str = ""  # master to register with; "" = serve on its own
    # cluster addresses of other masters of the same cluster (on the same state directory, so
    # the same CA) to report to as well: each learns the tasks and can relay them
    also_masters: tuple[str, ...] = ()
    # joining the master (once: the certificate is kept in the data directory, and renewed)
    join_token: str = ""  # from `master join-token` (it pins the master's CA)
    token: str = ""  # else an admin token ("": $LOGCAST_TOKEN or this user's admin.token)
    tls_ca: str = ""  # CA file that checks the master's client port, when it serves TLS
    docker_host: str = field(
        default_factory=lambda: os.environ.get("DOCKER_HOST", DEFAULT_DOCKER_HOST)
    )
    limits: HubLimits = field(default_factory=_default_limits)
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    retention: float = 300.0  # seconds a finished task stays subscribable
    stop_grace: float = 10.0  # seconds between SIGTERM and SIGKILL on stop
    keep_containers: bool = False  # keep finished containers (for `docker logs`, debugging)
    drain: bool = False  # on SIGTERM: take no new task, wait for the running ones to end
    heartbeat_interval: float = 1.0
    insecure_expose: bool = False  # allow a non-loopback metrics address (plaintext)
    data_dir: Path | None = None  # the store; None: <state dir>/workers/<name>
    store: bool = True  # False: memory only (the first round's behaviour; for measurements)
    # keep the lines every master has taken as the store's encoding, not as objects (a
    # followed task's ring costs ~135 bytes a line, not ~330); the embedded worker does not:
    # its master's relay keeps the same line objects, so its copy would add, not free
    pack_sent: bool = True
    retention_age: float = 7 * 86400.0  # finished tasks' logs older than this are removed
    retention_bytes: int = 2 * 1024**3  # all tasks' logs together, oldest finished first
    task_max_bytes: int = 512 * 1024**2  # one task's log; beyond it, its oldest lines go
    retention_interval: float = 60.0  # seconds between retention sweeps
    docker_log_max_size: str = "1g"  # Docker's own json-file log per container ...
    docker_log_max_file: int = 2  # ... and its files (logcast keeps the history)
    # task containers' memory, CPUs, processes and run time: defaults and maxima
    task_limits: LimitPolicy = field(default_factory=LimitPolicy)

    @property
    def log_options(self) -> dict[str, str]:
        """The json-file log driver options of task containers."""
        return {"max-size": self.docker_log_max_size, "max-file": str(self.docker_log_max_file)}
