"""The master's configuration: built once by the CLI (or a test), read by the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.hub import HubLimits
from web import ASSETS as WEB_DIR


@dataclass(frozen=True, slots=True)
class MasterConfig:
    """Everything ``master serve`` can be told."""

    grpc_listen: str = "127.0.0.1:50051"
    http_listen: str = "127.0.0.1:8080"
    cluster_listen: str = "127.0.0.1:50053"  # workers' port: mutual TLS, any address
    tls_cert: str = ""  # PEM file: HTTPS/WSS and TLS on the gRPC client port
    tls_key: str = ""
    worker_cert_lifetime: float = 30 * 86400.0  # seconds; renewed after two thirds
    local_worker: bool = False  # also run a worker in this process (the embedded default)
    worker_timeout: float = 5.0  # a worker silent this long is down; its tasks become lost
    sweep_interval: float = 0.5
    ready_timeout: float = 5.0  # how long a new relay may wait for the worker's first answer
    relay_linger: float = 30.0  # keep a running task's relay this long after its last client
    relay_retention: float = 300.0  # keep a finished task's relay (tail + status) this long
    # each client of a relay may fall HubLimits' 10,000 lines / 8 MiB behind before it loses
    # its oldest lines
    relay_limits: HubLimits = field(default_factory=HubLimits)
    web_dir: Path = WEB_DIR
    max_finished_tasks: int = 100_000  # finished tasks the master lists (their logs stay on
    # their workers until the workers' retention removes them)
    state_dir: Path | None = None  # None: $LOGCAST_STATE_DIR or ~/.local/state/logcast
    insecure_expose: bool = False  # allow non-loopback listen addresses
    allowed_hosts: tuple[str, ...] = ()  # Host names answered besides loopback (a proxy's)
    allowed_origins: tuple[str, ...] = ()  # WebSocket Origins allowed besides same-origin
    # open WebSocket connections: more are refused with 503 before the upgrade
    max_websockets: int = 10_000  # in all
    # from one client address; 0: no cap (a reverse proxy, or a benchmark's 1,000 viewers,
    # comes from one address)
    max_websockets_per_address: int = 0
