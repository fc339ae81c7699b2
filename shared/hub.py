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

**With a history** (a :class:`History`: the worker's durable store, or the master relay's
window on it), the hub is only the hot tier. ``tail=N`` and ``after=N`` reach any depth: a
subscriber positioned before the oldest kept line is *catching up* and reads from the history
(:meth:`history_span` says which lines, :meth:`deliver_history` hands them over; the asyncio
face does the awaiting), then joins the live lines with no gap and no duplicate. A
**lossless** subscriber is never dropped: when it falls out of the kept window it catches up
from the history again, so what it costs is a cursor, not a copy. The history has every line
as soon as it is published (the worker's store reads the lines it has not written yet from its
queue), so the hub keeps only what its limits say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.model import Batch, ConnectionState, Dropped, Gap, LogLine, TaskEnd
from shared.ring import LineStore


@dataclass(frozen=True, slots=True)
class HubLimits:
    """How much a hub keeps.

    ``history``: lines a new subscriber gets by default (the ring buffer, 1000), kept in
    memory, but at most ``history_bytes`` of them (accounted as :attr:`LogLine.size`: 1000
    lines of 64 KiB would otherwise pin 130 MB per task).
    ``max_lag_lines`` / ``max_lag_bytes``: a subscriber's queue bound; beyond it, it loses
    its oldest lines. ``batch_lines`` / ``batch_bytes``: the most one batch carries.
    """

    history: int = 1000
    history_bytes: int = 8 * 1024 * 1024
    max_lag_lines: int = 10_000
    max_lag_bytes: int = 8 * 1024 * 1024
    batch_lines: int = 2000
    batch_bytes: int = 512 * 1024

    def __post_init__(self) -> None:
        if self.history < 0 or self.history_bytes < 1:
            raise ValueError("hub limits must be positive")
        if self.max_lag_lines < 1 or self.max_lag_bytes < 1:
            raise ValueError("hub limits must be positive")
        if self.batch_lines < 1 or self.batch_bytes < 1:
            raise ValueError("batch limits must be positive")


class History(Protocol):
    """A task's older lines, beyond what the hub keeps in memory."""

    async def read(self, after: int, before: int, max_lines: int, max_bytes: int) -> Batch:
        """Lines ``after + 1 .. before - 1`` in order: at most ``max_lines``, and at most
        ``max_bytes`` unless the first line alone is larger. Lines that cannot be had any more
        come first as a :class:`Gap` (reason ``expired``, ``not stored``, ...); an answer with
        neither lines nor gap means none of them can be had."""
        ...


