"""The per-batch flow counters behind /metrics (shared/flowstats.py). No I/O."""

from __future__ import annotations

import calendar

from shared.flowstats import FlowStats, Histogram, _Clock
from shared.model import STDERR, STDOUT, Batch, Dropped, Gap, LogLine

TS = "2026-11-26T06:44:30.250000000Z"
T0 = calendar.timegm((2026, 11, 26, 6, 44, 30, 0, 0, 0)) + 0.25


def line(seq: int, stream=STDOUT, content: str = "x", ts: str = TS) -> LogLine:
    return LogLine(seq, ts, stream, content)


def test_lines_and_bytes_read_are_counted_per_stream():
    stats = FlowStats()
    stats.read([line(0, STDOUT, "ab"), line(0, STDERR, "cde"), line(0, STDOUT, "é")])
    stats.read([line(0, STDOUT, "")])
    assert stats.read_lines == {"stdout": 3, "stderr": 1}
    assert stats.read_bytes == {"stdout": 3, "stderr": 3}


def test_a_delivered_batch_counts_its_lines_drops_and_gaps_by_reason():
    stats = FlowStats()
    batch = Batch()
    batch.lines = [line(9), line(10)]
    batch.dropped = Dropped(5, 3, 7)
    batch.gap = Gap(1, 2, "not stored")
    stats.delivered("websocket", batch, live=False)
    stats.delivered("grpc", Batch(dropped=Dropped(4, 1, 4)), live=False)
    assert stats.sent == {"websocket": 2}
    assert stats.dropped == {
        ("websocket", "slow_consumer"): 5,
        ("websocket", "not_stored"): 2,
        ("grpc", "slow_consumer"): 4,
    }
    assert stats.latency == {}  # history is old on purpose: no fan-out latency


def test_live_batches_observe_the_age_of_their_newest_line():
    stats = FlowStats()
    age = stats.clock.age(TS, now=T0 + 0.003)
    assert age is not None and abs(age - 0.003) < 1e-6
    batch = Batch()
    batch.lines = [line(1, ts="2020-01-01T00:00:00Z"), line(2)]
    stats.delivered("grpc", batch, live=True)
    hist = stats.latency["grpc"]
    assert sum(hist.counts) == 1


def test_the_clock_reads_docker_timestamps_with_or_without_fraction_and_rejects_junk():
    clock = _Clock()
    assert clock.age("2026-11-26T06:44:30Z", now=T0) == 0.25
    assert clock.age("2026-11-26T06:44:30.5Z", now=T0 + 0.25) == 0.0
    assert clock.age("garbage", now=T0) is None
    assert clock.age("2026-11-26T06:44:30.zzZ", now=T0) is None
    assert clock.age(TS, now=T0 - 10) == 0.0  # a clock behind Docker's: never negative


def test_histogram_buckets_are_cumulative_as_prometheus_wants():
    hist = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        hist.observe(value)
    assert hist.cumulative() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert hist.total == 3.65
