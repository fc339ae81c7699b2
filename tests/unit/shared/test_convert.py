"""Model <-> protobuf: lossless, and no message near gRPC's 4 MiB receive limit."""

from __future__ import annotations

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
