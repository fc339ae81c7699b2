"""The fan-out core: one publisher, many subscribers, each with a bounded queue. No I/O.

A :class:`LogHub` numbers published lines ``seq`` 1, 2, 3, ... and keeps them in one shared
:class:`~shared.ring.LineStore`. A subscriber's queue is its window on that store: the lines
from its cursor to the newest. The window is bounded (``max_lag_lines`` and
``max_lag_bytes``); when it overflows, the subscriber loses its *oldest* lines and its next
batch starts with an exact :class:`~shared.model.Dropped` notice. Publishing never waits for a
subscriber, and costs the same however slow the subscribers are: each line is stored once,
not copied into every queue.

The hub is driven from one thread (the asyncio loop). It never blocks; it calls a
subscriber's ``waker`` when something arrives for a subscriber that said it is waiting.
:mod:`shared.subscription` wraps this into an async iterator.

    publish(lines) ─┬─> LineStore (history + what lagging subscribers still need)
                    └─> wake waiting subscribers ──> take(sub) -> Batch
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.model import Batch, ConnectionState, Dropped, Gap, LogLine, TaskEnd
from shared.ring import LineStore


@dataclass(frozen=True, slots=True)
class HubLimits:
    """How much a hub keeps.

    ``history``: lines a new subscriber gets by default (the ring buffer, 1000).
    ``max_lag_lines`` / ``max_lag_bytes``: a subscriber's queue bound; beyond it, it loses
    its oldest lines. ``batch_lines`` / ``batch_bytes``: the most one batch carries.
    """

    history: int = 1000
    max_lag_lines: int = 10_000
    max_lag_bytes: int = 8 * 1024 * 1024
    batch_lines: int = 2000
    batch_bytes: int = 512 * 1024

    def __post_init__(self) -> None:
        if self.history < 0 or self.max_lag_lines < 1 or self.max_lag_bytes < 1:
            raise ValueError("hub limits must be positive")
        if self.batch_lines < 1 or self.batch_bytes < 1:
            raise ValueError("batch limits must be positive")


class Subscriber:
    """One subscriber's position in a hub. Create with :meth:`LogHub.subscribe`."""

    __slots__ = (
        "cursor",
        "delivered",
        "dropped",
        "ended",
        "explicit",
        "gap",
        "state_seen",
        "stop_at",
        "waiting",
        "waker",
    )

    def __init__(self, cursor: int, waker: Callable[[], None]) -> None:
        self.cursor = cursor  # seq of the next line to deliver
        self.waker = waker
        self.waiting = False  # set by the consumer before it sleeps; cleared when woken
        self.ended = False  # the subscription delivered its last batch
        self.gap: Gap | None = None  # announced with the first batch
        self.stop_at: int | None = None  # no-follow: deliver lines before this seq, then end
        self.state_seen: ConnectionState | None = None
        self.delivered = 0  # lines handed out
        self.dropped = 0  # lines lost to overflow
        self.explicit = False  # asked for lines after a given seq (not just "the history")


