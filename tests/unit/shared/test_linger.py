"""A subscription's linger (the worker's gRPC stream): a burst goes out in fewer, larger
batches; a line that finds its consumer waiting, a few lines together, or a full batch are
never held. Pure: a hub in memory, the asyncio loop. A held batch would wait the linger: the
tests that say "not held" use a linger of an hour, so holding fails them (by a timeout)."""

from __future__ import annotations

import asyncio

import pytest

from shared.hub import HubLimits, LogHub
from shared.model import TaskEnd, TaskStatus
from shared.subscription import BURST_LINES, Subscription
from tests.unit.shared.test_hub import lines

pytestmark = pytest.mark.asyncio

HOUR = 3600.0


async def soon(sub: Subscription) -> list[int]:
    """The next batch's seqs; it must come without waiting for a linger."""
    batch = await asyncio.wait_for(sub.next_batch(), timeout=10)
    assert batch is not None
    return [ln.seq for ln in batch.lines]


async def test_a_burst_is_gathered_into_one_batch():
    hub = LogHub(HubLimits(history=10_000))
    sub = Subscription(hub, tail=0, linger=0.05)
    hub.publish(lines(1))
    assert await soon(sub) == [1]
    hub.publish(lines(BURST_LINES))  # waiting as the consumer comes back: a burst

    async def more() -> None:  # while the consumer lingers
        for _ in range(10):
            await asyncio.sleep(0)
            hub.publish(lines(50))

    feeder = asyncio.create_task(more())
    batch = await sub.next_batch()
    await feeder
    assert batch is not None
    got = [ln.seq for ln in batch.lines]
    assert got == list(range(2, BURST_LINES + 502))  # one batch, every line, in order


async def test_without_a_linger_the_same_burst_comes_as_it_was_when_taken():
    hub = LogHub(HubLimits(history=10_000))
    sub = Subscription(hub, tail=0)
    hub.publish(lines(1))
    assert await soon(sub) == [1]
    hub.publish(lines(BURST_LINES))
    assert await soon(sub) == list(range(2, BURST_LINES + 2))


async def test_a_new_subscribers_history_is_not_held():
    hub = LogHub(HubLimits(history=10_000))
    hub.publish(lines(500))
    sub = Subscription(hub, tail=100, linger=HOUR)
    assert await soon(sub) == list(range(401, 501))


async def test_a_read_to_the_newest_line_is_not_held():
    hub = LogHub(HubLimits(history=10_000, batch_lines=60))
    hub.publish(lines(500))
    sub = Subscription(hub, tail=100, follow=False, linger=HOUR)
    assert await soon(sub) == list(range(401, 461))
    assert await soon(sub) == list(range(461, 501))  # 40 waiting: a burst, were it followed


async def test_a_line_that_finds_its_consumer_waiting_is_not_held():
    hub = LogHub()
    sub = Subscription(hub, tail=0, linger=HOUR)
    waiting = asyncio.create_task(soon(sub))
    await asyncio.sleep(0.01)  # the consumer waits for the hub
    hub.publish(lines(BURST_LINES * 2))  # even many lines at once: it was waiting for them
    assert await waiting == list(range(1, BURST_LINES * 2 + 1))


async def test_a_few_lines_together_are_not_held():
    hub = LogHub()
    sub = Subscription(hub, tail=0, linger=HOUR)
    hub.publish(lines(1))
    assert await soon(sub) == [1]
    hub.publish(lines(BURST_LINES - 1))  # waiting as it comes back, but fewer than a burst
    assert await soon(sub) == list(range(2, BURST_LINES + 1))


async def test_a_full_batch_is_not_held():
    hub = LogHub(HubLimits(history=10_000, batch_lines=100))
    sub = Subscription(hub, tail=0, linger=HOUR)
    hub.publish(lines(250))
    assert await soon(sub) == list(range(1, 101))
    assert await soon(sub) == list(range(101, 201))  # a full batch waits as it comes back


async def test_the_end_comes_after_every_line_of_a_lingered_burst():
    hub = LogHub(HubLimits(history=10_000))
    sub = Subscription(hub, tail=0, linger=0.02)
    hub.publish(lines(100))
    hub.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    seqs: list[int] = []
    end = None
    async for batch in sub:
        seqs += [ln.seq for ln in batch.lines]
        end = batch.end or end
    assert seqs == list(range(1, 101))
    assert end is not None and end.status is TaskStatus.SUCCESS
