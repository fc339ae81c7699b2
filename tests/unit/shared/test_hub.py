"""The fan-out core: ring, cursors, bounded queues, drop accounting. Pure, no I/O."""

from __future__ import annotations

import gc

import pytest

from shared.hub import HubLimits, LogHub
from shared.model import STDOUT, Dropped, Gap, LogLine, TaskEnd, TaskStatus


def lines(n: int, start: int = 0, size: int = 10) -> list[LogLine]:
    return [LogLine(0, "t", STDOUT, f"{start + i:0{size}d}") for i in range(n)]


def drain(hub: LogHub, sub) -> list:
    """Everything the subscriber can take now, flattened into events."""
    events: list[object] = []
    while True:
        batch = hub.take(sub)
        if not batch:
            return events
        if batch.gap:
            events.append(batch.gap)
        if batch.dropped:
            events.append(batch.dropped)
        events.extend(ln.seq for ln in batch.lines)
        if batch.end:
            events.append(batch.end)


def noop() -> None:
    pass


def test_published_lines_are_numbered_from_one():
    hub = LogHub()
    batch = lines(3)
    hub.publish(batch)
    assert [ln.seq for ln in batch] == [1, 2, 3]
    assert hub.next_seq == 4


def test_new_subscriber_gets_history_then_live_without_gap_or_duplicate():
    hub = LogHub(HubLimits(history=5))
    hub.publish(lines(12))
    sub = hub.subscribe(noop)
    assert drain(hub, sub) == [8, 9, 10, 11, 12]
    hub.publish(lines(3))
    assert drain(hub, sub) == [13, 14, 15]


def test_tail_limits_the_history():
    hub = LogHub(HubLimits(history=100))
    hub.publish(lines(50))
    assert drain(hub, hub.subscribe(noop, tail=3)) == [48, 49, 50]
    assert drain(hub, hub.subscribe(noop, tail=0)) == []
    assert len(drain(hub, hub.subscribe(noop, tail=1000))) == 50


def test_resume_after_seq_continues_exactly():
    hub = LogHub(HubLimits(history=10))
    hub.publish(lines(20))
    assert drain(hub, hub.subscribe(noop, after=17)) == [18, 19, 20]


def test_resume_after_evicted_lines_announces_the_gap_first():
    hub = LogHub(HubLimits(history=10))
    hub.publish(lines(300))
    first = hub.store.first_seq
    assert first <= 291  # at least the history is kept
    assert drain(hub, hub.subscribe(noop, after=5)) == [
        Gap(6, first - 1, "evicted"),
        *range(first, 301),
    ]


def test_resume_beyond_the_newest_line_waits_for_it():
    hub = LogHub()
    hub.publish(lines(3))
    sub = hub.subscribe(noop, after=5)
    assert drain(hub, sub) == []
    hub.publish(lines(4))
    assert drain(hub, sub) == [6, 7]


def test_waiting_subscriber_is_woken_once_per_publish():
    hub = LogHub()
    woken = []
    sub = hub.subscribe(lambda: woken.append(1))
    sub.waiting = True
    hub.publish(lines(1))
    hub.publish(lines(1))  # not waiting any more: no second wake-up
    assert woken == [1]


def test_publishing_never_blocks_on_a_subscriber_that_never_reads():
    """A subscriber that never reads loses its oldest lines; the others get everything."""
    limits = HubLimits(history=100, max_lag_lines=1000)
    hub = LogHub(limits)
    stalled = hub.subscribe(noop)
    healthy = hub.subscribe(noop)
    got = []
    for i in range(100):
        hub.publish(lines(1000, start=i * 1000))
        got += drain(hub, healthy)
        assert len(hub.store) <= limits.max_lag_lines + limits.history  # bounded memory
    assert got == list(range(1, 100_001))
    events = drain(hub, stalled)
    assert events[0] == Dropped(99_000, 1, 99_000)
    assert events[1:] == list(range(99_001, 100_001))
    assert stalled.dropped + stalled.delivered == 100_000


def live_lines() -> int:
    """Line objects alive in this process (the garbage collector tracks each)."""
    gc.collect()
    return sum(type(o) is LogLine for o in gc.get_objects())


