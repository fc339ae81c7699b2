"""The line store behind a hub: a window of consecutive lines, addressed by ``seq``.

Pure data structure, no I/O. It holds lines ``first_seq .. next_seq - 1`` in order and knows
their cumulative size (for byte-bounded subscriber queues); it forgets lines at the old end
when told to. The hub decides how much to keep: the last ``history`` lines for new
subscribers (the design's ring buffer), plus what a lagging subscriber still needs within its
queue limits.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

from shared.model import LINE_OVERHEAD, STDOUT, LogLine

_COMPACT_MIN = 1024  # compact the backing lists once this many dead slots accumulate
_FORGOTTEN = LogLine(0, "", STDOUT, "")  # what a dead slot holds until the lists are compacted


class LineStore:
    """Consecutive lines with O(1) lookup by ``seq`` and O(log n) lookup by byte budget."""

    __slots__ = ("_lines", "_start", "_starts", "first_seq", "next_seq", "total_bytes")

    def __init__(self, first_seq: int = 1) -> None:
        self._lines: list[LogLine] = []
        # _starts[i]: total_bytes just before _lines[i] (machine ints: 8 bytes, not 40, a line)
        self._starts = array("q")
        self._start = 0  # index of the line whose seq is first_seq
        self.first_seq = first_seq
        self.next_seq = first_seq
        self.total_bytes = 0  # size of every line ever appended, not only the kept ones

    def __len__(self) -> int:
        return self.next_seq - self.first_seq

    def append(self, lines: list[LogLine], *, numbered: bool = False) -> None:
        """Keep ``lines``, newest last.

        Unless ``numbered``, they get seq ``next_seq``, ``next_seq + 1``, ...; when
        ``numbered``, they must already carry exactly those seqs.
        """
        if numbered and lines and lines[0].seq != self.next_seq:
            raise ValueError(f"expected seq {self.next_seq}, got {lines[0].seq}")
        seq = self.next_seq
        total = self.total_bytes
        keep = self._lines.append
        mark = self._starts.append
        for line in lines:
            if not numbered:
                line.seq = seq
            seq += 1
            mark(total)
            total += 2 * len(line.content) + LINE_OVERHEAD
            keep(line)
        self.next_seq = seq
        self.total_bytes = total

    def restart_at(self, seq: int) -> None:
        """Forget every line and continue at ``seq`` (after an unrecoverable gap)."""
        self._lines.clear()
        del self._starts[:]
        self._start = 0
        self.first_seq = self.next_seq = seq

    def get(self, seq: int, max_lines: int, max_bytes: int) -> list[LogLine]:
        """Lines from ``seq`` on (``first_seq <= seq``): at most ``max_lines``, and at most
        ``max_bytes`` unless the first line alone is larger."""
        i = self._start + (seq - self.first_seq)
        j = min(i + max_lines, len(self._lines))
        if j <= i:
            return []
        starts = self._starts
        limit = starts[i] + max_bytes
        end = starts[j] if j < len(starts) else self.total_bytes
        if end > limit:
            # lines i..k-1 fit when starts[k] <= limit; keep at least one line
            j = max(i + 1, bisect_left(starts, limit + 1, i, j) - 1)
        return self._lines[i:j]

    def recent(self, n: int) -> list[LogLine]:
        """The newest ``n`` kept lines (fewer if fewer are kept), oldest first."""
        i = max(self._start, len(self._lines) - n)
        return self._lines[i:]

    def bytes_from(self, seq: int) -> int:
        """Total size of the lines ``seq .. next_seq - 1``."""
        if seq >= self.next_seq:
            return 0
        seq = max(seq, self.first_seq)
        return self.total_bytes - self._starts[self._start + (seq - self.first_seq)]

    def first_seq_within(self, max_bytes: int) -> int:
        """The oldest kept seq from which the lines up to the newest fit in ``max_bytes``
        (at least the newest line)."""
        if self.next_seq == self.first_seq:
            return self.first_seq
        k = bisect_left(self._starts, self.total_bytes - max_bytes, self._start)
        return min(self.first_seq + (k - self._start), self.next_seq - 1)

    def forget_before(self, seq: int) -> None:
        """Drop the lines older than ``seq``."""
        seq = min(seq, self.next_seq)
        n = seq - self.first_seq
        if n <= 0:
            return
        # release the lines now: compaction waits until half the slots are dead (amortised
        # O(1)), and until then a dead slot would keep its line alive (up to 2x the window)
        self._lines[self._start : self._start + n] = [_FORGOTTEN] * n
        self._start += n
        self.first_seq = seq
        if self._start >= _COMPACT_MIN and self._start * 2 >= len(self._lines):
            del self._lines[: self._start]
            del self._starts[: self._start]
            self._start = 0
