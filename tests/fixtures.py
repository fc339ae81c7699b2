"""Fixtures and helpers for tests with real parts: Docker (behind a counting proxy), gRPC
servers on port 0, an in-process master. Registered by tests/conftest.py."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import pytest_asyncio

from shared.convert import batch_from_pb, info_from_pb
from shared.model import TaskInfo
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.cluster import provision, worker_channel
from tests.comparator import Received
from tests.dockerproxy import DockerProxy
from worker.config import WorkerConfig
from worker.docker_containers import LABEL_WORKER
from worker.identity import IdentityFiles
from worker.running import RunningWorker, run_worker

TEST_IMAGE = "logcast/busybox:test"
DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def remove_containers(
    api: docker.APIClient,
    worker: str | None = None,
    keep: Callable[[dict[str, str]], bool] | None = None,
) -> None:
    """Force-remove the containers a test's workers made: those of worker ``worker`` (every
    logcast container when None) whose labels ``keep`` accepts. A container already gone or
    being removed (its worker ended the task meanwhile) is fine: the race is the worker's,
    not the test's."""
    label = f"{LABEL_WORKER}={worker}" if worker is not None else LABEL_WORKER
    for c in api.containers(all=True, filters={"label": label}):
        if keep is None or keep(c["Labels"]):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                api.remove_container(c["Id"], force=True)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    """A live Docker engine with the test image. Fails (never skips) when there is none:
    run scripts/setup, which installs and starts one."""
    try:
        client = docker.DockerClient(base_url=DOCKER_HOST, version="auto", timeout=30)
        client.ping()
    except Exception as exc:
        pytest.fail(f"no Docker engine answers at {DOCKER_HOST} ({exc}); run scripts/setup")
    try:
        client.images.get(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"test image {TEST_IMAGE} missing; run scripts/setup")
    yield client
    client.close()


@pytest_asyncio.fixture
async def docker_proxy(docker_engine) -> AsyncIterator[DockerProxy]:
    """A request-counting proxy in front of the Docker socket."""
    tmp = Path(tempfile.mkdtemp(prefix="lc-"))
    proxy = DockerProxy(tmp / "docker.sock")
    await proxy.start()
    yield proxy
    await proxy.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def worker_factory(docker_engine, docker_proxy, tmp_path_factory) -> Callable[..., Any]:
    """``async with worker_factory(**config) as w``: a worker on 127.0.0.1:0 reaching Docker
    through the proxy, its store in a new temporary directory (pass ``data_dir`` to reuse
    one: a restart). Every container it made is removed afterwards."""

    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[RunningWorker]:
        data = tmp_path_factory.mktemp("worker-data")
        config = WorkerConfig(
            name=f"t{uuid.uuid4().hex[:10]}",
            listen="127.0.0.1:0",
            docker_host=docker_proxy.url,
            retention=60.0,
            stop_grace=1.0,
            data_dir=data,
        )
        config = dataclasses.replace(config, **overrides)
        assert config.data_dir is not None
        if not config.master and IdentityFiles(config.data_dir).load(config.name) is None:
            provision(config.data_dir, config.name)  # tests call it as its master would
        try:
            async with run_worker(config) as running:
                yield running
        finally:
            remove_containers(docker_engine.api, config.name)

    return make


@pytest_asyncio.fixture
async def worker(worker_factory) -> AsyncIterator[RunningWorker]:
    async with worker_factory() as running:
        yield running


@pytest_asyncio.fixture
async def stub(worker) -> AsyncIterator[pb_grpc.WorkerStub]:
    async with worker_channel(worker.address, worker.config.name) as channel:
        yield pb_grpc.WorkerStub(channel)


async def start_task(
    stub: pb_grpc.WorkerStub,
    script: str,
    *,
    task_id: str | None = None,
    tty: bool = False,
    image: str = TEST_IMAGE,
) -> TaskInfo:
    """Start ``sh -c script`` in the test image."""
    spec = pb.TaskSpec(
        task_id=task_id or f"task-{uuid.uuid4().hex[:8]}",
        image=image,
        command=["sh", "-c", script],
        tty=tty,
    )
    return info_from_pb(await stub.StartTask(pb.StartTaskRequest(spec=spec)))


async def collect(stub: pb_grpc.WorkerStub, task_id: str, **request: Any) -> Received:
    """Subscribe and gather everything until the stream ends."""
    got = Received()
    async for msg in stub.StreamLogs(pb.StreamLogsRequest(task_id=task_id, **request)):
        got.add(batch_from_pb(msg))
    return got


@pytest.fixture
def master_factory(worker_factory) -> Callable[..., Any]:
    """``async with master_factory(workers=N, **config) as (running, workers)``: an in-process
    master on port 0 and N in-process workers registered with it."""
    from master.config import MasterConfig
    from master.running import run_master

    @contextlib.asynccontextmanager
    async def make(workers: int = 1, **overrides: Any) -> AsyncIterator[tuple[Any, list]]:
        config = MasterConfig(
            grpc_listen="127.0.0.1:0", http_listen="127.0.0.1:0", cluster_listen="127.0.0.1:0"
        )
        config = dataclasses.replace(config, **overrides)
        async with run_master(config) as running, contextlib.AsyncExitStack() as stack:
            started = [
                await stack.enter_async_context(worker_factory(master=running.grpc_address))
                for _ in range(workers)
            ]
            names = {w.config.name for w in started}
            await eventually(
                lambda: names <= {r.name for r in running.master.registry.workers()},
                "the workers to register",
            )
            yield running, started

    return make


async def eventually_async(
    predicate: Callable[[], Awaitable[object]], what: str, timeout: float = 20.0
) -> None:
    """Wait until ``await predicate()`` is true (every 0.2 s; an exception counts as not yet),
    or fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await predicate():
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def eventually(predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` is true (polling every 20 ms), or fail saying ``what``."""
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