def test_a_stalled_subscriber_keeps_no_more_lines_alive_than_its_lag_limit():
    """A subscriber that stopped reading while it sends a batch (a stalled WebSocket client)
    pins at most max_lag_lines in all: the batch it holds and its window in the hub. What the
    hub forgets is freed at once, not when its lists are next compacted."""
    limits = HubLimits(history=100, max_lag_lines=10_000, batch_lines=700)
    hub = LogHub(limits)
    stalled = hub.subscribe(noop)
    before = live_lines()
    hub.publish(lines(1000))
    held = hub.take(stalled).lines  # being sent when the client stopped reading
    assert len(held) == 700
    peak = 0
    for i in range(40):
        hub.publish(lines(500, start=1000 + i * 500))
        peak = max(peak, live_lines() - before)
    assert len(hub.store) == limits.max_lag_lines - 700
    assert peak <= limits.max_lag_lines + 500  # its limit, and the batch just published
    del held
    events = drain(hub, stalled)  # the client reads again: it lost exactly the oldest lines
    assert events[0] == Dropped(11_000, 701, 11_700)  # it keeps the newest 9,300
    assert events[1:] == list(range(11_701, 21_001))


def test_a_stalled_subscriber_pins_half_its_window_as_objects_when_lagging_lines_are_packed():
    """With ``pack_lagging`` (the master's relay), the lines only a subscriber more than half
    its lag limit behind still needs are packed: a stalled viewer pins about half its window
    as line objects. When it reads again it gets exactly what it would have got unpacked:
    the same drop, then every kept line, equal to the one published."""
    limits = HubLimits(history=100, max_lag_lines=10_000, batch_lines=700)
    hub = LogHub(limits, pack_lagging=True)
    stalled = hub.subscribe(noop)
    hub.publish(lines(1000))
    before = live_lines()
    held = hub.take(stalled).lines
    peak = 0
    for i in range(40):
        hub.publish(lines(500, start=1000 + i * 500))
        peak = max(peak, live_lines() - before)
    assert len(hub.store) == limits.max_lag_lines - 700
    assert hub.store.packed_end - hub.store.first_seq >= 4000  # the older half, in whole runs
    # the batch it holds, its newer half, a run not packed yet (< 250), the batch published
    assert peak <= 700 + limits.max_lag_lines // 2 + 250 + 500
    del held
    first = hub.take(stalled)
    assert first.dropped == Dropped(11_000, 701, 11_700)
    got = first.lines
    while more := hub.take(stalled).lines:
        got += more
    expected = lines(9300, start=11_700)
    for seq, line in enumerate(expected, start=11_701):
        line.seq = seq
    assert got == expected  # equal: seq, timestamp, stream, content


def test_lagging_lines_are_not_packed_for_a_subscriber_within_half_its_lag_limit():
    """A subscriber that keeps up gets the very objects published (their cached JSON is
    shared by every viewer), even with ``pack_lagging`` and lines kept beyond the history."""
    limits = HubLimits(history=100, max_lag_lines=10_000, batch_lines=700)
    hub = LogHub(limits, pack_lagging=True)
    sub = hub.subscribe(noop)
    published: list[LogLine] = []
    taken: list[LogLine] = []
    for i in range(40):
        batch = lines(500, start=i * 500)
        published += batch
        hub.publish(batch)
        if i % 8 == 7:  # up to 4,000 lines behind: kept beyond the history of 100
            while got := hub.take(sub).lines:
                taken += got
        assert hub.store.packed_end <= hub.store.first_seq
    while got := hub.take(sub).lines:
        taken += got
    assert len(taken) == len(published)
    assert all(a is b for a, b in zip(taken, published, strict=True))


def test_drop_accounting_is_exact_under_intermittent_reads():
    hub = LogHub(HubLimits(history=10, max_lag_lines=50, batch_lines=7))
    sub = hub.subscribe(noop)
    seen: list[int] = []  # every seq, received or announced as dropped, in order
    received = dropped = published = 0
    for i in range(300):
        hub.publish(lines(i % 37))
        published += i % 37
        if i % 5 == 0 or i == 299:
            for ev in drain(hub, sub):
                if isinstance(ev, Dropped):
                    assert ev.count == ev.to_seq - ev.from_seq + 1
                    seen += range(ev.from_seq, ev.to_seq + 1)
                    dropped += ev.count
                else:
                    seen.append(ev)
                    received += 1
    assert dropped > 0
    assert received + dropped == published
    assert seen == list(range(1, published + 1))  # no gap, no duplicate, in order


