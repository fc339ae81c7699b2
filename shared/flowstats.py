"""What a server's log flow did, counted per batch (never per line). Pure: no I/O.

The servers add to a :class:`FlowStats` where a batch passes (read from Docker, sent to a
sink, dropped for a subscriber, ...); their metrics collectors read it when scraped
(:mod:`shared.metrics`). Adding to a plain dict costs ~50 ns a batch; a ``prometheus_client``
``.labels().inc()`` costs ~2.3 us, which per line at 200k lines/s would be half a core.
No label is a task id (bounded cardinality).
"""

from __future__ import annotations

import calendar
import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from shared.model import STDERR, Batch, LogLine

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Seconds: fan-out latency, Docker's timestamp of a line to the moment it was sent."""

COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
"""Seconds: one store transaction."""


@dataclass(slots=True)
class Histogram:
    """Bucket counts for Prometheus' histogram (``le`` buckets, cumulative when exported)."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # one per bound, then +Inf
    total: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        """``[(le, count), ...]`` ending with ``+Inf``, as Prometheus exposes them."""
        out = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


def reason_label(reason: str) -> str:
    """A gap's reason as a label value ("not stored" -> "not_stored")."""
    return reason.replace(" ", "_")


@dataclass(slots=True)
class FlowStats:
    """Counts of one server's log flow (see the module docstring)."""

    read_lines: Counter[str] = field(default_factory=Counter)  # stream -> lines from Docker
    read_bytes: Counter[str] = field(default_factory=Counter)  # stream -> bytes of content
    sent: Counter[str] = field(default_factory=Counter)  # sink -> lines sent
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (sink, reason) -> lines
    subscribers: Counter[str] = field(default_factory=Counter)  # kind -> open subscriptions
    reconnects: Counter[str] = field(default_factory=Counter)  # upstream -> times re-opened
    exits: Counter[str] = field(default_factory=Counter)  # outcome -> tasks that ended so
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)  # (interface, reason)
    latency: dict[str, Histogram] = field(default_factory=dict)  # sink -> fan-out latency
    clock: _Clock = field(default_factory=lambda: _Clock())

    def read(self, lines: list[LogLine]) -> None:
        """A batch of lines read from Docker."""
        size = 0
        err_lines = 0
        err_size = 0
        for line in lines:
            n = len(line.content)
            size += n
            if line.stream is STDERR:
                err_lines += 1
                err_size += n
        self.read_lines["stdout"] += len(lines) - err_lines
        self.read_bytes["stdout"] += size - err_size
        if err_lines:
            self.read_lines["stderr"] += err_lines
            self.read_bytes["stderr"] += err_size

    def delivered(self, sink: str, batch: Batch, *, live: bool) -> None:
        """``batch`` was sent to a client of ``sink`` (grpc, websocket, download). ``live``:
        it reached the newest line (its latency is the fan-out latency; a batch of history
        read from the store is old on purpose)."""
        lines = batch.lines
        if lines:
            self.sent[sink] += len(lines)
            if live:
                latency = self.clock.age(lines[-1].timestamp)
                if latency is not None:
                    hist = self.latency.get(sink)
                    if hist is None:
                        hist = self.latency[sink] = Histogram(LATENCY_BUCKETS)
                    hist.observe(latency)
        if batch.dropped is not None:
            self.dropped[sink, "slow_consumer"] += batch.dropped.count
        if batch.gap is not None:
            gap = batch.gap
            self.dropped[sink, reason_label(gap.reason)] += gap.to_seq - gap.from_seq + 1


class _Clock:
    """Seconds since a Docker timestamp (``2026-11-26T06:44:30.123456789Z``), parsing the
    date and time once a second."""

    __slots__ = ("_epoch", "_prefix")

    def __init__(self) -> None:
        self._prefix = ""
        self._epoch = 0

    def age(self, timestamp: str, now: float | None = None) -> float | None:
        prefix = timestamp[:19]
        if prefix != self._prefix:
            try:
                self._epoch = calendar.timegm(time.strptime(prefix, "%Y-%m-%dT%H:%M:%S"))
            except ValueError:
                return None
            self._prefix = prefix
        frac = timestamp[20:-1] if len(timestamp) > 20 and timestamp[19] == "." else ""
        try:
            seconds = self._epoch + (float("0." + frac) if frac else 0.0)
        except ValueError:
            return None
        return max(0.0, (time.time() if now is None else now) - seconds)