class LogHub:
    """Fan-out of one task's lines to any number of subscribers (see the module docstring)."""

    def __init__(self, limits: HubLimits | None = None) -> None:
        self.limits = limits or HubLimits()
        self.store = LineStore()
        self.end: TaskEnd | None = None
        self.state: ConnectionState | None = None
        self._subscribers: set[Subscriber] = set()
        self._trim_slack = max(32, self.limits.history // 32)  # lines kept beyond the history

    # ------------------------------------------------------------------ publishing

    @property
    def next_seq(self) -> int:
        """The seq the next published line will get."""
        return self.store.next_seq

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)

    def publish(self, lines: list[LogLine]) -> None:
        """Number ``lines`` with the next seqs, keep them, and wake the waiting subscribers."""
        if self.end is not None:
            raise RuntimeError("publish after finish")
        if lines:
            self.store.append(lines)
            self._after_append()

    def publish_numbered(self, lines: list[LogLine], reason: str = "upstream") -> None:
        """Publish lines that already carry seqs (a relay of another hub).

        Lines at or below the newest seq are duplicates and ignored. A jump forward is a gap:
        lines before it are forgotten, and each subscriber still waiting for a missing line is
        told with a :class:`Gap` of that ``reason``.
        """
        if self.end is not None:
            raise RuntimeError("publish after finish")
        store = self.store
        if lines and lines[0].seq < store.next_seq:
            lines = [line for line in lines if line.seq >= store.next_seq]
        if not lines:
            return
        first = lines[0].seq
        if first > store.next_seq:
            self.skip_to(first, reason)
        store.append(lines, numbered=True)
        self._after_append()

    def skip_to(self, seq: int, reason: str = "upstream") -> None:
        """Lines before ``seq`` that the hub lacks will never come.

        Every subscriber that has not read up to ``seq`` gets one :class:`Gap` from its cursor
        to ``seq - 1`` and continues at ``seq``; the store restarts there (it holds no holes).
        Before the hub's first line, this only says where numbering starts: subscribers that
        asked for "the history" simply start there, only ``after=N`` subscribers hear of a gap.
        """
        if seq <= self.store.next_seq:
            return
        first_line = self.store.total_bytes == 0
        for sub in self._subscribers:
            if sub.cursor < seq:
                if sub.explicit or not first_line:
                    sub.gap = _merge_gap(sub.gap, Gap(sub.cursor, seq - 1, reason))
                sub.cursor = seq
        self.store.restart_at(seq)
        self._wake_all()

    def finish(self, end: TaskEnd) -> None:
        """The task ended: every subscriber gets ``end`` after its last line."""
        if self.end is None:
            self.end = end
            self.state = ConnectionState.FINISHED
            self._wake_all()

    def set_state(self, state: ConnectionState) -> None:
        """Announce a connection state (streaming, reconnecting, ...) to every subscriber."""
        if self.end is None and state != self.state:
            self.state = state
            self._wake_all()

    def _after_append(self) -> None:
        store = self.store
        if len(store) > self.limits.history + self._trim_slack:
            self._trim()
        self._wake_all()

    def _wake_all(self) -> None:
        for sub in self._subscribers:
            if sub.waiting:
                sub.waiting = False
                sub.waker()

    def _trim(self) -> None:
        """Forget lines no new subscriber gets and no subscriber can still read."""
        store = self.store
        limits = self.limits
        keep_from = store.next_seq - limits.history
        if self._subscribers:
            oldest_readable = max(
                store.next_seq - limits.max_lag_lines,
                store.first_seq_within(limits.max_lag_bytes),
            )
            slowest = min(sub.cursor for sub in self._subscribers)
            keep_from = min(keep_from, max(slowest, oldest_readable))
        store.forget_before(keep_from)

    # ------------------------------------------------------------------ subscribing

    def subscribe(
        self,
        waker: Callable[[], None],
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
    ) -> Subscriber:
        """Open a subscription.

        By default it starts with the last ``history`` lines; ``tail=N`` asks for at most N
        of them; ``after=N`` resumes with line N + 1 (a :class:`Gap` first if some lines after
        N are gone). Then live lines follow, with no gap and no duplicate at the seam. With
        ``follow=False`` it ends after the lines published so far.
        """
        store = self.store
        if after is not None:
            if after < 0:
                raise ValueError("after must be >= 0")
            cursor = after + 1
            gap = None
            if cursor < store.first_seq:
                gap = Gap(cursor, store.first_seq - 1, "evicted")
                cursor = store.first_seq
        else:
            n = self.limits.history if tail is None else min(tail, self.limits.history)
            if n < 0:
                raise ValueError("tail must be >= 0")
            cursor = max(store.first_seq, store.next_seq - n)
            gap = None
        sub = Subscriber(cursor, waker)
        sub.gap = gap
        sub.explicit = after is not None
        if not follow:
            sub.stop_at = store.next_seq
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Close a subscription (idempotent)."""
        self._subscribers.discard(sub)

    def take(self, sub: Subscriber) -> Batch:
        """What ``sub`` has not received yet, at most one batch. Empty when nothing is new.

        After the batch that carries ``end`` (or the last no-follow line), ``sub.ended``.
        """
        batch = Batch()
        if sub.ended:
            return batch
        store = self.store
        limits = self.limits
        if self.state is not None and sub.state_seen is not self.state:
            sub.state_seen = self.state
            if self.state is not ConnectionState.FINISHED:
                batch.state = self.state
        if sub.gap is not None:
            batch.gap = sub.gap
            sub.gap = None
        newest = store.next_seq
        cursor = sub.cursor
        if cursor < newest:
            oldest_allowed = max(
                store.first_seq,
                newest - limits.max_lag_lines,
                store.first_seq_within(limits.max_lag_bytes)
                if store.bytes_from(cursor) > limits.max_lag_bytes
                else store.first_seq,
            )
            if cursor < oldest_allowed:
                lost = oldest_allowed - cursor
                batch.dropped = Dropped(lost, cursor, oldest_allowed - 1)
                sub.dropped += lost
                cursor = oldest_allowed
            stop = newest if sub.stop_at is None else min(newest, sub.stop_at)
            if cursor < stop:
                lines = store.get(
                    cursor, min(limits.batch_lines, stop - cursor), limits.batch_bytes
                )
                batch.lines = lines
                cursor += len(lines)
                sub.delivered += len(lines)
            sub.cursor = cursor
        if sub.stop_at is not None and cursor >= sub.stop_at:
            sub.ended = True
            if self.end is not None and sub.stop_at >= newest:
                batch.end = self.end
        elif self.end is not None and cursor >= newest:
            batch.end = self.end
            sub.ended = True
        return batch


def _merge_gap(old: Gap | None, new: Gap) -> Gap:
    if old is None:
        return new
    return Gap(min(old.from_seq, new.from_seq), max(old.to_seq, new.to_seq), new.reason)
