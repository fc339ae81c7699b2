"""StreamTaskLogsUnified with a line filter: a stream of the client's own from the worker (the
relay carries every line), passed on with each line's seq, resumed exactly after a break. The
coordinator with in-memory workers (tests/fakes/workers.py), no network."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from master.config import MasterConfig
from master.coordinator import LogUpdate, Master
from shared.errors import InvalidRequest
from shared.linefilter import LineFilter
from shared.model import STDERR, STDOUT, ConnectionState, LogLine, TaskEnd, TaskInfo, TaskStatus
from tests.fakes.workers import FakeWorkers
from tests.fixtures import eventually

pytestmark = pytest.mark.asyncio
TASK, ADDRESS, NOW = "task-123456", "10.0.0.1:50052", 1000.0
ERRORS = LineFilter(pattern="ERROR")


def numbered(first: int, last: int) -> list[LogLine]:
    """Lines ``first..last``; every tenth says ERROR (on stderr)."""
    return [
        LogLine(0, "t", STDERR, f"ERROR {i}") if i % 10 == 0 else LogLine(0, "t", STDOUT, f"ok {i}")
        for i in range(first, last + 1)
    ]


class Cluster:
    def __init__(self) -> None:
        self.workers = FakeWorkers()
        self.worker = self.workers.get(ADDRESS)
        self.upstream = self.worker.add_task(TASK)
        self.master = Master(MasterConfig(), self.workers, lambda: NOW)
        info = TaskInfo(TASK, TaskStatus.RUNNING, worker="w1", created_at=NOW)
        self.master.heartbeat("w1", ADDRESS, [info])

    def follow(self, **kw) -> tuple[list[LogUpdate], asyncio.Future[TaskEnd | None]]:
        got: list[LogUpdate] = []

        async def handler(update: LogUpdate) -> None:
            got.append(update)

        stream = self.master.StreamTaskLogsUnified(TASK, "viewer", handler, **kw)
        return got, asyncio.ensure_future(stream)


def contents(updates: list[LogUpdate]) -> list[tuple[int, str]]:
    return [(ln.seq, ln.content) for u in updates for ln in u.batch.lines]


until = partial(eventually, timeout=5.0)  # (tests/fixtures.py: polled every 20 ms)


async def test_only_matching_lines_come_with_their_seqs_history_then_live_then_the_end():
    cluster = Cluster()
    cluster.upstream.publish(numbered(1, 35))
    got, stream = cluster.follow(line_filter=ERRORS)
    await until(lambda: len(contents(got)) == 3, "the history's matches")
    assert contents(got) == [(10, "ERROR 10"), (20, "ERROR 20"), (30, "ERROR 30")]
    cluster.upstream.publish(numbered(36, 41))
    await until(lambda: len(contents(got)) == 4, "a live match")
    assert contents(got)[-1] == (40, "ERROR 40")
    cluster.upstream.finish(TaskEnd(TaskStatus.FAILED, 3))
    end = await asyncio.wait_for(stream, 5)
    assert end == TaskEnd(TaskStatus.FAILED, 3)
    assert got[-1].is_complete and got[-1].batch.end == end
    assert cluster.worker.requests[-1].line_filter == ERRORS  # filtered on the worker
    assert not cluster.master.relays  # (no relay: the filtered stream is the client's own)


async def test_tail_counts_lines_that_pass():
    cluster = Cluster()
    cluster.upstream.publish(numbered(1, 95))
    cluster.upstream.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    got, stream = cluster.follow(line_filter=ERRORS, tail=2)
    await asyncio.wait_for(stream, 5)
    assert contents(got) == [(80, "ERROR 80"), (90, "ERROR 90")]
    got, stream = cluster.follow(line_filter=LineFilter(stream=STDOUT), tail=3)
    await asyncio.wait_for(stream, 5)
    assert contents(got) == [(93, "ok 93"), (94, "ok 94"), (95, "ok 95")]


async def test_a_broken_worker_stream_resumes_after_the_last_line_delivered():
    cluster = Cluster()
    cluster.upstream.publish(numbered(1, 25))
    got, stream = cluster.follow(line_filter=ERRORS, after=0)
    await until(lambda: len(contents(got)) == 2, "two matches")
    cluster.worker.break_streams()
    cluster.upstream.publish(numbered(26, 50))
    cluster.upstream.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    await asyncio.wait_for(stream, 10)
    assert contents(got) == [(n, f"ERROR {n}") for n in (10, 20, 30, 40, 50)]
    assert any(u.batch.state is ConnectionState.RECONNECTING for u in got)
    assert cluster.worker.requests[-1].after == 20  # resumed after the last match it had


async def test_a_bad_pattern_is_refused_before_any_worker_is_asked():
    cluster = Cluster()
    _, stream = cluster.follow(line_filter=LineFilter(pattern="(", regex=True))
    with pytest.raises(InvalidRequest, match="invalid regular expression"):
        await stream
    assert cluster.worker.requests == []