def test_byte_bound_drops_oldest_lines_too():
    cost = LogLine(0, "t", STDOUT, "x" * 1000).size  # what a kept line is charged
    hub = LogHub(HubLimits(history=10, max_lag_lines=10_000, max_lag_bytes=10 * cost))
    sub = hub.subscribe(noop)
    hub.publish([LogLine(0, "t", STDOUT, "x" * 1000) for _ in range(100)])
    events = drain(hub, sub)
    assert events[0] == Dropped(90, 1, 90)
    assert events[1:] == list(range(91, 101))


def test_batches_respect_line_and_byte_limits():
    cost = LogLine(0, "t", STDOUT, "x" * 952).size
    hub = LogHub(HubLimits(batch_lines=100, batch_bytes=10 * cost))
    sub = hub.subscribe(noop)
    hub.publish([LogLine(0, "t", STDOUT, "x" * 952) for _ in range(50)])
    sizes = []
    while batch := hub.take(sub):
        sizes.append(len(batch.lines))
    assert sizes == [10, 10, 10, 10, 10]
    hub.publish([LogLine(0, "t", STDOUT, "x" * 50_000)])  # one line larger than a batch
    assert len(hub.take(sub).lines) == 1


def test_end_comes_after_the_last_line_for_every_subscriber():
    hub = LogHub()
    a, b = hub.subscribe(noop), hub.subscribe(noop)
    hub.publish(lines(3))
    end = TaskEnd(TaskStatus.FAILED, 3)
    hub.finish(end)
    assert drain(hub, a) == [1, 2, 3, end]
    assert a.ended
    late = hub.subscribe(noop)
    assert drain(hub, late) == [1, 2, 3, end]
    assert drain(hub, b) == [1, 2, 3, end]
    with pytest.raises(RuntimeError):
        hub.publish(lines(1))


def test_no_follow_ends_after_the_lines_so_far():
    hub = LogHub()
    hub.publish(lines(4))
    sub = hub.subscribe(noop, follow=False)
    hub.publish(lines(2))
    assert drain(hub, sub) == [1, 2, 3, 4]
    assert sub.ended


def test_relayed_lines_keep_their_seq_and_duplicates_are_ignored():
    hub = LogHub()
    sub = hub.subscribe(noop)
    first = lines(3)
    for i, ln in enumerate(first, start=1):
        ln.seq = i
    hub.publish_numbered(first)
    again = lines(5)
    for i, ln in enumerate(again, start=1):
        ln.seq = i
    hub.publish_numbered(again)  # 1..3 are duplicates, 4..5 new
    assert drain(hub, sub) == [1, 2, 3, 4, 5]


def test_relay_jump_is_a_gap_for_subscribers_that_miss_lines():
    hub = LogHub()
    caught_up = hub.subscribe(noop)
    numbered = lines(3)
    for i, ln in enumerate(numbered, start=1):
        ln.seq = i
    hub.publish_numbered(numbered)
    assert drain(hub, caught_up) == [1, 2, 3]
    later = lines(2)
    later[0].seq, later[1].seq = 10, 11
    hub.publish_numbered(later)
    assert drain(hub, caught_up) == [Gap(4, 9, "upstream"), 10, 11]


def test_unsubscribed_subscriber_no_longer_holds_lines():
    hub = LogHub(HubLimits(history=10, max_lag_lines=100_000))
    sub = hub.subscribe(noop)
    hub.publish(lines(5000))
    hub.unsubscribe(sub)
    hub.publish(lines(200))
    assert len(hub.store) <= 10 + hub._trim_slack


def test_relay_start_is_not_a_gap_for_history_subscribers():
    """A relay hub learns where numbering starts from its first upstream line."""
    hub = LogHub()
    history = hub.subscribe(noop)
    resuming = hub.subscribe(noop, after=10)
    upstream = lines(3)
    for i, ln in enumerate(upstream, start=500):
        ln.seq = i
    hub.publish_numbered(upstream)
    assert drain(hub, history) == [500, 501, 502]
    assert drain(hub, resuming) == [Gap(11, 499, "upstream"), 500, 501, 502]


# ---------------------------------------------------------------- with a history (the store)


def deep_hub(limits: HubLimits):
    from tests.fakes.history import MemoryHistory

    history = MemoryHistory()
    return LogHub(limits, history=history), history


def publish_kept(hub: LogHub, history, batch: list[LogLine]) -> None:
    hub.publish(batch)
    history.keep(batch)


async def collect(subscription, *, until: int | None = None) -> list:
    events: list[object] = []
    while (batch := await subscription.next_batch()) is not None:
        if batch.gap:
            events.append(batch.gap)
        if batch.dropped:
            events.append(batch.dropped)
        events.extend(ln.seq for ln in batch.lines)
        if batch.end:
            events.append(batch.end.status)
        if until is not None and events and events[-1] == until:
            break
    return events


