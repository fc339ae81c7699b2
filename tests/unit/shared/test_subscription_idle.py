"""An idle subscriber holds nothing of what it was given: its last batch is the consumer's
alone while it waits for the next (10,000 idle viewers each held theirs before)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from shared.hub import HubLimits, LogHub
from shared.model import Batch
from shared.subscription import Subscription
from tests.unit.shared.test_hub import lines

pytestmark = pytest.mark.asyncio


async def test_a_waiting_subscription_keeps_no_reference_to_the_batch_it_gave():
    hub = LogHub(HubLimits(history=100))
    async with Subscription(hub, after=0) as sub:
        batches = sub.__aiter__()
        hub.publish(lines(5))
        batch = await batches.__anext__()
        assert [ln.seq for ln in batch.lines] == [1, 2, 3, 4, 5]

        async def next_one() -> Batch:
            return await batches.__anext__()

        following = asyncio.create_task(next_one())  # waits: nothing new
        await asyncio.sleep(0)
        assert not following.done()
        # only this test's name for it (and getrefcount's argument) refer to the batch
        assert sys.getrefcount(batch) == 2
        hub.publish(lines(1))  # the wait ends with the next line
        nxt = await asyncio.wait_for(following, 5)
        assert [ln.seq for ln in nxt.lines] == [6]
