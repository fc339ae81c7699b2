"""Task lifecycle on a real engine: statuses, stop, bad input, and no leaks."""

from __future__ import annotations

import asyncio
import os
import threading

import grpc
import pytest

from shared.model import TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.cluster import worker_channel
from tests.fixtures import DOCKER_HOST, collect, start_task

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]

BAD_IDS = ["../x", "task-1/../../etc", "task-" + "9" * 10_000, "task-1\x00", "", "TASK-1", "task-"]


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        ("echo fine", TaskStatus.SUCCESS, 0),
        ("echo broken >&2; exit 3", TaskStatus.FAILED, 3),
    ],
)
async def test_exit_code_becomes_the_final_status_after_the_last_line(stub, script, status, code):
    info = await start_task(stub, f"sleep 0.3; {script}")
    subscribers = await asyncio.gather(*(collect(stub, info.task_id) for _ in range(5)))
    for got in subscribers:
        assert got.end.status is status and got.end.exit_code == code
        assert isinstance(got.events[-1], type(got.end))  # the end comes after the last line
        assert len(got.lines) == 1
    listed = await stub.ListTasks(pb.ListTasksRequest())
    (mine,) = [t for t in listed.tasks if t.task_id == info.task_id]
    assert mine.exit_code == code and mine.lines == 1


async def test_stop_cancels_the_task_and_subscribers_get_cancelled_last(stub):
    info = await start_task(stub, 'i=0; while true; do echo "seq=$i"; i=$((i+1)); sleep 0.05; done')
    subscribers = [asyncio.create_task(collect(stub, info.task_id)) for _ in range(3)]
    await asyncio.sleep(1.0)
    stopped = await stub.StopTask(pb.TaskRef(task_id=info.task_id))
    assert stopped.status == pb.CANCELLED
    results = await asyncio.gather(*subscribers)
    for got in results:
        assert got.end.status is TaskStatus.CANCELLED
        assert len(got.lines) >= 5
        assert got.events[-1] is got.end
        assert got.check(published=results[0].seqs[-1]) == []


async def test_unknown_image_fails_the_task_with_a_clear_error(stub):
    info = await start_task(stub, "true", image="logcast/does-not-exist:1")
    assert info.status is TaskStatus.FAILED
    assert "not on this worker" in info.error
    got = await collect(stub, info.task_id)
    assert got.end.status is TaskStatus.FAILED and "does-not-exist" in got.end.error


async def test_unknown_command_fails_the_task_with_a_clear_error(stub):
    spec = pb.TaskSpec(task_id="task-nocmd1", image="logcast/busybox:test", command=["nosuchcmd"])
    info = await stub.StartTask(pb.StartTaskRequest(spec=spec))
    assert info.status == pb.FAILED
    assert "nosuchcmd" in info.error


async def test_malformed_task_ids_are_rejected_before_any_docker_call(stub, docker_proxy):
    before = len(docker_proxy.requests)
    for bad in BAD_IDS:
        spec = pb.TaskSpec(task_id=bad, image="logcast/busybox:test", command=["true"])
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.StartTask(pb.StartTaskRequest(spec=spec))
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        details = err.value.details() or ""
        assert "invalid task id" in details
        assert len(details) < 300  # a 10 KB id is not echoed back
        for call in (
            stub.StopTask(pb.TaskRef(task_id=bad)),
            collect(stub, bad),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert docker_proxy.requests[before:] == []


async def test_unknown_task_id_is_not_found(stub):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await collect(stub, "task-999999")
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    assert "task-999999" in err.value.details()


async def test_duplicate_task_id_is_refused_and_the_first_task_is_unharmed(stub):
    info = await start_task(stub, "sleep 0.5; echo one", task_id="task-dup1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await start_task(stub, "echo two", task_id="task-dup1")
    assert err.value.code() is grpc.StatusCode.ALREADY_EXISTS
    got = await collect(stub, info.task_id)
    assert [ln.content for ln in got.lines] == ["one"]


async def test_no_task_thread_or_fd_leaks_after_100_short_tasks(worker_factory, docker_engine):
    """Straight to the Docker socket (no test proxy, whose connections would be counted)."""
    async with (
        worker_factory(docker_host=DOCKER_HOST) as w,
        worker_channel(w.address, w.config.name) as channel,
    ):
        await _no_leaks(pb_grpc.WorkerStub(channel))


async def _no_leaks(stub: pb_grpc.WorkerStub) -> None:
    async def run_batch(n: int) -> None:
        infos = await asyncio.gather(*(start_task(stub, "echo hi; echo ho >&2") for _ in range(n)))
        results = await asyncio.gather(*(collect(stub, i.task_id) for i in infos))
        assert all(r.end.status is TaskStatus.SUCCESS and len(r.lines) == 2 for r in results)

    def counts() -> tuple[int, int, int]:
        return (
            len(asyncio.all_tasks()),
            threading.active_count(),
            len(os.listdir("/proc/self/fd")),
        )

    await run_batch(10)  # warm up connection and thread pools
    await run_batch(10)
    await asyncio.sleep(0.5)
    before = counts()
    for _ in range(10):
        await run_batch(10)
    await asyncio.sleep(0.5)  # let container removals finish
    after = counts()
    assert after[0] <= before[0], f"asyncio tasks {before[0]} -> {after[0]}"
    assert after[1] <= before[1], f"threads {before[1]} -> {after[1]}"
    # +2: connection pools may settle one or two sockets differently; a leak would be 100+
    assert after[2] <= before[2] + 2, f"file descriptors {before[2]} -> {after[2]}"
