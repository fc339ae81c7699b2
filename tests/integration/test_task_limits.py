"""Task containers get limits: memory, CPUs, processes and run time, as a task asks or as its
worker's defaults say, never above the worker's maxima. Real Docker engine, busybox image."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from shared.convert import info_from_pb
from shared.limits import LimitPolicy, TaskLimits
from shared.model import TaskInfo, TaskSpec, TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.cluster import provision, worker_channel
from tests.comparator import Received
from tests.fixtures import DOCKER_HOST, TEST_IMAGE, collect, eventually, remove_containers
from tests.procs import master_cli
from worker.config import WorkerConfig
from worker.docker_containers import LABEL_WORKER, ContainerRuntime
from worker.running import RunningWorker, run_worker

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]

MiB = 1024**2
GiB = 1024**3
FORK_100 = "i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo started all 100"
ALLOCATE_20M = "head -c 24m /dev/zero | tail -c 20m >/dev/null"  # tail keeps 20 MiB in memory
# containerd starts watching a container for OOM kills only after starting it: a kill in its
# first milliseconds can go unseen (Docker then says exit 137, not why), so the task waits first.
SETTLE_THEN_ALLOCATE_20M = f"sleep 0.5; {ALLOCATE_20M}"


@contextlib.asynccontextmanager
async def worker_with(
    worker_factory, **config: Any
) -> AsyncIterator[tuple[RunningWorker, pb_grpc.WorkerStub]]:
    """A worker (stop grace 1 s) and a gRPC stub to it."""
    async with (
        worker_factory(**config) as w,
        worker_channel(w.address, w.config.name) as channel,
    ):
        yield w, pb_grpc.WorkerStub(channel)


async def start(stub: pb_grpc.WorkerStub, script: str, **limits: Any) -> TaskInfo:
    spec = pb.TaskSpec(
        task_id=f"task-{uuid.uuid4().hex[:8]}",
        image=TEST_IMAGE,
        command=["sh", "-c", script],
        **limits,
    )
    return info_from_pb(await stub.StartTask(pb.StartTaskRequest(spec=spec)))


async def finish(stub: pb_grpc.WorkerStub, task_id: str, timeout: float = 30.0) -> Received:
    got = await asyncio.wait_for(collect(stub, task_id, after_seq=0), timeout)
    assert got.end is not None
    return got


def host_config(docker_engine, container_id: str) -> dict[str, Any]:
    return docker_engine.api.inspect_container(container_id)["HostConfig"]


async def test_the_container_gets_the_limits_the_task_asked_for(worker_factory, docker_engine):
    """Inspected while it runs: memory (swap included), nano CPUs and the process limit are
    what the task asked for, and its info says so."""
    async with worker_with(worker_factory) as (_w, stub):
        info = await start(
            stub, "sleep 30", memory=512 * MiB, cpus=1.5, pids_limit=256, timeout=600.0
        )
        assert info.status is TaskStatus.RUNNING
        config = host_config(docker_engine, info.container_id)
        assert config["Memory"] == 512 * MiB
        assert config["MemorySwap"] == 512 * MiB
        assert config["NanoCpus"] == 1_500_000_000
        assert config["PidsLimit"] == 256
        assert (info.memory, info.cpus, info.pids_limit, info.timeout) == (
            512 * MiB,
            1.5,
            256,
            600.0,
        )
        await stub.StopTask(pb.TaskRef(task_id=info.task_id))


async def test_a_task_that_asks_for_nothing_gets_the_workers_defaults(
    worker_factory, docker_engine
):
    defaults = TaskLimits(memory=64 * MiB, cpus=0.5, pids_limit=100, timeout=300.0)
    async with worker_with(worker_factory, task_limits=LimitPolicy(default=defaults)) as (_w, stub):
        info = await start(stub, "sleep 30", cpus=0.25)  # only the CPUs asked for
        config = host_config(docker_engine, info.container_id)
        assert (config["Memory"], config["NanoCpus"], config["PidsLimit"]) == (
            64 * MiB,
            250_000_000,
            100,
        )
        assert (info.memory, info.cpus, info.pids_limit, info.timeout) == (64 * MiB, 0.25, 100, 300)
        await stub.StopTask(pb.TaskRef(task_id=info.task_id))


async def test_no_limit_asked_for_is_no_limit_on_the_container(worker_factory, docker_engine):
    async with worker_with(worker_factory) as (_w, stub):
        info = await start(stub, "sleep 30", memory=0, cpus=0.0, pids_limit=0)
        config = host_config(docker_engine, info.container_id)
        assert (config["Memory"], config["NanoCpus"]) == (0, 0)
        assert config["PidsLimit"] in (-1, 0, None)  # unlimited, however the engine says it
        await stub.StopTask(pb.TaskRef(task_id=info.task_id))


async def test_above_a_maximum_is_refused_naming_the_limit_before_any_container(
    worker_factory, docker_engine
):
    maximum = TaskLimits(memory=GiB, cpus=1.0, pids_limit=500, timeout=3600.0)
    policy = LimitPolicy(default=TaskLimits(GiB, 1.0, 500, 600.0), maximum=maximum)
    async with worker_with(worker_factory, task_limits=policy) as (w, stub):
        refusals: list[tuple[dict[str, Any], str]] = [
            ({"memory": 2 * GiB}, "memory limit 2GiB is above this worker's maximum of 1GiB"),
            ({"cpus": 1.5}, "CPU limit 1.5 is above this worker's maximum of 1"),
            ({"pids_limit": 0}, "process limit none is above this worker's maximum of 500"),
            ({"timeout": 7200.0}, "timeout 2h is above this worker's maximum of 1h"),
        ]
        for asked, says in refusals:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await start(stub, "true", **asked)
            assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert err.value.details() == says
        assert (await stub.ListTasks(pb.ListTasksRequest())).tasks == []
        made = docker_engine.api.containers(
            all=True, filters={"label": f"{LABEL_WORKER}={w.config.name}"}
        )
        assert made == []


async def test_a_task_past_its_timeout_is_stopped_and_fails_timed_out(worker_factory):
    """`sleep 60` with a 2 s timeout: SIGTERM at 2 s (ignored by PID 1), SIGKILL after the
    worker's 1 s stop grace; the task ends `failed`, "timed out after 2s"."""
    async with worker_with(worker_factory) as (w, stub):
        began = time.monotonic()
        info = await start(stub, "echo begun; sleep 60", timeout=2.0)
        got = await finish(stub, info.task_id, timeout=20)
        took = time.monotonic() - began
        assert got.end is not None
        assert got.end.status is TaskStatus.FAILED
        assert got.end.error == "timed out after 2s"
        assert got.end.exit_code == 137  # killed after the grace
        assert [line.content for line in got.lines] == ["begun"]
        assert 2.0 <= took < 8.0
        ended = w.executor.info(info.task_id)
        assert (ended.status, ended.error, ended.timeout) == (
            TaskStatus.FAILED,
            "timed out after 2s",
            2.0,
        )


