"""Model <-> protobuf: lossless, and no message near gRPC's 4 MiB receive limit."""

from __future__ import annotations

import itertools

import pytest

from shared.convert import (
    batch_from_pb,
    batch_to_pb,
    filter_from_pb,
    filter_to_pb,
    worker_from_pb,
    worker_to_pb,
)
from shared.errors import InvalidRequest
from shared.levels import Level
from shared.linefilter import LineFilter
from shared.model import (
    STDERR,
    STDOUT,
    Batch,
    ConnectionState,
    Dropped,
    Gap,
    LogLine,
    TaskEnd,
    TaskStatus,
    WorkerSummary,
)
from shared.protos import logcast_pb2 as pb


def test_batch_round_trips():
    batch = Batch(
        lines=[
            LogLine(5, "2026-11-22T19:41:43.606115068Z", STDOUT, "a"),
            LogLine(
                6, "2026-11-22T19:41:43.7Z", STDERR, "b\x1b[31m", truncated=7, unterminated=True
            ),
        ],
        gap=Gap(1, 2, "evicted"),
        dropped=Dropped(2, 3, 4),
        end=TaskEnd(TaskStatus.FAILED, 3, "boom"),
        state=ConnectionState.RECONNECTING,
    )
    (msg,) = list(batch_to_pb(batch))
    assert batch_from_pb(msg) == batch


def test_huge_batches_are_cut_into_messages_far_below_4_mib():
    # worst case: every char a U+FFFD (3 bytes in UTF-8), lines at a 256 KiB cap
    lines = [LogLine(i, "t", STDOUT, "\ufffd" * 256 * 1024) for i in range(1, 41)]
    msgs = list(batch_to_pb(Batch(lines=lines, end=TaskEnd(TaskStatus.SUCCESS, 0))))
    assert max(m.ByteSize() for m in msgs) < 2 * 1024 * 1024
    back = [batch_from_pb(m) for m in msgs]
    assert [ln.seq for b in back for ln in b.lines] == list(range(1, 41))
    assert [b.end for b in back] == [None] * (len(back) - 1) + [TaskEnd(TaskStatus.SUCCESS, 0)]


def test_empty_batch_with_only_an_end_is_one_message():
    (msg,) = list(batch_to_pb(Batch(end=TaskEnd(TaskStatus.CANCELLED, 137))))
    assert batch_from_pb(msg).end == TaskEnd(TaskStatus.CANCELLED, 137)


def test_stored_chunks_decode_exactly_and_only_the_lines_asked_for():
    from shared.convert import decode_stored, encode_stored
    from shared.model import STDERR, STDOUT, LogLine

    lines = [
        LogLine(100 + i, f"2026-11-22T19:41:43.{i:09d}Z", STDERR if i % 2 else STDOUT, f"l{i}")
        for i in range(10)
    ]
    lines[3].truncated = 77
    lines[9].unterminated = True
    data = encode_stored(lines)
    assert decode_stored(data, 100) == lines
    assert decode_stored(data, 100, 3, 5) == lines[3:5]
    assert decode_stored(data, 100, 8) == lines[8:]
    # runs encoded apart and joined decode as one chunk, flags on the right lines
    for cut in (1, 3, 4, 9):
        joined = encode_stored(lines[:cut]) + encode_stored(lines[cut:])
        assert decode_stored(joined, 100) == lines
        assert decode_stored(joined, 100, 2, 4) == lines[2:4]


def test_worker_summaries_round_trip_with_and_without_a_clock_skew():
    for skew in (None, 0.0, -0.125):
        summary = WorkerSummary("w1", "127.0.0.1:1", True, 3, 1000.5, clock_skew=skew)
        assert worker_from_pb(worker_to_pb(summary)) == summary


def test_a_filtered_batch_keeps_each_lines_own_seq():
    sparse = Batch(
        lines=[
            LogLine(3, "t", STDOUT, "a"),
            LogLine(40, "t", STDERR, "b"),
            LogLine(41, "t", STDOUT, "c"),
        ]
    )
    (msg,) = batch_to_pb(sparse)
    assert list(msg.seqs) == [3, 40, 41]
    assert batch_from_pb(msg).lines == sparse.lines
    (consecutive,) = batch_to_pb(Batch(lines=sparse.lines[1:]))
    assert not consecutive.seqs  # consecutive lines: first_seq + i, as before


def test_malformed_seqs_are_refused():
    msg = pb.LogBatch(
        seqs=[5, 4], timestamps=["t", "t"], streams=[pb.STDOUT, pb.STDOUT], contents=["a", "b"]
    )
    with pytest.raises(ValueError, match="ascending"):
        batch_from_pb(msg)
    msg = pb.LogBatch(
        seqs=[5], timestamps=["t", "t"], streams=[pb.STDOUT, pb.STDOUT], contents=["a", "b"]
    )
    with pytest.raises(ValueError, match="one per line"):
        batch_from_pb(msg)


def test_filters_round_trip_and_bad_ones_are_refused():
    for f in (
        LineFilter(),
        LineFilter(pattern="x", regex=True, ignore_case=True),
        LineFilter(stream=STDERR, min_level=Level.WARN),
    ):
        assert filter_from_pb(filter_to_pb(f)) == f
    with pytest.raises(InvalidRequest):
        filter_from_pb(pb.LineFilter(min_level="loud"))
    with pytest.raises(InvalidRequest, match="stream"):
        filter_from_pb(pb.LineFilter(stream=7))  # type: ignore[arg-type]


