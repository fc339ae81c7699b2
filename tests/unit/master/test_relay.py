"""TaskRelay, the master's one upstream subscription per task, driven through in-memory
workers (tests/fakes/workers.py): real hubs and a real registry, no network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial

import pytest
import pytest_asyncio

from master.registry import Registry
from master.relay import TaskRelay
from shared.hub import HubLimits, LogHub
from shared.model import STDOUT, ConnectionState, LogLine, TaskEnd, TaskInfo, TaskStatus
from shared.subscription import Subscription
from tests.comparator import Received
from tests.fakes.workers import FakeWorker, FakeWorkers
from tests.fixtures import eventually

pytestmark = pytest.mark.asyncio
TASK, ADDRESS, NOW = "task-123456", "10.0.0.1:50052", 1000.0


def lines(first: int, last: int) -> list[LogLine]:
    return [LogLine(0, "t", STDOUT, f"seq={i}") for i in range(first, last + 1)]


class Setup:
    def __init__(self, limits: HubLimits) -> None:
        self.registry = Registry(worker_timeout=5.0, started_at=NOW)
        self.workers = FakeWorkers()
        self.worker: FakeWorker = self.workers.get(ADDRESS)
        self.worker.limits = limits
        self.upstream: LogHub = self.worker.add_task(TASK)
        self.heartbeat()
        self.relay = TaskRelay(TASK, self.registry, self.workers, HubLimits(), lambda: NOW)

    def heartbeat(self, now: float = NOW) -> None:
        info = TaskInfo(TASK, TaskStatus.RUNNING, worker="w1", created_at=NOW)
        self.registry.heartbeat("w1", ADDRESS, [info], now)

    async def collect(
        self, *, after: int | None = None, follow: bool = True, into: Received | None = None
    ) -> Received:
        """Everything one client of the relay gets, until the end."""
        await self.relay.wait_ready(5.0)
        got = Received() if into is None else into
        async with Subscription(self.relay.hub, after=after, follow=follow) as sub:
            async for batch in sub:
                got.add(batch)
        return got


@pytest_asyncio.fixture
async def setup() -> AsyncIterator[Setup]:
    s = Setup(HubLimits())
    yield s
    await s.relay.close()


until = partial(eventually, timeout=5.0)  # (tests/fixtures.py: polled every 20 ms)


async def test_clients_get_the_history_the_live_lines_then_the_end_after_the_last_line(setup):
    setup.upstream.publish(lines(1, 5))
    client = asyncio.create_task(setup.collect())
    await until(lambda: setup.relay.hub.next_seq == 6, "the history")
    setup.upstream.publish(lines(6, 8))
    setup.upstream.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    got = await client
    assert got.numbers() == list(range(1, 9))
    assert got.check(published=8) == []
    assert got.events[-1] == TaskEnd(TaskStatus.SUCCESS, 0)  # the end comes after the last line
    assert setup.registry.status(TASK) is TaskStatus.SUCCESS
    assert setup.worker.requests[0].tail == 1000  # the relay's first subscription: the history


async def test_a_broken_worker_stream_is_resumed_after_the_last_seq(setup):
    setup.upstream.publish(lines(1, 5))
    client = asyncio.create_task(setup.collect())
    await until(lambda: setup.relay.hub.next_seq == 6, "five lines")
    setup.worker.break_streams()
    setup.upstream.publish(lines(6, 9))
    await until(lambda: len(setup.worker.requests) == 2, "the resubscription")
    assert setup.worker.requests[1].after == 5  # after the last seq relayed, not the history
    setup.upstream.finish(TaskEnd(TaskStatus.FAILED, 3))
    got = await client
    assert got.numbers() == list(range(1, 10))  # no duplicate, no hole
    assert got.check(published=9) == []
    states = got.states
    assert ConnectionState.RECONNECTING in states
    assert states[-1] is ConnectionState.STREAMING  # and told when it flows again
    assert got.end == TaskEnd(TaskStatus.FAILED, 3)


async def test_lines_the_worker_no_longer_has_arrive_as_a_gap():
    setup = Setup(HubLimits(history=10, max_lag_lines=10, max_lag_bytes=1 << 20))
    try:
        setup.upstream.publish(lines(1, 3))
        client = asyncio.create_task(setup.collect(after=0))
        await until(lambda: setup.relay.hub.next_seq == 4, "three lines")
        setup.worker.break_streams()
        setup.upstream.publish(lines(4, 200))  # the worker keeps its last 10 (+ slack) only
        await until(lambda: len(setup.worker.requests) == 2, "the resubscription")
        setup.upstream.finish(TaskEnd(TaskStatus.SUCCESS, 0))
        got = await client
        (gap,) = got.gaps
        assert gap.from_seq == 4 and gap.reason == "evicted"  # the worker's reason, passed on
        assert got.numbers() == [1, 2, 3, *range(gap.to_seq + 1, 201)]
        assert got.check(published=200) == []
    finally:
        await setup.relay.close()


async def test_the_task_ends_lost_when_the_registry_says_its_worker_is_gone(setup):
    """Even while the worker's stream stays open and silent (a hung worker)."""
    setup.upstream.publish(lines(1, 2))
    client = asyncio.create_task(setup.collect())
    await until(lambda: setup.relay.hub.next_seq == 3, "two lines")
    assert setup.registry.sweep(NOW + 10) == ["w1"]  # no heartbeat for 10 s > 5 s
    got = await asyncio.wait_for(client, 5)
    assert got.numbers() == [1, 2]
    assert got.end is not None and got.end.status is TaskStatus.LOST
    assert "stopped answering" in got.end.error


