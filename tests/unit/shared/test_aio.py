"""shared/aio.wait_set: a cancellation always reaches the waiter (asyncio.wait_for on 3.11
lost one that came in the step the event was set)."""

from __future__ import annotations

import asyncio

import pytest

from shared.aio import wait_set

pytestmark = pytest.mark.asyncio


async def test_returns_when_set_or_after_the_timeout():
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, event.set)
    await wait_set(event, 5)
    assert event.is_set()
    await wait_set(asyncio.Event(), 0.01)  # times out quietly


async def test_a_cancellation_in_the_step_the_event_is_set_is_not_lost():
    for _ in range(50):
        event = asyncio.Event()
        waiter = asyncio.create_task(wait_set(event, 5))
        await asyncio.sleep(0)  # the waiter waits
        event.set()
        waiter.cancel()  # in the same step
        with pytest.raises(asyncio.CancelledError):
            await waiter
