"""An in-memory :class:`shared.hub.History`: every line ever published, minus what "retention"
removed, read with the same contract as the worker's SQLite store."""

from __future__ import annotations

from shared.model import Batch, Gap, LogLine


class MemoryHistory:
    """Lines by seq. ``keep(lines)`` stores published lines; ``expire_before(seq)`` removes
    older ones (they then read as a gap ``expired``); ``reads`` counts read calls."""

    def __init__(self) -> None:
        self.lines: dict[int, LogLine] = {}
        self.first = 1
        self.reads = 0

    def keep(self, lines: list[LogLine]) -> None:
        for line in lines:
            self.lines[line.seq] = line

    def expire_before(self, seq: int) -> None:
        for s in [s for s in self.lines if s < seq]:
            del self.lines[s]
        self.first = max(self.first, seq)

    async def read(self, after: int, before: int, max_lines: int, max_bytes: int) -> Batch:
        self.reads += 1
        batch = Batch()
        start = after + 1
        if start < self.first:
            batch.gap = Gap(start, min(self.first, before) - 1, "expired")
            start = self.first
        size = 0
        seq = start
        while seq < before and len(batch.lines) < max_lines and seq in self.lines:
            line = self.lines[seq]
            size += len(line.content)
            if batch.lines and size > max_bytes:
                break
            batch.lines.append(line)
            seq += 1
        return batch