async def test_a_worker_that_forgot_the_task_ends_it_with_what_the_master_knew(setup):
    client = asyncio.create_task(setup.collect())
    await until(lambda: setup.worker.requests, "the subscription")
    del setup.worker.hubs[TASK]  # e.g. restarted without its container
    setup.worker.break_streams()
    got = await asyncio.wait_for(client, 5)
    assert got.end is not None and got.end.status is TaskStatus.LOST
    assert got.end.error == "its worker no longer has this task"


async def test_the_workers_own_states_reach_every_client(setup):
    """Docker unreachable on the worker: clients are told, then told when lines flow again."""
    got = Received()
    client = asyncio.create_task(setup.collect(into=got))
    await until(lambda: setup.worker.requests, "the subscription")
    setup.upstream.set_state(ConnectionState.DOCKER_UNREACHABLE)
    await until(lambda: ConnectionState.DOCKER_UNREACHABLE in got.events, "the state relayed")
    setup.upstream.set_state(ConnectionState.STREAMING)
    setup.upstream.publish(lines(1, 1))
    await until(lambda: setup.relay.hub.next_seq == 2, "the line")
    setup.upstream.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    await client
    states = got.states
    assert states[-2:] == [ConnectionState.DOCKER_UNREACHABLE, ConnectionState.STREAMING]


async def test_a_client_cancelled_while_it_waits_for_the_relay_is_cancelled(setup):
    """At any moment, even in the step the relay becomes ready: Python 3.11's
    ``asyncio.wait_for`` then swallowed the cancellation (python/cpython#86296), and a
    stopping master's log stream, cancelled there, went on streaming."""
    setup.upstream.publish(lines(1, 1))
    await until(setup.relay.ready.is_set, "the relay ready")
    for wait in (setup.relay.wait_ready, setup.relay.wait_caught_up):
        for steps in range(6):  # cancelled after 0, 1, ... event-loop steps
            client = asyncio.create_task(wait(5.0))
            for _ in range(steps):
                await asyncio.sleep(0)
            if client.done():
                break
            client.cancel()
            with pytest.raises(asyncio.CancelledError):
                await client
