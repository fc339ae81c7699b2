"""The hub's line store packing the lines that sit unread (shared.ring): what is taken after
packing equals what was kept, at every offset and byte budget, and packed lines hold no line
objects. Pure, no I/O."""

from __future__ import annotations

import gc

from shared.hub import HubLimits, LogHub
from shared.model import STDERR, STDOUT, LogLine
from shared.ring import PACK_LINES, LineStore


def made(n: int, start: int = 1) -> list[LogLine]:
    out = []
    for seq in range(start, start + n):
        line = LogLine(
            0,
            f"2026-11-27T06:{seq // 60 % 60:02d}:{seq % 60:02d}.{seq:09d}Z",
            STDERR if seq % 3 == 0 else STDOUT,
            f"line {seq} " + "é" * (seq % 17),
            truncated=seq if seq % 101 == 0 else 0,
            unterminated=seq % 97 == 0,
        )
        out.append(line)
    return out


def fields(lines: list[LogLine]) -> list[tuple]:
    return [(x.seq, x.timestamp, x.stream, x.content, x.truncated, x.unterminated) for x in lines]


def filled(n: int) -> LineStore:
    store = LineStore()
    store.append(made(n))
    return store


def test_packed_lines_read_back_equal_at_every_offset_and_byte_budget() -> None:
    plain, packed = filled(1100), filled(1100)
    assert packed.pack_before(1001) == 1000  # whole runs only: 4 of 250
    assert packed.packed_end == 1001
    for seq in (1, 2, 249, 250, 251, 500, 999, 1000, 1001, 1099, 1100):
        for max_lines, max_bytes in ((1, 10**9), (7, 10**9), (300, 10**9), (2000, 5000), (50, 1)):
            assert fields(packed.get(seq, max_lines, max_bytes)) == fields(
                plain.get(seq, max_lines, max_bytes)
            ), (seq, max_lines, max_bytes)
    for n in (1, 100, 101, 1100, 5000):
        assert fields(packed.recent(n)) == fields(plain.recent(n))
    assert packed.bytes_from(300) == plain.bytes_from(300)


def test_a_short_rest_waits_and_packing_again_goes_on_from_where_it_stopped() -> None:
    store = filled(PACK_LINES + 10)
    assert store.pack_before(store.next_seq) == PACK_LINES
    assert store.pack_before(store.next_seq) == 0  # 10 lines: not a whole run
    store.append(made(PACK_LINES, start=store.next_seq))
    assert store.pack_before(store.next_seq) == PACK_LINES
    assert store.packed_end == 2 * PACK_LINES + 1
    assert [x.seq for x in store.get(1, 10**6, 10**9)] == list(range(1, 2 * PACK_LINES + 11))


def test_forgetting_drops_whole_runs_and_reads_inside_a_partly_forgotten_one() -> None:
    plain, packed = filled(1000), filled(1000)
    packed.pack_before(1001)
    for store in (plain, packed):
        store.forget_before(400)  # inside the second run
    assert packed.first_seq == 400
    assert fields(packed.get(400, 10**6, 10**9)) == fields(plain.get(400, 10**6, 10**9))
    packed.forget_before(1001)
    assert packed.get(1001, 10, 10**9) == []
    packed.append(made(5, start=1001))
    assert [x.seq for x in packed.get(1001, 10, 10**9)] == [1001, 1002, 1003, 1004, 1005]


def test_a_restart_forgets_the_packed_runs() -> None:
    store = filled(600)
    store.pack_before(601)
    store.restart_at(5000)
    store.append(made(3, start=5000))
    assert [x.seq for x in store.recent(10)] == [5000, 5001, 5002]
    assert store.packed_end == 5000


def live_lines() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, LogLine))


def test_packed_lines_hold_no_line_objects() -> None:
    store = LineStore()
    before = live_lines()
    store.append(made(1000))
    assert live_lines() - before == 1000
    store.pack_before(1001)
    assert live_lines() - before == 0


def test_the_hub_packs_only_lines_kept_since_its_last_call_and_taken_by_every_subscriber() -> None:
    hub = LogHub(HubLimits(history=1000))
    reader, idle = hub.subscribe(lambda: None), hub.subscribe(lambda: None)
    hub.publish(made(1000))
    assert hub.pack_unread() == 0  # nothing was there at the last call
    hub.take(reader)
    assert hub.pack_unread() == 0  # `idle` has taken nothing: its lines stay objects
    idle.cursor = 501  # (as if it had taken 500)
    assert hub.pack_unread() == 500
    hub.publish(made(600, start=1001))  # a burst, taken by both before the next call
    hub.take(reader)
    hub.take(idle)
    assert hub.pack_unread() == 500  # 501-1000: there at the last call; the burst waits
    assert hub.store.packed_end == 1001
    late = hub.subscribe(lambda: None, tail=1000)  # a new subscriber gets the ring as it was
    assert [x.seq for x in hub.take(late).lines] == list(range(601, 1601))