async def test_a_task_that_ends_before_its_timeout_succeeds(worker_factory):
    async with worker_with(worker_factory) as (_w, stub):
        info = await start(stub, "sleep 0.5; echo done", timeout=30.0)
        got = await finish(stub, info.task_id)
        assert got.end is not None and got.end.status is TaskStatus.SUCCESS
        assert got.end.error == ""


async def test_a_process_limit_of_20_stops_a_task_forking_100_sleeps(worker_factory):
    """The same script without a process limit starts all 100."""
    async with worker_with(worker_factory) as (_w, stub):
        limited = await start(stub, FORK_100, pids_limit=20)
        free = await start(stub, FORK_100, pids_limit=0)
        got = await finish(stub, limited.task_id)
        assert got.end is not None and got.end.status is TaskStatus.FAILED
        contents = [line.content for line in got.lines]
        assert "started all 100" not in contents
        assert any("can't fork" in c for c in contents), contents
        control = await finish(stub, free.task_id)
        assert control.end is not None and control.end.status is TaskStatus.SUCCESS
        assert [line.content for line in control.lines] == ["started all 100"]


async def test_a_task_over_its_memory_limit_ends_failed_out_of_memory(worker_factory):
    """Keeping 20 MiB under a 16 MiB limit (no swap): the kernel kills it. The same command
    under the default (2 GiB) succeeds."""
    async with worker_with(worker_factory) as (_w, stub):
        small = await start(stub, SETTLE_THEN_ALLOCATE_20M, memory=16 * MiB)
        roomy = await start(stub, SETTLE_THEN_ALLOCATE_20M)
        got = await finish(stub, small.task_id)
        assert got.end is not None
        assert got.end.status is TaskStatus.FAILED
        assert got.end.exit_code == 137
        assert got.end.error == "out of memory (OOMKilled)"
        control = await finish(stub, roomy.task_id)
        assert control.end is not None and control.end.status is TaskStatus.SUCCESS