@pytest.mark.asyncio
async def test_after_and_tail_reach_below_the_ring_from_the_history_then_join_live():
    from shared.subscription import Subscription

    hub, history = deep_hub(HubLimits(history=10, batch_lines=7))
    for _ in range(10):
        publish_kept(hub, history, lines(100))
    assert hub.store.first_seq > 900  # the hub itself keeps only the newest lines
    after = Subscription(hub, after=0)
    tail = Subscription(hub, tail=250)
    got_after = await collect(after, until=1000)
    got_tail = await collect(tail, until=1000)
    assert got_after == list(range(1, 1001))
    assert got_tail == list(range(751, 1001))
    publish_kept(hub, history, lines(3))
    hub.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    assert await collect(after) == [1001, 1002, 1003, TaskStatus.SUCCESS]
    assert history.reads > 0


@pytest.mark.asyncio
async def test_a_lossless_subscriber_is_never_dropped_and_a_live_one_is_told_exactly():
    from shared.subscription import Subscription

    hub, history = deep_hub(HubLimits(history=10, max_lag_lines=50, batch_lines=20))
    lossless = Subscription(hub, lossless=True, tail=0)
    live = Subscription(hub, tail=0)
    for _ in range(30):  # 3000 lines while neither reads
        publish_kept(hub, history, lines(100))
    hub.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    assert await collect(lossless) == [*range(1, 3001), TaskStatus.SUCCESS]
    events = await collect(live)
    assert events[0] == Dropped(2950, 1, 2950)
    assert events[1:] == [*range(2951, 3001), TaskStatus.SUCCESS]
    # the stalled lossless subscriber pinned no more lines than a live one may (its lag limit)
    assert len(hub.store) <= 50 + 64


@pytest.mark.asyncio
async def test_a_lossless_subscriber_within_the_lag_limit_reads_from_memory():
    from shared.subscription import Subscription

    hub, history = deep_hub(HubLimits(history=10, max_lag_lines=500, batch_lines=100))
    lossless = Subscription(hub, lossless=True, tail=0)
    for _ in range(4):  # 400 lines, all durable, while it does not read: within its limit
        publish_kept(hub, history, lines(100))
    hub.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    assert await collect(lossless) == [*range(1, 401), TaskStatus.SUCCESS]
    assert history.reads == 0  # (reading the store costs the worker more per line)


@pytest.mark.asyncio
async def test_lines_retention_removed_arrive_as_an_expired_gap():
    from shared.subscription import Subscription

    hub, history = deep_hub(HubLimits(history=10))
    publish_kept(hub, history, lines(100))
    history.expire_before(31)
    hub.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    events = await collect(Subscription(hub, after=0))
    assert events[0] == Gap(1, 30, "expired")
    assert events[1:] == [*range(31, 101), TaskStatus.SUCCESS]


@pytest.mark.asyncio
async def test_no_follow_from_the_history_ends_at_the_lines_published_so_far():
    from shared.subscription import Subscription

    hub, history = deep_hub(HubLimits(history=10))
    publish_kept(hub, history, lines(100))
    sub = Subscription(hub, after=5, follow=False)
    publish_kept(hub, history, lines(5))  # after the subscription: not included
    assert await collect(sub) == list(range(6, 101))


@pytest.mark.asyncio
async def test_a_relayed_hub_starting_mid_log_serves_the_start_from_the_history():
    from shared.subscription import Subscription

    hub, history = deep_hub(HubLimits(history=10))
    early = Subscription(hub, after=0)  # before the relay's first line arrives
    upstream = lines(60)
    for i, line in enumerate(upstream, start=1):
        line.seq = i
    history.keep(upstream)
    hub.publish_numbered(upstream[40:])  # the relay started with the last 20
    hub.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    assert await collect(early) == [*range(1, 61), TaskStatus.SUCCESS]


def test_the_history_is_bounded_in_bytes_too():
    hub = LogHub(HubLimits(history=1000, history_bytes=1_000_000))
    hub.publish(lines(1000, size=60_000))  # 1000 lines of 60 KB: 120 MB if all were kept
    kept = hub.store.bytes_from(hub.store.first_seq)
    assert kept <= 1_000_000 * 1.05
    assert len(drain(hub, hub.subscribe(noop))) == len(hub.store) < 20
