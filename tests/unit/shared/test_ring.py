"""The hub's line store packing lines (shared.ring): the lines that sit unread, and the lines
every subscriber took, in the encodings the worker's store made of them. What is taken after
packing equals what was kept, at every offset and byte budget, and packed lines hold no line
objects. Pure, no I/O."""

from __future__ import annotations

import gc

from shared.compression import compress
from shared.convert import encode_run
from shared.hub import HubLimits, LogHub
from shared.model import STDERR, STDOUT, LogLine
from shared.ring import PACK_LINES, WAITING_BYTES, LineStore


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


def reads_equal(
    store: LineStore, plain: LineStore, seqs: tuple[int, ...], budgets: tuple[tuple[int, int], ...]
) -> None:
    """``store`` gives what ``plain`` (the same lines, kept as objects) does from each of
    ``seqs`` for each ``(max_lines, max_bytes)`` of ``budgets``."""
    for seq in seqs:
        for max_lines, max_bytes in budgets:
            assert fields(store.get(seq, max_lines, max_bytes)) == fields(
                plain.get(seq, max_lines, max_bytes)
            ), (seq, max_lines, max_bytes)


def filled(n: int) -> LineStore:
    store = LineStore()
    store.append(made(n))
    return store


def test_packed_lines_read_back_equal_at_every_offset_and_byte_budget() -> None:
    plain, packed = filled(1100), filled(1100)
    assert packed.pack_before(1001) == 1000  # whole runs only: 4 of 250
    assert packed.packed_end == 1001
    reads_equal(
        packed,
        plain,
        (1, 2, 249, 250, 251, 500, 999, 1000, 1001, 1099, 1100),
        ((1, 10**9), (7, 10**9), (300, 10**9), (2000, 5000), (50, 1)),
    )
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


def made_plain(n: int, *, truncated: tuple[int, ...] = ()) -> list[LogLine]:
    """:func:`made`'s lines with no flag, but for these seqs truncated."""
    lines = made(n)
    for line in lines:
        line.truncated = 7 if line.seq in truncated else 0
        line.unterminated = False
    return lines


def encoded_as_the_store_does(lines: list[LogLine], runs: list[int]) -> None:
    """Give ``lines`` (numbered) runs of these sizes with their encoding on the first line of
    each, as the worker's store leaves them (LogLine.packed); lines with a flag get none."""
    i = 0
    for size in runs:
        part = lines[i : i + size]
        data, plain = encode_run(part)
        if plain:
            part[0].packed = (size, data)
        i += size


def test_adopting_takes_the_encodings_made_encodes_what_lies_between_and_reads_back_equal() -> None:
    store = LineStore()
    lines = made_plain(700, truncated=(303,))
    plain = LineStore()
    plain.append(made_plain(700, truncated=(303,)))
    store.append(lines)
    encoded_as_the_store_does(lines, [300, 3, 97, 1, 99, 150, 50])  # line 303 is truncated
    first_run = lines[0].packed
    assert first_run is not None
    assert store.adopt_before(651) == 650  # the run of 651-700 ends past 651: it waits
    assert store.packed_end == 651
    assert store._packs[0][2] is first_run[1]  # the store's bytes, not a new encoding
    reads_equal(
        store,
        plain,
        (1, 300, 301, 303, 304, 401, 650, 651, 700),
        ((1, 10**9), (120, 10**9), (2000, 4000)),
    )
    assert store.adopt_before(701) == 50


def test_adopting_stops_where_no_encoding_follows() -> None:
    store = filled(500)  # published without a store: no line has an encoding
    assert store.adopt_before(501) == 0
    assert store.packed_end == 1


def test_adopted_lines_hold_no_line_objects() -> None:
    store = LineStore()
    before = live_lines()
    lines = made_plain(1000)
    store.append(lines)
    encoded_as_the_store_does(lines, [500] * 2)
    del lines
    store.adopt_before(1001)
    assert live_lines() - before == 0


def trickled(n: int) -> tuple[LineStore, LineStore]:
    """``n`` lines kept as objects, and the same lines adopted as a trickling task's are: a
    run per line, each in the encoding the store made of it."""
    plain, store = LineStore(), LineStore()
    plain.append(made_plain(n))
    lines = made_plain(n)
    store.append(lines)
    for i in range(n):
        encoded_as_the_store_does(lines[i : i + 1], [1])
        store.adopt_before(i + 2)
    return plain, store


def test_short_runs_are_joined_into_runs_of_at_most_pack_lines_and_read_back_equal() -> None:
    plain, store = trickled(600)
    assert len(store._packs) == 600
    assert store.join_runs() == 3  # 250 + 250 + 100
    assert [run[1] for run in store._packs] == [PACK_LINES, PACK_LINES, 100]
    assert fields(store.get(1, 10**6, 10**9)) == fields(plain.get(1, 10**6, 10**9))
    assert fields(store.recent(333)) == fields(plain.recent(333))


