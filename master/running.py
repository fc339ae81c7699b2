"""Wiring: a running master (coordinator, gRPC server, web server, optional embedded worker)
as one object, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
from grpc_reflection.v1alpha import reflection

from master.access import MasterAccess
from master.config import MasterConfig
from master.coordinator import Master
from master.grpc_service import MasterService
from master.web_server import WebServer, run_web
from master.worker_client import GrpcWorkers
from shared.addresses import bind_grpc, check_bind
from shared.errors import ConfigError
from shared.grpc_options import server_options
from shared.health import HEALTH_SERVICE, MASTER_SERVICE, Health
from shared.paths import default_state_dir, worker_data_dir
from shared.protos import logcast_pb2_grpc as pb_grpc
from worker.config import WorkerConfig
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

    def login_link(self) -> str:
        """A single-use link that logs a browser in as the owner (admin)."""
        owner = self.access.authenticate(self.access.owner_token)
        return f"http://{self.http_address}/login?code={self.access.login_code(owner)}"


@contextlib.asynccontextmanager
async def run_master(
    config: MasterConfig, *, worker_config: WorkerConfig | None = None
) -> AsyncIterator[RunningMaster]:
    """Start a master (and, with ``config.local_worker``, a worker in the same process
    registered with it); stop everything on exit."""
    host, _ = check_bind(config.grpc_listen, insecure_expose=config.insecure_expose, what="gRPC")
    http_host, http_port = check_bind(
        config.http_listen, insecure_expose=config.insecure_expose, what="HTTP"
    )
    access = MasterAccess(config.state_dir or default_state_dir())
    access.open()  # the token book; the owner's admin credential on the first start
    master = Master(config, GrpcWorkers())
    server = grpc.aio.server(options=server_options())
    service = MasterService(master, access)
    pb_grpc.add_MasterServicer_to_server(service, server)
    health = Health(server, (MASTER_SERVICE,))
    # reflection on the client-facing port: grpcurl-style tools can list and call the API
    reflection.enable_server_reflection(
        (MASTER_SERVICE, HEALTH_SERVICE, reflection.SERVICE_NAME), server
    )
    port = bind_grpc(server, config.grpc_listen, "the master's gRPC")
    await server.start()
    await health.serving()
    await master.start()
    grpc_address = f"{host}:{port}"
    log.info("master gRPC on %s", grpc_address)
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                web_server, web = await stack.enter_async_context(
                    run_web(master, access, config.web_dir, http_host, http_port)
                )
            except OSError as exc:
                raise ConfigError(f"cannot listen on {config.http_listen} for HTTP: {exc}") from exc
            sock = next(iter(web_server.sockets)).getsockname()
            http_address = f"{http_host}:{sock[1]}"
            service.login_url = f"http://{http_address}/login"
            log.info("master web view on http://%s/", http_address)
            local = None
            if config.local_worker:
                state_dir = config.state_dir or default_state_dir()
                wconf = worker_config or WorkerConfig(
                    name=embedded_worker_name(state_dir), listen="127.0.0.1:0"
                )
                if wconf.data_dir is None:  # the embedded worker keeps its logs with the master
                    wconf = replace(wconf, data_dir=worker_data_dir(state_dir, wconf.name))
                local = await stack.enter_async_context(
                    run_worker(replace(wconf, master=grpc_address, token=access.owner_token))
                )
                web.metrics.add(local.collector)  # one /metrics for the process
                await _registered(master, wconf.name)
            try:
                yield RunningMaster(
                    config, master, grpc_address, server, local, http_address, web, access
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