# ------------------------------------------------ a run's stored encoding, sent as it is


def _published(n: int, first: int = 1, flags: bool = False) -> list[LogLine]:
    lines = [
        LogLine(first + i, f"2026-11-26T10:00:00.{i:09d}Z", STDERR if i % 3 else STDOUT, f"l{i}")
        for i in range(n)
    ]
    if flags:
        lines[4].truncated = 9
        lines[-1].unterminated = True
    return lines


def _pack(lines: list[LogLine], *cuts: int) -> None:
    """Encode runs as the worker's store does (cut at ``cuts``); plain runs carry theirs."""
    from shared.convert import encode_run

    bounds = [0, *cuts, len(lines)]
    for a, b in itertools.pairwise(bounds):
        data, plain = encode_run(lines[a:b])
        if plain:
            lines[a].packed = (b - a, data)


def _wire(batch: Batch) -> list[Batch]:
    from shared.convert import batch_to_wire

    return [batch_from_pb(pb.LogBatch.FromString(data)) for data in batch_to_wire(batch)]


@pytest.mark.parametrize(
    ("window", "flags"),
    [
        (slice(0, 30), False),  # whole runs
        (slice(3, 30), False),  # starts inside a run: those lines are encoded here
        (slice(0, 27), False),  # ends inside a run
        (slice(3, 27), True),  # a run with flags is never sent as stored
        (slice(12, 18), False),  # inside one run
    ],
)
def test_a_batch_sent_with_the_runs_stored_encoding_reads_back_exactly(window, flags):
    lines = _published(30, first=101, flags=flags)
    _pack(lines, 10, 20)
    batch = Batch(
        lines=lines[window],
        gap=Gap(1, 100, "expired"),
        dropped=Dropped(4, 90, 93),
        state=ConnectionState.STREAMING,
        end=TaskEnd(TaskStatus.FAILED, 2, "boom"),
    )
    (back,) = _wire(batch)
    assert back == batch
    # and byte for byte what the encoder without stored runs reads as
    (plain,) = batch_to_pb(batch)
    assert batch_from_pb(plain) == back


def test_flags_of_lines_encoded_after_a_stored_run_name_their_place_in_the_message():
    lines = _published(20)
    _pack(lines, 10)
    lines[10].packed = None  # the second run is encoded when sent
    lines[12].truncated = 5
    lines[19].unterminated = True
    (back,) = _wire(Batch(lines=lines))
    assert back.lines == lines
    assert [(ln.seq, ln.truncated, ln.unterminated) for ln in back.lines if ln.truncated] == [
        (13, 5, False)
    ]


def test_stored_runs_are_cut_into_messages_far_below_4_mib():
    lines = [LogLine(i, "t", STDOUT, "\ufffd" * 100_000) for i in range(1, 61)]
    _pack(lines, *range(4, 60, 4))
    from shared.convert import batch_to_wire

    sent = list(batch_to_wire(Batch(lines=lines, end=TaskEnd(TaskStatus.SUCCESS, 0))))
    assert len(sent) > 1
    assert max(len(data) for data in sent) < 2 * 1024 * 1024
    back = [batch_from_pb(pb.LogBatch.FromString(data)) for data in sent]
    assert [ln for b in back for ln in b.lines] == lines
    assert [b.end for b in back] == [None] * (len(back) - 1) + [TaskEnd(TaskStatus.SUCCESS, 0)]


def test_a_filtered_batch_is_never_sent_as_stored_runs():
    lines = _published(20)
    _pack(lines, 10)
    sparse = Batch(lines=lines[:5] + lines[10:20])  # the first run is cut by the filter
    (back,) = _wire(sparse)
    assert back == sparse


def test_chunks_stored_in_the_first_format_still_read():
    from shared.convert import decode_stored, stored_contents

    lines = _published(6, first=501)
    lines[2].truncated = 3
    lines[5].unterminated = True
    v1 = pb.StoredLines(
        v1_timestamps=[ln.timestamp for ln in lines],
        v1_streams=[pb.STDERR if ln.stream is STDERR else pb.STDOUT for ln in lines],
        v1_contents=[ln.content for ln in lines],
        v1_truncated={503: 3},
        v1_unterminated=[506],
    ).SerializeToString()
    assert decode_stored(v1, 501) == lines
    assert decode_stored(v1, 501, 1, 3) == lines[1:3]
    assert list(stored_contents(v1)) == [ln.content for ln in lines]


def test_any_window_of_any_runs_reads_back_as_the_plain_encoding():
    import random

    rng = random.Random(7)
    for _ in range(300):
        lines = _published(rng.randint(1, 60), first=rng.randint(1, 10_000))
        for line in lines:
            if rng.random() < 0.05:
                line.truncated = rng.randint(1, 99)
            if rng.random() < 0.03:
                line.unterminated = True
        cuts = sorted(rng.sample(range(1, len(lines)), min(len(lines) - 1, rng.randint(0, 6))))
        _pack(lines, *cuts)
        a = rng.randint(0, len(lines) - 1)
        b = rng.randint(a + 1, len(lines))
        batch = Batch(lines=lines[a:b], dropped=Dropped(2, 1, 2) if rng.random() < 0.2 else None)
        (plain,) = batch_to_pb(batch)
        (back,) = _wire(batch)
        assert back == batch_from_pb(plain) == batch