def test_the_hub_packs_what_every_subscriber_has_taken_in_the_encodings_made() -> None:
    hub = LogHub(HubLimits(history=1000))
    fast, slow = hub.subscribe(lambda: None), hub.subscribe(lambda: None)
    lines = made_plain(600)
    hub.publish(lines)
    encoded_as_the_store_does(lines, [200, 200, 200])
    hub.take(fast)
    assert hub.pack_taken() == 0  # `slow` took nothing yet
    slow.cursor = 401  # (as if it had taken 400)
    assert hub.pack_taken() == 400
    hub.take(slow)
    assert hub.pack_taken() == 200
    late = hub.subscribe(lambda: None, tail=1000)
    expected = LineStore()
    expected.append(made_plain(600))
    assert fields(hub.take(late).lines) == fields(expected.get(1, 10**6, 10**9))


def test_a_batch_cut_by_its_limits_ends_before_the_run_it_would_split() -> None:
    """The worker's hub (pack_sent): its stream sends each whole run as the store's bytes."""
    hub = LogHub(HubLimits(history=1000, batch_lines=600), pack_sent=True)
    reader = hub.subscribe(lambda: None)
    lines = made_plain(1500)
    hub.publish(lines)
    encoded_as_the_store_does(lines, [500, 400, 100, 500])
    batches = [hub.take(reader).lines for _ in range(3)]
    assert [len(b) for b in batches] == [500, 500, 500]  # 500 | 400 + 100 | 500, not 600 ...
    assert all(b[0].packed is not None for b in batches)  # each starts with a whole run
    unpacked = LogHub(HubLimits(history=1000, batch_lines=600))  # the master's relay
    reader = unpacked.subscribe(lambda: None)
    unpacked.publish(made_plain(1500))
    assert [len(unpacked.take(reader).lines) for _ in range(3)] == [600, 600, 300]


def packed_bytes(store: LineStore) -> int:
    return sum(len(run[2]) for run in store._packs)


def test_compressed_runs_read_back_equal_at_every_offset_and_byte_budget() -> None:
    plain, store = filled(1100), filled(1100)
    store.pack_before(1001)
    encoded = packed_bytes(store)
    assert store.compress_before(600) == 500  # the runs that end before it: 1-250, 251-500
    assert store.compress_before(1001) == 500  # and the next two
    assert store.compress_before(1001) == 0
    assert packed_bytes(store) < encoded / 2
    reads_equal(
        store,
        plain,
        (1, 2, 249, 250, 251, 500, 999, 1000, 1001, 1099, 1100),
        ((1, 10**9), (7, 10**9), (300, 10**9), (2000, 5000), (50, 1)),
    )
    for store_ in (plain, store):
        store_.forget_before(400)
    assert fields(store.recent(10**6)) == fields(plain.recent(10**6))


def test_compressed_runs_are_not_joined_and_what_follows_them_still_is() -> None:
    plain, store = trickled(600)
    assert store.compress_before(101) == 100  # the first 100 went quiet
    assert store.join_runs() == 100 + 2  # those stay as they are; the 500 after: 250 + 250
    assert fields(store.get(1, 10**6, 10**9)) == fields(plain.get(1, 10**6, 10**9))
    assert fields(store.recent(333)) == fields(plain.recent(333))


def test_the_hub_compresses_the_runs_that_stayed_quiet_between_two_calls() -> None:
    hub = LogHub(HubLimits(history=1000))
    reader = hub.subscribe(lambda: None)
    hub.publish(made(1000))
    hub.take(reader)
    hub.pack_unread()  # marks what is there
    assert hub.pack_unread() == 1000
    assert all(run[3] for run in hub.store._packs)  # packed and compressed
    late = hub.subscribe(lambda: None, tail=1000)
    expected = made(1000)
    for seq, line in enumerate(expected, start=1):
        line.seq = seq  # (as the hub numbered them)
    assert fields(hub.take(late).lines) == fields(expected)


def published(runs: list[int]) -> tuple[LineStore, LineStore, list[LogLine]]:
    """The lines of these published batches kept as objects, and the same lines kept with the
    encoding the worker's store made of each batch (on its first line); those lines."""
    n = sum(runs)
    plain, store = LineStore(), LineStore()
    plain.append(made_plain(n))
    lines = made_plain(n)
    store.append(lines)
    encoded_as_the_store_does(lines, runs)
    return plain, store, lines


