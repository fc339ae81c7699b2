"""Wiring: a running worker (Docker adapters, manager, executor, gRPC server) as one object."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from shared import pki
from shared.addresses import bind_grpc, check_bind, join_hostport, split_hostport
from shared.credentials import find_token
from shared.errors import ConfigError
from shared.flowstats import FlowStats
from shared.grpc_options import server_options
from shared.health import WORKER_SERVICE, Health
from shared.metrics import Metrics, StateCollector
from shared.paths import default_state_dir, worker_data_dir
from shared.tls_grpc import mutual_server_credentials
from worker.config import WorkerConfig
from worker.datalock import DataDirLock
from worker.docker_containers import ContainerRuntime
from worker.docker_logs import DockerLogAPI
from worker.executor import TaskExecutor
from worker.grpc_service import WorkerService, add_to_server
from worker.heartbeat import Heartbeat
from worker.hostcheck import inotify_advice, read_inotify_limit
from worker.identity import IdentityFiles, IdentityHolder, WorkerIdentity, join
from worker.instance import instance_id
from worker.manager import LogStreamManager
from worker.metrics import worker_metrics
from worker.probes import Probes, run_probes
from worker.retention import RetentionSweep
from worker.store import LogStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunningWorker:
    """A started worker: its parts, and the address its gRPC server really listens on."""

    config: WorkerConfig
    address: str
    runtime: ContainerRuntime
    logs: DockerLogAPI
    manager: LogStreamManager
    executor: TaskExecutor
    server: grpc.aio.Server
    service: WorkerService
    heartbeat: Heartbeat | None  # to its own master
    store: LogStore
    retention: RetentionSweep
    collector: StateCollector  # its metrics (the embedded worker's go to its master's registry)
    metrics_address: str  # where /healthz, /readyz and /metrics answer; "" = not served
    also: list[Heartbeat]  # to the other masters it reports to (--also-master)


@contextlib.asynccontextmanager
async def run_worker(config: WorkerConfig) -> AsyncIterator[RunningWorker]:
    """Start a worker; stop it (gRPC first, then supervision) on exit.

    Raises ConfigError for a refused listen address and DockerUnavailable when no Docker
    engine answers. Tasks in the store's data directory are known again; containers left
    running by a previous run of this worker (this data directory's instance id) are adopted.
    """
    host, _ = split_hostport(config.listen)  # any address: only its master's certificate gets in
    if config.also_masters and not config.master:
        raise ConfigError("--also-master needs --master: the worker's own master")
    data_dir = config.data_dir or worker_data_dir(default_state_dir(), config.name)
    lock = DataDirLock(data_dir)
    lock.acquire()  # before anything in it is read: the store, the identity, the instance id
    try:
        async with _run(config, host, data_dir) as running:
            yield running
    finally:
        lock.release()


@contextlib.asynccontextmanager
async def _run(config: WorkerConfig, host: str, data_dir: Path) -> AsyncIterator[RunningWorker]:
    identity = IdentityHolder(await _identity(config, data_dir), IdentityFiles(data_dir))
    _check_others(config.also_masters, identity.current.master)
    store = LogStore(data_dir, task_max_bytes=config.task_max_bytes)
    try:
        store.open()
    except OSError as exc:
        raise ConfigError(f"cannot use the data directory {data_dir}: {exc}") from exc
    try:
        instance = instance_id(data_dir)  # which containers on the engine are ours
    except ConfigError:
        await store.close()
        raise
    runtime = ContainerRuntime(config.docker_host)
    logs = DockerLogAPI(config.docker_host)
    used = store if config.store else None
    stats = FlowStats() if config.flow_metrics else None
    manager = LogStreamManager(
        limits=config.limits,
        max_line_bytes=config.max_line_bytes,
        retention=config.retention,
        store=used,
        stats=stats,
        pack_sent=config.pack_sent,
    )
    retention = RetentionSweep(
        store,
        manager,
        max_age=config.retention_age,
        max_bytes=config.retention_bytes,
        interval=config.retention_interval,
    )
    executor = TaskExecutor(
        name=config.name,
        instance=instance,
        runtime=runtime,
        logs=logs,
        manager=manager,
        stop_grace=config.stop_grace,
        keep_containers=config.keep_containers,
        store=used,
        log_options=config.log_options,
        limits=config.task_limits,
    )
    server = grpc.aio.server(options=server_options())
    service = WorkerService(executor, manager, stats)
    heartbeat: Heartbeat | None = None
    also: list[Heartbeat] = []
    health: Health | None = None
    stack = contextlib.AsyncExitStack()  # the metrics port, when served
    try:
        await runtime.ping()
        add_to_server(service, server)
        health = Health(server, (WORKER_SERVICE,))
        credentials = mutual_server_credentials(identity.pair, identity.current.ca)
        port = bind_grpc(server, config.listen, "the worker", credentials)
        await server.start()
        await health.serving()
        address = config.advertise or join_hostport(host, port)
        adopted = await executor.adopt_existing()
        if adopted:
            log.info("adopted %d running task(s) from a previous run: %s", len(adopted), adopted)
        if config.store:
            retention.start()
        if config.master:
            heartbeat = Heartbeat(identity, address, executor, config.heartbeat_interval)
            also = [
                Heartbeat(identity, address, executor, config.heartbeat_interval, master=other)
                for other in config.also_masters
            ]
            beats = [heartbeat, *also]

            def poke(_info: object) -> None:
                for beat in beats:
                    beat.poke()

            executor.on_change = poke
            for beat in beats:
                beat.start()
        collector = StateCollector(lambda: worker_metrics(executor, manager, used))
        metrics_address = ""
        if config.metrics_listen:
            mhost, mport = check_bind(
                config.metrics_listen, insecure_expose=config.insecure_expose, what="metrics"
            )
            metrics = Metrics()
            metrics.add(collector)
            try:
                probes = await stack.enter_async_context(
                    run_probes(Probes(metrics, runtime.ping), mhost, mport)
                )
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {config.metrics_listen} for metrics: {exc}"
                ) from exc
            metrics_address = f"{mhost}:{next(iter(probes.sockets)).getsockname()[1]}"
            log.info("worker metrics on http://%s/metrics", metrics_address)
        advice = inotify_advice(
            read_inotify_limit(), local_docker=config.docker_host.startswith("unix://")
        )
        if advice:
            log.warning("%s", advice)
        log.info(
            "worker %s serving on %s (Docker: %s; data: %s, %d stored task(s))",
            config.name,
            address,
            config.docker_host,
            data_dir,
            len(store.tasks),
        )
        yield RunningWorker(
            config,
            address,
            runtime,
            logs,
            manager,
            executor,
            server,
            service,
            heartbeat,
            store,
            retention,
            collector,
            metrics_address,
            also,
        )
    finally:
        await stack.aclose()
        for beat in also:
            await beat.stop()
        if heartbeat is not None:
            await heartbeat.stop()
        await retention.stop()
        if health is not None:
            await health.stopping()
        await server.stop(grace=1.0)
        await executor.close()
        await manager.close()
        await store.close()
        await logs.close()
        await runtime.close()


def _check_others(others: tuple[str, ...], own: str) -> None:
    """ConfigError for an ``--also-master`` that is the worker's own master or given twice
    (two heartbeats to one master would confuse what it has of the worker's tasks)."""
    seen = {own}
    for other in others:
        if other in seen:
            what = "this worker's own master" if other == own else "given twice"
            raise ConfigError(f"--also-master {other} is {what}")
        seen.add(other)


async def _identity(config: WorkerConfig, data_dir: Path) -> WorkerIdentity:
    """The worker's certificate: the one it keeps, else one got by joining its master."""
    files = IdentityFiles(data_dir)
    kept = files.load(config.name)
    if kept is not None and config.join_token.startswith(pki.JOIN_PREFIX):
        pin, _ = pki.parse_join_token(config.join_token)
        if pki.fingerprint(kept.ca) != pin:
            log.info("the join token names another master's CA: joining it")
            kept = None
    if kept is not None:
        return kept
    if not config.master:
        raise ConfigError(
            f"worker {config.name} has no certificate from a master (in {files.dir}): a worker "
            "serves its master only; start it with --master HOST:PORT --join-token TOKEN"
        )
    token = config.join_token or config.token or find_token()
    identity = await join(config.master, config.name, token, config.tls_ca)
    files.save(identity)
    return identity
