"""Where a log stream resumes after a break. Pure, no I/O.

Every client that re-opens a broken stream (the CLI's client of the master, the master's
relay of a worker) resumes *after the last seq it accounted for*: the newest line it received,
or the end of a ``gap`` / ``dropped`` range (lines that will never come). So a resumed stream
has no duplicate and no silent hole. Before anything arrived, it asks for its history again.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.model import Batch


@dataclass(slots=True)
class ResumeCursor:
    """The resume position of one stream (``after``: None until a seq was accounted for)."""

    after: int | None = None
    tail: int | None = None  # the history asked for while nothing was accounted for

    def advance(self, batch: Batch) -> None:
        """Account for what ``batch`` delivered or announced as missing."""
        newest = self.after or 0
        if batch.gap is not None:
            newest = max(newest, batch.gap.to_seq)
        if batch.dropped is not None:
            newest = max(newest, batch.dropped.to_seq)
        if batch.lines:
            newest = max(newest, batch.lines[-1].seq)
        if newest and newest != self.after:
            self.after = newest

    def request(self) -> tuple[int | None, int | None]:
        """``(tail, after)`` for the next subscription: after the last seq accounted for, or
        the history (``tail``) before anything was."""
        if self.after is not None:
            return None, self.after
        return self.tail, None