def test_a_chunk_the_store_wrote_replaces_the_runs_that_hold_exactly_its_lines() -> None:
    plain, store, _ = published([120, 380, 300, 200])  # in the store's chunks of 500
    store.adopt_before(801)  # the last 200 not taken yet
    small = compress(store._packs[0][2])  # lines 1-120: a chunk too small to keep
    assert store.adopt_compressed(1, 120, small) == 0
    chunk = compress(b"".join(run[2] for run in store._packs[:2]))  # lines 1-500, as written
    assert store.adopt_compressed(1, 499, chunk) == 0  # not the runs' end
    assert store.adopt_compressed(2, 500, chunk) == 0  # not a run's start
    assert store.adopt_compressed(1, 500, chunk) == 500
    assert store._packs[0] == (1, 500, chunk, True) and len(store._packs) == 2
    assert store.adopt_compressed(1, 500, chunk) == 0  # (once)
    later = compress(store._packs[1][2])
    assert store.adopt_compressed(501, 300, later) == 300
    reads_equal(
        store,
        plain,
        (1, 2, 120, 121, 499, 500, 501, 800, 801, 1000),
        ((1, 10**9), (300, 10**9), (2000, 5000)),
    )
    for store_ in (plain, store):
        store_.forget_before(450)  # inside the first chunk
    assert fields(store.recent(10**6)) == fields(plain.recent(10**6))
    assert store.join_runs() == 2  # compressed runs stay as they are


def test_a_chunk_written_before_its_lines_were_taken_waits_until_they_are_packed() -> None:
    plain, store, lines = published([250] * 4 + [200])
    chunks = [
        compress(b"".join(run[2] for run in encoded_runs(lines[i : i + n])))
        for i, n in ((0, 500), (500, 500), (1000, 200))
    ]
    store.adopt_before(251)  # a subscriber took 250 when the first two chunks were written
    assert store.adopt_compressed(1, 500, chunks[0]) == 0  # waits
    assert store.adopt_compressed(501, 500, chunks[1]) == 0
    assert [run[3] for run in store._packs] == [False]
    assert store.adopt_before(751) == 500  # 251-750: the first chunk's lines are all packed
    assert [run[:2] for run in store._packs] == [(1, 500), (501, 250)]
    assert store._packs[0][2] is chunks[0] and store._packs[0][3]
    assert store.adopt_compressed(1001, 200, chunks[2]) == 0  # waits after the second
    assert store.pack_before(1201) == 250  # (the packer) 751-1000, a run of its own
    assert store._packs[1] == (501, 500, chunks[1], True)
    assert store.adopt_before(1201) == 200
    assert store._packs[2] == (1001, 200, chunks[2], True) and len(store._packs) == 3
    reads_equal(store, plain, (1, 500, 501, 1000, 1001, 1200), ((1, 10**9), (2000, 5000)))


def encoded_runs(lines: list[LogLine]) -> list[tuple[int, int, bytes, bool]]:
    """The runs adopt_before makes of ``lines`` (each with LogLine.packed where a run starts)."""
    store = LineStore(lines[0].seq)
    store.append(lines, numbered=True)
    store.adopt_before(store.next_seq)
    return store._packs


def test_few_chunks_wait_and_none_outlives_its_lines() -> None:
    store = LineStore()
    lines = made_plain(4000)
    store.append(lines)
    encoded_as_the_store_does(lines, [250] * 16)
    size = WAITING_BYTES // 3
    for first in range(1, 4000, 500):  # a subscriber lags 4,000 lines: 8 chunks written
        assert store.adopt_compressed(first, 500, bytes(size)) == 0
    assert [w[0] for w in store._waiting] == [1, 501, 1001]  # then no more room
    store.forget_before(1001)  # the lagging subscriber was dropped: 1-1000 forgotten
    assert [w[0] for w in store._waiting] == [1001]
    assert store.adopt_compressed(1501, 500, bytes(size)) == 0
    assert [w[0] for w in store._waiting] == [1001, 1501]
    store.restart_at(5000)
    assert store._waiting == []


def test_a_trickling_tasks_small_chunks_are_left_to_be_joined_then_compressed() -> None:
    plain, store = trickled(600)  # a run per line: the store wrote a chunk per line
    for run in list(store._packs):
        assert store.adopt_compressed(run[0], run[1], compress(run[2])) == 0
    assert store.join_runs() == 3  # 250 + 250 + 100
    assert store.compress_before(601) == 600
    assert fields(store.get(1, 10**6, 10**9)) == fields(plain.get(1, 10**6, 10**9))


def test_a_chunk_may_begin_before_the_oldest_run_the_ring_still_keeps() -> None:
    plain, store = trickled(600)  # a run per line
    for store_ in (plain, store):
        store_.forget_before(201)
    assert store.adopt_compressed(1, 200, compress(b"")) == 0  # only lines the ring forgot
    chunk = compress(encode_run(made_plain(500))[0])  # lines 1-500, as written
    assert store.adopt_compressed(1, 500, chunk) == 500
    assert store._packs[0][:2] == (1, 500) and len(store._packs) == 101
    assert fields(store.get(201, 10**6, 10**9)) == fields(plain.get(201, 10**6, 10**9))
