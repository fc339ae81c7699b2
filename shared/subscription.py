"""The asyncio face of a hub subscription: ``async with`` it, ``async for`` its batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING

from shared.hub import LogHub, Subscriber
from shared.model import Batch

if TYPE_CHECKING:
    from shared.linefilter import Selector


BURST_GAP = 0.001
"""Seconds: lines that come this soon after a subscriber's previous take may be a burst ..."""
BURST_LINES = 16
"""... when at least this many wait."""


class Subscription:
    """Batches for one subscriber of a :class:`LogHub`, until the task's end.

    Iteration waits (without polling) until the hub has something new, yields it as one
    :class:`Batch`, and stops after the batch that carries the task's end (or the last line of
    a no-follow subscription). Older lines than the hub keeps are read from the hub's history
    (awaited here, at the subscriber's pace). Leaving the ``async with`` block, or cancelling
    the task that iterates, frees the subscription.

    With a ``selector`` (a :class:`~shared.linefilter.Selector`), only the lines that pass
    come, each with its seq; notices (gap, dropped, state, end) come as they are, and a batch
    left with nothing is not yielded.

    ``linger`` (seconds, 0: never): in a burst, wait ``linger`` for more lines before taking
    fewer than a batch's worth, so a burst goes out in fewer, larger batches (each costs the
    consumer a message: the worker's gRPC stream). A burst is at least :data:`BURST_LINES`
    lines waiting, either as the consumer comes back for its next batch or less than
    :data:`BURST_GAP` after its previous take. A line after a pause, lines a few
    milliseconds apart, a few lines that Docker delivered together, the first batch (the
    history) and a subscription that does not follow are never held.
    """

    def __init__(
        self,
        hub: LogHub,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
        selector: Selector | None = None,
        linger: float = 0.0,
    ) -> None:
        self._hub = hub
        self._selector = selector
        self._linger = linger if follow else 0.0  # (a read to the newest line: not a burst)
        self._taken_at = -1.0  # the loop's time at the previous take (with a linger)
        # what next_batch waits on: a future per wait, not an asyncio.Event (whose deque of
        # waiters costs ~600 bytes per subscriber; 10,000 idle viewers have one each)
        self._waiter: asyncio.Future[None] | None = None
        self.sub: Subscriber = hub.subscribe(
            self._wake, tail=tail, after=after, follow=follow, lossless=lossless
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

    def _wake(self) -> None:
        """The hub's waker: lines (or an end) for a subscriber that waits."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        """Free the subscription (idempotent)."""
        self._hub.unsubscribe(self.sub)

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self._batches()

    async def _batches(self) -> AsyncIterator[Batch]:
        try:
            while (batch := await self.next_batch()) is not None:
                yield batch
                # not kept while waiting for the next: an idle subscriber would hold its last
                # batch (its lines, after the ring forgot them) for as long as it idles
                del batch
        finally:
            self.close()

    async def next_batch(self) -> Batch | None:
        """The next batch, or None once the subscription has ended."""
        hub = self._hub
        sub = self.sub
        waited = False  # for the hub: lines that come now find the consumer waiting
        while not sub.ended:
            span = hub.history_span(sub)
            if span is not None and hub.history is not None:
                after, before = span
                limits = hub.limits
                read = await hub.history.read(after, before, limits.batch_lines, limits.batch_bytes)
                batch = self._select(hub.deliver_history(sub, read, before))
                if batch:
                    return batch
                continue
            if self._linger:
                await self._gather(waited)
            taken = hub.take(sub)
            batch = self._select(taken)
            if batch:
                return batch
            if sub.ended:
                break
            if taken.lines:
                continue  # lines that did not pass: there may be more at once
            self._waiter = asyncio.get_running_loop().create_future()
            sub.waiting = True
            try:
                await self._waiter
            finally:
                self._waiter = None
            waited = True
        return None

    async def _gather(self, waited: bool) -> None:
        """In a burst, wait ``linger`` for more lines (see the class)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiting = self._hub.next_seq - self.sub.cursor
        # (the first take, a subscriber's history, is never held)
        burst = self._taken_at >= 0 and (not waited or now - self._taken_at < BURST_GAP)
        if burst and BURST_LINES <= waiting < self._hub.limits.batch_lines:
            await asyncio.sleep(self._linger)
            now = loop.time()
        self._taken_at = now

    def _select(self, batch: Batch) -> Batch:
        return batch if self._selector is None else self._selector.apply(batch)
