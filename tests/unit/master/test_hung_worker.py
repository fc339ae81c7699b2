"""A hung worker (its heartbeats stop, its log streams stay open and silent) is marked down and
its task lost; when it comes back, the master believes it again at once: new clients follow the
task's real state, not the ``lost`` the old relay ended with. The coordinator with in-memory
workers (tests/fakes/workers.py) and a hand-driven clock."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from master.config import MasterConfig
from master.coordinator import LogUpdate, Master
from shared.model import STDOUT, LogLine, TaskEnd, TaskInfo, TaskStatus
from tests.comparator import Received
from tests.fakes.workers import FakeWorkers
from tests.fixtures import eventually

pytestmark = pytest.mark.asyncio
TASK, ADDRESS, START = "task-123456", "10.0.0.1:50052", 1000.0


def lines(first: int, last: int) -> list[LogLine]:
    return [LogLine(0, "t", STDOUT, f"seq={i}") for i in range(first, last + 1)]


class Cluster:
    """A master (worker timeout 2 s) and one in-memory worker ``w1`` running TASK."""

    def __init__(self) -> None:
        self.now = START
        self.workers = FakeWorkers()
        self.upstream = self.workers.get(ADDRESS).add_task(TASK)
        self.master = Master(MasterConfig(worker_timeout=2.0), self.workers, lambda: self.now)
        self.heartbeat()

    def heartbeat(self) -> None:
        info = TaskInfo(TASK, TaskStatus.RUNNING, worker="w1", created_at=START)
        self.master.heartbeat("w1", ADDRESS, [info])

    def follow(self) -> tuple[Received, asyncio.Future[TaskEnd | None]]:
        """A client following TASK from its start."""
        got = Received()

        async def handler(update: LogUpdate) -> None:
            got.add(update.batch)

        stream = self.master.StreamTaskLogsUnified(TASK, "viewer", handler, after=0)
        return got, asyncio.ensure_future(stream)


until = partial(eventually, timeout=5.0)  # (tests/fixtures.py: polled every 20 ms)


async def test_a_worker_back_from_a_hang_is_followed_again_not_served_a_cached_lost():
    cluster = Cluster()
    master = cluster.master
    first, stream = cluster.follow()
    cluster.upstream.publish(lines(1, 3))
    await until(lambda: first.numbers() == [1, 2, 3], "the first lines")

    cluster.now += 2.5  # no heartbeat for longer than the worker timeout: hung
    await master.sweep()
    end = await asyncio.wait_for(stream, 5)
    assert end is not None and end.status is TaskStatus.LOST
    assert "stopped answering" in end.error
    assert not master.list_workers()[0].alive

    cluster.heartbeat()  # it comes back, the task still running there
    assert master.get_task(TASK).status is TaskStatus.RUNNING
    second, stream = cluster.follow()
    cluster.upstream.publish(lines(4, 5))
    await until(lambda: second.numbers() == [1, 2, 3, 4, 5], "the lines, old and new")
    assert second.end is None  # following the running task, not the lost one
    assert master.list_workers()[0].alive
    stream.cancel()
    await master.close()


async def test_a_worker_back_before_the_relay_acted_keeps_its_clients_following():
    """The sweep marks the task lost and a heartbeat says it runs before the relay got to run:
    the relay follows on (it used to cancel every stream it opened from then on)."""
    cluster = Cluster()
    master = cluster.master
    got, stream = cluster.follow()
    cluster.upstream.publish(lines(1, 2))
    await until(lambda: got.numbers() == [1, 2], "the first lines")
    cluster.now += 2.5
    await master.sweep()
    cluster.heartbeat()  # at once: no step of the event loop in between
    cluster.upstream.publish(lines(3, 6))
    await until(lambda: got.numbers() == list(range(1, 7)), "the lines after the hiccup")
    await asyncio.sleep(0.3)
    assert got.end is None and not stream.done()
    assert got.check(published=6) == []
    stream.cancel()
    await master.close()


async def test_a_task_that_ended_during_the_hang_shows_its_real_end():
    cluster = Cluster()
    master = cluster.master
    _, stream = cluster.follow()
    cluster.now += 2.5
    await master.sweep()
    assert (await asyncio.wait_for(stream, 5)).status is TaskStatus.LOST
    cluster.upstream.publish(lines(1, 1))
    cluster.upstream.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    done = TaskInfo(TASK, TaskStatus.SUCCESS, exit_code=0, worker="w1", created_at=START)
    master.heartbeat("w1", ADDRESS, [done])
    again, stream = cluster.follow()
    end = await asyncio.wait_for(stream, 5)
    assert end is not None and end.status is TaskStatus.SUCCESS
    assert again.numbers() == [1]
    await master.close()
