"""Check what a subscriber received against what a task printed. Used by tests and bench/.

Tasks print numbered lines (``seq=1``, ``seq=2``, ...). A :class:`Received` record collects
lines and notices from one subscriber; :meth:`Received.check` reports every missing,
duplicated or out-of-order line, and whether gap/dropped notices account exactly for what is
missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.model import Batch, ConnectionState, Dropped, Gap, LogLine, TaskEnd

_NUMBER = re.compile(r"seq=(\d+)")


@dataclass
class Received:
    """Everything one subscriber got, in order."""

    lines: list[LogLine] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    states: list[ConnectionState] = field(default_factory=list)
    end: TaskEnd | None = None
    after_end: int = 0  # anything that arrived after the end (must stay 0)
    events: list[object] = field(default_factory=list)  # all of the above, in order

    def add(self, batch: Batch) -> None:
        if self.end is not None:
            self.after_end += 1
        if batch.state is not None:
            self.states.append(batch.state)
            self.events.append(batch.state)
        if batch.gap:
            self.gaps.append(batch.gap)
            self.events.append(batch.gap)
        if batch.dropped:
            self.dropped.append(batch.dropped)
            self.events.append(batch.dropped)
        self.lines.extend(batch.lines)
        self.events.extend(batch.lines)
        if batch.end:
            self.end = batch.end
            self.events.append(batch.end)

    @property
    def seqs(self) -> list[int]:
        return [ln.seq for ln in self.lines]

    @property
    def dropped_count(self) -> int:
        return sum(d.count for d in self.dropped)

    def numbers(self) -> list[int]:
        """The ``seq=N`` numbers printed in the received lines."""
        out = []
        for ln in self.lines:
            m = _NUMBER.search(ln.content)
            if m:
                out.append(int(m.group(1)))
        return out

    def check(self, *, published: int | None = None, first: int = 1) -> list[str]:
        """Problems found, empty when the stream was exact: seqs contiguous from ``first``
        except where a gap/dropped notice says so, no duplicate, and (with ``published``)
        received + announced-missing == published."""
        problems = []
        expect = first
        for ev in self.events:
            if isinstance(ev, (Gap, Dropped)):
                if ev.from_seq != expect:
                    problems.append(f"notice {ev} does not start at the expected seq {expect}")
                expect = ev.to_seq + 1
            elif isinstance(ev, LogLine):
                if ev.seq != expect:
                    problems.append(f"got seq {ev.seq}, expected {expect}")
                expect = ev.seq + 1
        if published is not None:
            accounted = len(self.lines) + self.dropped_count + sum(g.count for g in self.gaps)
            if accounted != published - first + 1:
                problems.append(
                    f"received {len(self.lines)} + dropped {self.dropped_count} + gaps "
                    f"{sum(g.count for g in self.gaps)} != published {published - first + 1}"
                )
        if self.after_end:
            problems.append(f"{self.after_end} batches after the end")
        return problems
