"""Wiring: a running master (coordinator, gRPC server, web server, optional embedded worker)
as one object, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
from grpc_reflection.v1alpha import reflection

from master.access import MasterAccess
from master.cluster import ClusterAuthority
from master.cluster_service import ClusterService
from master.config import MasterConfig
from master.coordinator import Master
from master.grpc_service import MasterService
from master.local_worker import LocalWorkerClient, WithLocalWorker
from master.web_server import WebServer, run_web
from master.worker_client import GrpcWorkers
from shared.addresses import bind_grpc, check_bind, join_hostport, split_hostport
from shared.errors import ConfigError
from shared.grpc_options import server_options
from shared.health import HEALTH_SERVICE, MASTER_SERVICE, Health
from shared.paths import default_state_dir, worker_data_dir
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.tls_grpc import mutual_server_credentials
from shared.tls_server import server_tls
from worker.config import WorkerConfig
from worker.identity import IdentityFiles, WorkerIdentity
from worker.running import RunningWorker, run_worker

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunningMaster:
    """A started master and the addresses it really listens on."""

    config: MasterConfig
    master: Master
    grpc_address: str
    server: grpc.aio.Server
    local_worker: RunningWorker | None
    http_address: str
    web: WebServer
    access: MasterAccess
    cluster_address: str  # where workers report (a worker dials it: `--also-master`)

    def login_link(self) -> str:
        """A single-use link that logs a browser in as the owner (admin)."""
        owner = self.access.authenticate(self.access.owner_token)
        scheme = "https" if self.web.secure else "http"
        return f"{scheme}://{self.http_address}/login?code={self.access.login_code(owner)}"


@contextlib.asynccontextmanager
async def run_master(
    config: MasterConfig, *, worker_config: WorkerConfig | None = None
) -> AsyncIterator[RunningMaster]:
    """Start a master (and, with ``config.local_worker``, a worker in the same process
    registered with it); stop everything on exit."""
    tls = server_tls(config)
    host, _ = check_bind(
        config.grpc_listen, insecure_expose=config.insecure_expose, what="gRPC", tls=tls is not None
    )
    http_host, http_port = check_bind(
        config.http_listen, insecure_expose=config.insecure_expose, what="HTTP", tls=tls is not None
    )
    cluster_host, _ = split_hostport(config.cluster_listen)  # any address: mutual TLS
    state_dir = config.state_dir or default_state_dir()
    access = MasterAccess(state_dir)
    access.open()  # the token book; the owner's admin credential on the first start
    authority = ClusterAuthority(state_dir, worker_lifetime=config.worker_cert_lifetime)
    authority.open()  # the CA for the workers' link; made on the first start
    workers = WithLocalWorker(GrpcWorkers(authority.master_identity, authority.ca_cert))
    master = Master(config, workers)
    server = grpc.aio.server(options=server_options())
    service = MasterService(master, access, authority)
    pb_grpc.add_MasterServicer_to_server(service, server)
    cluster = grpc.aio.server(options=server_options())
    cluster_service = ClusterService(master, authority)
    pb_grpc.add_ClusterServicer_to_server(cluster_service, cluster)
    health = Health(server, (MASTER_SERVICE,))
    # reflection on the client-facing port: grpcurl-style tools can list and call the API
    reflection.enable_server_reflection(
        (MASTER_SERVICE, HEALTH_SERVICE, reflection.SERVICE_NAME), server
    )
    port = bind_grpc(
        server,
        config.grpc_listen,
        "the master's gRPC",
        grpc.ssl_server_credentials([tls.pair]) if tls is not None else None,
    )
    cluster_port = bind_grpc(
        cluster,
        config.cluster_listen,
        "the master's cluster port",
        mutual_server_credentials(authority.master_identity, authority.ca_cert),
    )
    service.cluster_port = cluster_service.cluster_port = cluster_port
    await cluster.start()
    await server.start()
    await health.serving()
    await master.start()
    grpc_address = f"{host}:{port}"
    log.info(
        "master gRPC on %s%s; workers report to %s:%d (mutual TLS)",
        grpc_address,
        " (TLS)" if tls is not None else "",
        cluster_host,
        cluster_port,
    )
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                web_server, web = await stack.enter_async_context(
                    run_web(
                        master,
                        access,
                        config.web_dir,
                        http_host,
                        http_port,
                        ssl=tls.context() if tls is not None else None,
                    )
                )
            except OSError as exc:
                raise ConfigError(f"cannot listen on {config.http_listen} for HTTP: {exc}") from exc
            sock = next(iter(web_server.sockets)).getsockname()
            http_address = f"{http_host}:{sock[1]}"
            scheme = "https" if tls is not None else "http"
            service.login_url = f"{scheme}://{http_address}/login"
            log.info("master web view on %s://%s/", scheme, http_address)
            reach = join_hostport(_dialable(cluster_host), cluster_port)
            local = None
            if config.local_worker:
                wconf = worker_config or WorkerConfig(
                    name=embedded_worker_name(state_dir), listen="127.0.0.1:0"
                )
                if wconf.data_dir is None:  # the embedded worker keeps its logs with the master
                    wconf = replace(wconf, data_dir=worker_data_dir(state_dir, wconf.name))
                data_dir = wconf.data_dir or worker_data_dir(state_dir, wconf.name)
                provision(authority, data_dir, wconf.name, reach)
                # (pack_sent off: this process's relay keeps the worker's line objects)
                local = await stack.enter_async_context(
                    run_worker(replace(wconf, master=grpc_address, pack_sent=False))
                )
                # its calls stay in this process (no gRPC hop); it reports like any worker
                workers.attach(
                    local.address,
                    wconf.name,
                    LocalWorkerClient(local.executor, local.manager, local.service.stats),
                )
                stack.callback(workers.detach)  # (runs before the worker stops)
                web.metrics.add(local.collector)  # one /metrics for the process
                await _registered(master, wconf.name)
            try:
                yield RunningMaster(
                    config, master, grpc_address, server, local, http_address, web, access, reach
                )
            finally:
                # first, while the worker and the servers still run: tell every viewer
                service.going_away()
                await web.going_away()
                await asyncio.sleep(0.05)  # the gRPC streams write their last message
    finally:
        service.going_away()  # log streams tell their clients, then end
        await health.stopping()
        await server.stop(grace=1.0)
        await cluster.stop(grace=1.0)
        await master.close()


def embedded_worker_name(state_dir: Path) -> str:
    """The embedded worker's name: ``local-`` and a suffix kept in the state directory, so a
    restarted master adopts its own containers and two masters on one Docker engine (two
    state directories) never adopt each other's."""
    path = state_dir / "local-worker"
    try:
        name = path.read_text().strip()
        if re.fullmatch(r"local-[0-9a-f]{6}", name):
            return name
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    name = f"local-{secrets.token_hex(3)}"
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(name + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write the state directory {state_dir}: {exc}") from exc
    return name


async def _registered(master: Master, name: str, timeout: float = 10.0) -> None:
    """Wait until worker ``name`` has reported in (so `master run` can place tasks at once)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if any(w.name == name and w.alive for w in master.registry.workers()):
            return
        await asyncio.sleep(0.02)
    log.warning("the local worker %s has not reported in after %g s", name, timeout)


def provision(authority: ClusterAuthority, data_dir: Path, name: str, cluster: str) -> None:
    """Give the embedded worker its certificate directly (its key never travels): a new
    certificate for the key it keeps, or a new key on its first start."""
    files = IdentityFiles(data_dir)
    kept = files.load(name)
    key = kept.key if kept is not None and kept.ca == authority.ca_cert else None
    key, cert = authority.provision(name, key)
    files.save(WorkerIdentity(name, key, cert, authority.ca_cert, cluster))


def _dialable(host: str) -> str:
    """A host to dial for a listen host: loopback for "every address" (0.0.0.0, ::)."""
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host
    return "127.0.0.1" if unspecified else host
