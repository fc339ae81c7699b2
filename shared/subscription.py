"""The asyncio face of a hub subscription: ``async with`` it, ``async for`` its batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

from shared.hub import LogHub, Subscriber
from shared.model import Batch


class Subscription:
    """Batches for one subscriber of a :class:`LogHub`, until the task's end.

    Iteration waits (without polling) until the hub has something new, yields it as one
    :class:`Batch`, and stops after the batch that carries the task's end (or the last line of
    a no-follow subscription). Older lines than the hub keeps are read from the hub's history
    (awaited here, at the subscriber's pace). Leaving the ``async with`` block, or cancelling
    the task that iterates, frees the subscription.
    """

    def __init__(
        self,
        hub: LogHub,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
    ) -> None:
        self._hub = hub
        self._event = asyncio.Event()
        self.sub: Subscriber = hub.subscribe(
            self._event.set, tail=tail, after=after, follow=follow, lossless=lossless
        )

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def newest(self) -> int:
        """The newest seq the hub has now."""
        return self._hub.next_seq - 1

    @property
    def live(self) -> bool:
        """The subscriber has every line the hub has (its last batch was live, not history)."""
        return self.sub.cursor >= self._hub.next_seq

    def close(self) -> None:
        """Free the subscription (idempotent)."""
        self._hub.unsubscribe(self.sub)

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self._batches()

    async def _batches(self) -> AsyncIterator[Batch]:
        try:
            while (batch := await self.next_batch()) is not None:
                yield batch
        finally:
            self.close()

    async def next_batch(self) -> Batch | None:
        """The next batch, or None once the subscription has ended."""
        hub = self._hub
        sub = self.sub
        while not sub.ended:
            span = hub.history_span(sub)
            if span is not None and hub.history is not None:
                after, before = span
                limits = hub.limits
                read = await hub.history.read(after, before, limits.batch_lines, limits.batch_bytes)
                batch = hub.deliver_history(sub, read, before)
                if batch:
                    return batch
                continue
            batch = hub.take(sub)
            if batch:
                return batch
            if sub.ended:
                break
            self._event.clear()
            sub.waiting = True
            await self._event.wait()
        return None