class Subscriber:
    """One subscriber's position in a hub. Create with :meth:`LogHub.subscribe`."""

    __slots__ = (
        "catching_up",
        "cursor",
        "delivered",
        "dropped",
        "ended",
        "explicit",
        "gap",
        "held_bytes",
        "held_lines",
        "lossless",
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
        self.lossless = False  # never dropped: falls back to the history instead
        self.catching_up = False  # reading older lines from the history, at its own pace
        # the last batch handed out, still held by the consumer while it sends it (a stalled
        # client's is stuck in its socket): counted in its lag limits with what the hub keeps
        self.held_lines = 0
        self.held_bytes = 0


class LogHub:
    """Fan-out of one task's lines to any number of subscribers (see the module docstring)."""

    def __init__(
        self,
        limits: HubLimits | None = None,
        *,
        history: History | None = None,
        first_seq: int = 1,
        pack_sent: bool = False,
        pack_lagging: bool = False,
    ) -> None:
        """``history``: where older lines are read (none: the hub has only what it keeps),
        every published line included. ``first_seq``: the seq of the first line this hub
        will hold (the history has the ones before). ``pack_sent``: after each batch a
        subscriber takes, :meth:`pack_taken` (for hubs with few subscribers: the worker's).
        ``pack_lagging``: the lines kept only for subscribers more than half their lag limit
        behind are packed (see :meth:`_trim`; the master's relay: its clients are viewers)."""
        self.pack_sent = pack_sent
        self.pack_lagging = pack_lagging
        self.limits = limits or HubLimits()
        self.history = history
        self.store = LineStore(first_seq)
        self.history_first = 1  # the oldest seq the history may still have
        self.end: TaskEnd | None = None
        self.state: ConnectionState | None = None
        self._subscribers: set[Subscriber] = set()
        self._trim_slack = max(32, self.limits.history // 32)  # lines kept beyond the history
        self._trim_slack_bytes = self.limits.history_bytes // 32
        self._pack_mark = first_seq  # next_seq at the last pack_unread

    # ------------------------------------------------------------------ publishing

    def pack_unread(self) -> int:
        """Pack the kept lines that were already kept at the previous call and that every
        subscriber has taken (see :mod:`shared.ring`): a quiet task's ring, not a burst's
        lines, which are taken and forgotten between two calls; and compress those runs.
        Call it now and then (the worker does, every few seconds); the number of lines
        packed."""
        until = self._taken_before(self._pack_mark)
        self._pack_mark = self.store.next_seq
        packed = self.store.pack_before(until)
        self.store.join_runs()  # (those :meth:`pack_taken` left: a run per published batch)
        self.store.compress_before(until)
        return packed

    def pack_taken(self) -> int:
        """Pack the kept lines every subscriber has taken, in the encodings already made of
        them (:meth:`LineStore.adopt_before`: the worker's store encodes each published
        batch): a burst's lines then cost the ring their encoding, not their objects, from
        the moment they were sent. Called after each take with ``pack_sent``, and by the
        worker after storing each batch (its subscribers may have taken it before); the
        number of lines packed."""
        return self.store.adopt_before(self._taken_before(self.store.next_seq))

    def _taken_before(self, seq: int) -> int:
        """``seq``, or the oldest line a subscriber has not taken if that is older."""
        for sub in self._subscribers:
            seq = min(seq, sub.cursor)
        return seq

    @property
    def next_seq(self) -> int:
        """The seq the next published line will get."""
        return self.store.next_seq

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)

    def lags(self) -> list[tuple[bool, int]]:
        """``(lossless, lines behind the newest)`` of each open subscription (for metrics)."""
        newest = self.store.next_seq
        return [(s.lossless, max(0, newest - s.cursor)) for s in self._subscribers]

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
        """Lines before ``seq`` that the hub lacks will never come (or, with a history, are
        only there).

        With a history, subscribers still waiting for them catch up from it, which says
        what it cannot give. Without:

        Every subscriber that has not read up to ``seq`` gets one :class:`Gap` from its cursor
        to ``seq - 1`` and continues at ``seq``; the store restarts there (it holds no holes).
        Before the hub's first line, this only says where numbering starts: subscribers that
        asked for "the history" simply start there, only ``after=N`` subscribers hear of a gap.
        """
        if seq <= self.store.next_seq:
            return
        first_line = self.store.total_bytes == 0
        for sub in self._subscribers:
            if sub.cursor < seq and self.history is not None:
                sub.catching_up = True
            elif sub.cursor < seq:
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
        if self._over_history():
            self._trim()
        self._wake_all()

    def _over_history(self) -> bool:
        store = self.store
        limits = self.limits
        return (
            len(store) > limits.history + self._trim_slack
            or store.bytes_from(store.first_seq) > limits.history_bytes + self._trim_slack_bytes
        )

    def _wake_all(self) -> None:
        for sub in self._subscribers:
            if sub.waiting:
                sub.waiting = False
                sub.waker()

    def _trim(self) -> None:
        """Forget lines no new subscriber gets and no subscriber can still read.

        With ``pack_lagging``, pack (:meth:`LineStore.pack_before`) the kept lines that are
        older than both the history (what a new subscriber gets) and half a subscriber's lag
        limit: only a subscriber that has stopped reading, or reads at half the rate lines
        come, still needs them, and it decodes them when it takes them (~0.7 us a line),
        while a line kept as objects costs a viewer's master ~4x its text (its cached JSON
        form, its timestamp; bench 6). A stalled viewer then pins about half its window as
        objects, not all of it."""
        store = self.store
        limits = self.limits
        keep_from = history_from = max(
            store.next_seq - limits.history, store.first_seq_within(limits.history_bytes)
        )
        # a lossless subscriber keeps its lines in memory as a live one does, within the same
        # lag limits (reading them from the history instead costs the worker several times
        # more per line: measured in a burst, bench 5s); beyond them it reads the history
        oldest = store.next_seq
        held_lines = held_bytes = 0
        live = False
        for sub in self._subscribers:
            if not sub.catching_up:
                live = True
                oldest = min(oldest, sub.cursor)
                held_lines = max(held_lines, sub.held_lines)
                held_bytes = max(held_bytes, sub.held_bytes)
        if live:
            oldest_readable = max(
                store.next_seq - _lag(limits.max_lag_lines, held_lines),
                store.first_seq_within(_lag(limits.max_lag_bytes, held_bytes)),
            )
            keep_from = min(keep_from, max(oldest, oldest_readable))
        store.forget_before(keep_from)
        if self.pack_lagging and keep_from < history_from:
            half_lag = max(
                store.next_seq - limits.max_lag_lines // 2,
                store.first_seq_within(limits.max_lag_bytes // 2),
            )
            store.pack_before(min(history_from, half_lag))

    # ------------------------------------------------------------------ subscribing

    def subscribe(
        self,
        waker: Callable[[], None],
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
    ) -> Subscriber:
        """Open a subscription.

        By default it starts with the last ``history`` lines; ``tail=N`` asks for at most N
        of them; ``after=N`` resumes with line N + 1 (a :class:`Gap` first if some lines after
        N are gone). Then live lines follow, with no gap and no duplicate at the seam. With
        ``follow=False`` it ends after the lines published so far. With a history, ``tail``
        and ``after`` reach any depth, and a ``lossless`` subscriber is never dropped.
        """
        store = self.store
        deep = self.history is not None
        if after is not None:
            if after < 0:
                raise ValueError("after must be >= 0")
            cursor = after + 1
            gap = None
            if cursor < store.first_seq and not deep:
                gap = Gap(cursor, store.first_seq - 1, "evicted")
                cursor = store.first_seq
        else:
            n = self.limits.history if tail is None else tail
            if n < 0:
                raise ValueError("tail must be >= 0")
            if not deep:
                n = min(n, self.limits.history)
            oldest = self.history_first if deep else store.first_seq
            cursor = max(oldest, store.next_seq - n)
            gap = None
        sub = Subscriber(cursor, waker)
        sub.gap = gap
        sub.explicit = after is not None
        sub.lossless = lossless and deep
        sub.catching_up = deep and cursor < store.first_seq
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
        self._state_notice(sub, batch)
        if sub.gap is not None:
            batch.gap = sub.gap
            sub.gap = None
        newest = store.next_seq
        cursor = sub.cursor
        if cursor >= store.first_seq:
            sub.catching_up = False
        if cursor < newest:
            if sub.lossless or sub.catching_up:
                if cursor < store.first_seq:  # the caller reads the history (history_span)
                    return batch
            else:
                lag_bytes = _lag(limits.max_lag_bytes, sub.held_bytes)
                oldest_allowed = max(
                    store.first_seq,
                    newest - _lag(limits.max_lag_lines, sub.held_lines),
                    store.first_seq_within(lag_bytes)
                    if store.bytes_from(cursor) > lag_bytes
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
                if self.pack_sent and cursor + len(lines) < stop:
                    lines = _before_cut_run(lines)
                batch.lines = lines
                cursor += len(lines)
                sub.delivered += len(lines)
            sub.cursor = cursor
        # what it holds from now until its next take: this batch (none when it is empty)
        sub.held_lines = len(batch.lines)
        sub.held_bytes = store.bytes_from(cursor - len(batch.lines)) - store.bytes_from(cursor)
        self._maybe_end(sub, batch)
        if self.pack_sent and batch.lines:
            self.pack_taken()
        return batch

    def _state_notice(self, sub: Subscriber, batch: Batch) -> None:
        if self.state is not None and sub.state_seen is not self.state:
            sub.state_seen = self.state
            if self.state is not ConnectionState.FINISHED:
                batch.state = self.state

    def _maybe_end(self, sub: Subscriber, batch: Batch) -> None:
        cursor = sub.cursor
        newest = self.store.next_seq
        if sub.stop_at is not None and cursor >= sub.stop_at:
            sub.ended = True
            if self.end is not None and sub.stop_at >= newest:
                batch.end = self.end
        elif self.end is not None and cursor >= newest:
            batch.end = self.end
            sub.ended = True

    def read_kept(self, after: int, before: int, max_lines: int, max_bytes: int) -> Batch:
        """Lines ``after + 1 .. before - 1`` (``before`` 0: up to the newest) from what the hub
        keeps in memory: a :class:`Gap` (``evicted``) first for those it no longer has."""
        store = self.store
        batch = Batch()
        start = after + 1
        end = store.next_seq if before <= 0 else min(before, store.next_seq)
        if start < store.first_seq:
            batch.gap = Gap(start, min(store.first_seq, end) - 1, "evicted")
            start = store.first_seq
        if start < end:
            batch.lines = store.get(start, min(max_lines, end - start), max_bytes)
        return batch

    # ------------------------------------------------------------------ history

    def history_span(self, sub: Subscriber) -> tuple[int, int] | None:
        """``(after, before)``: the lines ``sub`` must read from the history next (all of
        ``after + 1 .. before - 1``), or None when the hub itself has its next lines."""
        if self.history is None or sub.ended or not (sub.lossless or sub.catching_up):
            return None
        first = self.store.first_seq
        if sub.cursor >= first:
            return None
        before = first if sub.stop_at is None else min(first, sub.stop_at)
        if sub.cursor >= before:
            return None
        return sub.cursor - 1, before

    def deliver_history(self, sub: Subscriber, read: Batch, before: int) -> Batch:
        """The batch ``sub`` gets for what the history answered for ``history_span``:
        pending notices first, then ``read``'s gap and lines. A history that had nothing
        for the span is a gap (``not stored``) up to ``before - 1``."""
        batch = Batch()
        self._state_notice(sub, batch)
        gap = sub.gap
        sub.gap = None
        lines = [ln for ln in read.lines if sub.cursor <= ln.seq < before]
        if read.gap is not None and read.gap.to_seq >= sub.cursor:
            to_seq = min(read.gap.to_seq, before - 1)
            gap = _merge_gap(gap, Gap(sub.cursor, to_seq, read.gap.reason))
            sub.cursor = to_seq + 1
        if lines and lines[0].seq > sub.cursor:
            gap = _merge_gap(gap, Gap(sub.cursor, lines[0].seq - 1, "not stored"))
        elif not lines and read.gap is None:
            gap = _merge_gap(gap, Gap(sub.cursor, before - 1, "not stored"))
            sub.cursor = before
        if lines:
            sub.cursor = lines[-1].seq + 1
            sub.delivered += len(lines)
        batch.gap = gap
        batch.lines = lines
        self._maybe_end(sub, batch)
        return batch


def _merge_gap(old: Gap | None, new: Gap) -> Gap:
    if old is None:
        return new
    return Gap(min(old.from_seq, new.from_seq), max(old.to_seq, new.to_seq), new.reason)


def _before_cut_run(lines: list[LogLine]) -> list[LogLine]:
    """``lines`` (a batch cut by its limits) without the run of lines the cut splits, if it
    is not the first: the worker's stream sends a run that carries its encoding
    (:attr:`LogLine.packed`) as those bytes, and would encode the lines of a split one
    again, in both batches (:func:`shared.convert.batch_to_wire`). The next batch starts
    with that run."""
    for k in range(len(lines) - 1, 0, -1):
        packed = lines[k].packed
        if packed is not None:
            return lines[:k] if k + packed[0] > len(lines) else lines
    return lines


def _lag(limit: int, held: int) -> int:
    """How far behind a subscriber holding ``held`` (lines or bytes) of its last batch may fall
    in the hub: its lag limit counts both (at least one line's worth)."""
    return max(1, limit - held)
