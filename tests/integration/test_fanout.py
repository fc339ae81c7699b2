"""Many subscribers, one Docker read: fan-out through the worker's gRPC stream."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from shared.convert import batch_from_pb
from shared.hub import HubLimits
from shared.model import TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.cluster import worker_channel
from tests.comparator import Received
from tests.fixtures import collect, start_task

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


def numbered(n: int, pause: str = "") -> str:
    """A script printing seq=1..seq=n (optionally pausing between lines)."""
    body = f'echo "seq=$i"; {pause}' if pause else 'echo "seq=$i"'
    return f"i=1; while [ $i -le {n} ]; do {body}; i=$((i+1)); done"


async def test_50_subscribers_see_identical_lines_from_one_docker_read(worker, stub, docker_proxy):
    info = await start_task(stub, numbered(400, "sleep 0.005"))
    results = await asyncio.gather(*(collect(stub, info.task_id) for _ in range(50)))
    reference = [(ln.seq, ln.timestamp, ln.stream, ln.content) for ln in results[0].lines]
    assert len(reference) == 400
    assert results[0].numbers() == list(range(1, 401))
    for got in results:
        assert [(ln.seq, ln.timestamp, ln.stream, ln.content) for ln in got.lines] == reference
        assert got.end.status is TaskStatus.SUCCESS
        assert got.check(published=400) == []
    # one follow stream for all 50; after the exit, one short catch-up read (see
    # TaskLogBroadcaster._catch_up), whatever the number of subscribers
    assert docker_proxy.log_requests(follow=True)[info.container_id] == 1
    assert docker_proxy.log_requests(follow=False)[info.container_id] == 1


async def test_subscriber_joining_mid_stream_gets_history_then_live_contiguously(stub):
    info = await start_task(stub, numbered(300, "sleep 0.01"))
    early = asyncio.create_task(collect(stub, info.task_id))
    await asyncio.sleep(1.0)
    joined = await collect(stub, info.task_id)  # history so far, then live
    tail = await collect(stub, info.task_id, tail=5)  # after the end: the last 5, then the end
    full = await early
    assert joined.check(published=300) == []
    assert joined.numbers() == list(range(1, 301))
    assert [ln.seq for ln in joined.lines] == [ln.seq for ln in full.lines]
    assert tail.seqs == [296, 297, 298, 299, 300]
    assert tail.end.status is TaskStatus.SUCCESS


async def test_mid_stream_tail_join_is_contiguous_into_live_lines(stub):
    info = await start_task(stub, numbered(300, "sleep 0.01"))
    await asyncio.sleep(1.0)
    got = await collect(stub, info.task_id, tail=10)
    first = got.seqs[0]
    assert first > 1
    assert got.check(published=300, first=first) == []
    assert got.seqs[-1] == 300


async def test_resume_after_seq_continues_with_the_next_line(stub):
    info = await start_task(stub, numbered(50))
    await collect(stub, info.task_id)
    got = await collect(stub, info.task_id, after_seq=42)
    assert got.seqs == list(range(43, 51))
    assert got.numbers() == list(range(43, 51))


async def test_subscriber_that_never_reads_does_not_slow_the_others(worker_factory):
    """A stalled subscriber loses its oldest lines and is told exactly how many; the others
    get all 100,000 lines and the end while it is still stalled; memory stays bounded."""
    limits = HubLimits(history=1000, max_lag_lines=5000, max_lag_bytes=64 * 1024 * 1024)
    async with (
        worker_factory(limits=limits) as w,
        worker_channel(w.address, w.config.name) as channel,
    ):
        stub = pb_grpc.WorkerStub(channel)
        total = 100_000
        # ~20,000 lines/s: fast, but a pace healthy subscribers keep up with on this machine;
        # 200-byte lines (20 MB): more than gRPC's windows and the kernel's buffers can hold
        paced = (
            f"i=1; while [ $i -le {total} ]; do printf 'seq=%d %0200d\\n' $i 0; "
            "[ $((i % 1000)) -eq 0 ] && sleep 0.05; i=$((i+1)); done"
        )
        info = await start_task(stub, f"sleep 1; {paced}")
        hub = w.manager.get(info.task_id).hub
        kept: list[int] = []

        async def sample() -> None:
            while hub.end is None:
                kept.append(len(hub.store))
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        stalled_call = stub.StreamLogs(pb.StreamLogsRequest(task_id=info.task_id))
        live = [asyncio.create_task(collect(stub, info.task_id)) for _ in range(3)]
        first = await stalled_call.read()  # the first batch, then nothing more for now
        results = await asyncio.gather(*live)
        await sampler
        for got in results:
            assert got.check(published=total) == []
            assert got.numbers() == list(range(1, total + 1))
            assert got.end.status is TaskStatus.SUCCESS
        assert max(kept) <= limits.max_lag_lines + limits.history + hub._trim_slack
        stalled = Received()
        stalled.add(batch_from_pb(first))
        while (msg := await stalled_call.read()) != grpc.aio.EOF:
            stalled.add(batch_from_pb(msg))
        assert stalled.check(published=total) == []
        assert stalled.dropped_count > 0
        assert len(stalled.lines) + stalled.dropped_count == total
        assert stalled.end.status is TaskStatus.SUCCESS