async def test_docker_tells_an_oom_kill_from_another_sigkill(docker_engine):
    """What the worker asks when a task ends 137 and Docker's OOMKilled says no (an OOM event
    that came after the exit): the OOM-killed container has an ``oom`` event, a container
    killed with ``docker kill`` (also 137) has none."""
    runtime = ContainerRuntime(DOCKER_HOST)
    api = docker_engine.api
    made = []
    try:
        since = time.time()
        label = {LABEL_WORKER: f"oom-test-{uuid.uuid4().hex[:8]}"}
        oom = api.create_container(
            TEST_IMAGE,
            ["sh", "-c", SETTLE_THEN_ALLOCATE_20M],
            labels=label,
            host_config=api.create_host_config(mem_limit=16 * MiB, memswap_limit=16 * MiB),
        )["Id"]
        killed = api.create_container(TEST_IMAGE, ["sleep", "30"], labels=label)["Id"]
        made += [oom, killed]
        for cid in made:
            api.start(cid)
        api.kill(killed)  # SIGKILL
        assert [api.wait(cid, timeout=30)["StatusCode"] for cid in made] == [137, 137]
        assert await runtime.saw_oom(oom, since, 1.0)
        assert not await runtime.saw_oom(killed, since, 0.0)
    finally:
        for cid in made:
            api.remove_container(cid, force=True)
        await runtime.close()


async def test_a_restarted_worker_keeps_the_deadline_of_an_adopted_task(
    tmp_path: Path, docker_engine
):
    """The worker stops 1 s into a task with a 5 s timeout and starts again 3.5 s in: the task
    is stopped at 5 s after its start (+ the 1 s grace), not 5 s after the adoption."""
    config = WorkerConfig(
        name=f"t{uuid.uuid4().hex[:10]}",
        listen="127.0.0.1:0",
        docker_host=DOCKER_HOST,
        stop_grace=1.0,
        data_dir=tmp_path / "data",
    )
    provision(tmp_path / "data", config.name)  # the test is its master
    try:
        async with run_worker(config) as first:
            info = await first.executor.start(_spec("sleep 60", timeout=5.0))
            began = info.started_at
            await asyncio.sleep(1.0)
        assert docker_engine.api.inspect_container(info.container_id)["State"]["Running"]
        await asyncio.sleep(max(0.0, began + 3.5 - time.time()))
        async with run_worker(config) as second:
            await _ended(second, info.task_id, timeout=20)
            ended = second.executor.info(info.task_id)
        assert ended.status is TaskStatus.FAILED
        assert ended.error == "timed out after 5s"
        assert ended.started_at == began  # the stored start, kept through the restart
        assert 5.0 <= ended.finished_at - began < 7.5  # from adoption it would be >= 8.5 s
    finally:
        remove_containers(docker_engine.api, config.name)


def _spec(script: str, **limits: Any) -> TaskSpec:
    return TaskSpec(f"task-{uuid.uuid4().hex[:8]}", TEST_IMAGE, ("sh", "-c", script), **limits)


async def _ended(w: RunningWorker, task_id: str, timeout: float) -> None:
    await eventually(lambda: w.executor.info(task_id).status.is_final, "the task to end", timeout)


async def test_master_run_passes_limits_and_refusals_and_list_tasks_shows_them(
    master_factory, worker_factory, tmp_path, monkeypatch
):
    """`master run --memory --cpus --pids-limit --timeout` reaches the container; a value
    above the worker's maximum exits 2 with the worker's reason; `list-tasks --json` shows
    the limits a task runs with."""
    monkeypatch.setenv("LOGCAST_STATE_DIR", str(tmp_path / "state"))
    policy = LimitPolicy(maximum=TaskLimits(memory=4 * GiB, cpus=2.0, pids_limit=4096))
    async with (
        master_factory(workers=0, state_dir=tmp_path / "state") as (running, _),
        worker_factory(master=running.grpc_address, task_limits=policy) as w,
    ):
        name = w.config.name
        await eventually(
            lambda: name in {r.name for r in running.master.registry.workers()},
            "the worker to register",
        )
        address = running.grpc_address
        limits = ("--memory", "512m", "--cpus", "1.5", "--pids-limit", "256", "--timeout", "10m")
        out = await asyncio.to_thread(
            master_cli, address, "run", "--image", TEST_IMAGE, *limits, "--", "sleep", "30"
        )
        assert out.returncode == 0, out.stderr
        task_id = out.stdout.strip()

        refused = await asyncio.to_thread(
            master_cli, address, "run", "--image", TEST_IMAGE, "--memory", "8g", "--", "true"
        )
        assert refused.returncode == 2
        assert "memory limit 8GiB is above this worker's maximum of 4GiB" in refused.stderr
        assert refused.stdout == ""

        listed = await asyncio.to_thread(master_cli, address, "list-tasks", "--json")
        assert listed.returncode == 0, listed.stderr
        (row,) = [t for t in json.loads(listed.stdout) if t["task_id"] == task_id]
        assert (row["memory"], row["cpus"], row["pids_limit"], row["timeout"]) == (
            512 * MiB,
            1.5,
            256,
            600.0,
        )
        stopped = await asyncio.to_thread(master_cli, address, "stop", task_id)
        assert stopped.returncode == 0, stopped.stderr
