"""The line store behind a hub: a window of consecutive lines, addressed by ``seq``.

Pure data structure, no I/O. It holds lines ``first_seq .. next_seq - 1`` in order and knows
their cumulative size (for byte-bounded subscriber queues); it forgets lines at the old end
when told to. The hub decides how much to keep: the last ``history`` lines for new
subscribers (the design's ring buffer), plus what a lagging subscriber still needs within its
queue limits.

Lines can also be **packed** when told to (:meth:`LineStore.pack_before`): the oldest kept
lines are encoded into runs of :data:`PACK_LINES` (protobuf columns, the store's format:
:func:`shared.convert.encode_run`), one bytes object a run, and their line objects let go;
they are decoded again when taken (:meth:`get`, :meth:`recent`: new, equal objects). A kept
~100-byte line costs ~330 bytes as objects (its text, its timestamp, the line itself) and
~135 packed. The hub packs lines that sat in the ring unread (a quiet task's history), and
compresses the runs that stayed quiet (:meth:`LineStore.compress_before`: zstd, as the store
does: ~30 bytes for a ~100-byte application line), decompressed when taken.

Lines can also be packed in encodings made already (:meth:`LineStore.adopt_before`): the
worker's store encodes each published batch in the same format and leaves the bytes on the
batch's first line (:attr:`LogLine.packed`), so once every subscriber has taken a batch the
ring keeps those bytes, not the objects, at no encoding cost (:meth:`LogHub.pack_taken`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from operator import itemgetter

from shared.compression import compress, decompress
from shared.convert import decode_stored, encode_run
from shared.model import LINE_OVERHEAD, STDOUT, LogLine

_COMPACT_MIN = 1024  # compact the backing lists once this many dead slots accumulate
_FORGOTTEN = LogLine(0, "", STDOUT, "")  # what a dead slot holds until the lists are compacted
_PACKED = LogLine(0, "", STDOUT, "")  # what a packed line's slot holds (its run has it)
PACK_LINES = 250  # lines per packed run (a run is decoded whole or in part when taken)
ADOPT_MIN_LINES = PACK_LINES // 2
"""The fewest lines a written chunk must hold for a ring to keep it
(:meth:`LineStore.adopt_compressed`). A trickling task's chunks are a line or a few each:
compressed one by one they would stay runs of their own (compressed runs are not joined), at
~300 bytes a ~100-byte line (1,000 one-line chunks: 297 KiB a ring, measured); left to the
packer, its runs are joined into runs of 250 and then compressed (57 KiB)."""
WAITING_BYTES = 1 << 20
"""The most a ring keeps of written chunks waiting for their lines to be packed
(:meth:`LineStore.adopt_compressed`): their lines were written before every subscriber had
taken them (a stream behind the store in a burst, one of two masters behind the other).
~30,000 ~100-byte lines; the chunks beyond are left to the packer."""
_FIRST_SEQ = itemgetter(0)  # of a packed run


_Run = tuple[int, int, bytes, bool]  # first seq, lines, encoded, compressed
_Chunk = tuple[int, int, bytes]  # a chunk the store wrote: first seq, lines, compressed


def _past_end(run: _Run | _Chunk) -> int:
    """The seq after a packed run's (or a written chunk's) last line."""
    return run[0] + run[1]


class LineStore:
    """Consecutive lines with O(1) lookup by ``seq`` and O(log n) lookup by byte budget."""

    __slots__ = (
        "_lines",
        "_packs",
        "_start",
        "_starts",
        "_waiting",
        "first_seq",
        "next_seq",
        "packed_end",
        "total_bytes",
    )

    def __init__(self, first_seq: int = 1) -> None:
        self._lines: list[LogLine] = []
        # packed runs, oldest first: (first seq, lines, encoded, compressed); they hold the
        # lines max(first_seq, first run's seq) .. packed_end - 1, consecutive
        self._packs: list[_Run] = []
        self.packed_end = first_seq
        # written chunks (first seq, lines, compressed) whose lines are not all packed yet,
        # oldest first (:meth:`adopt_compressed`)
        self._waiting: list[_Chunk] = []
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
        self._packs.clear()
        self._waiting.clear()
        self._start = 0
        self.first_seq = self.next_seq = self.packed_end = seq

    def pack_before(self, seq: int) -> int:
        """Pack the kept lines older than ``seq`` not packed yet, in whole runs of
        :data:`PACK_LINES` (a shorter rest waits); the number of lines packed."""
        start = max(self.first_seq, self.packed_end)
        end = min(seq, self.next_seq)
        runs = (end - start) // PACK_LINES
        if runs <= 0:
            return 0
        lines = self._lines
        for _ in range(runs):
            i = self._start + (start - self.first_seq)
            data, _plain = encode_run(lines[i : i + PACK_LINES])
            self._packs.append((start, PACK_LINES, data, False))
            lines[i : i + PACK_LINES] = [_PACKED] * PACK_LINES
            start += PACK_LINES
        self.packed_end = start
        self._adopt_waiting()
        return runs * PACK_LINES

    def adopt_before(self, seq: int) -> int:
        """Pack the kept lines older than ``seq`` not packed yet, taking the encodings that
        were already made (a run whose first line carries :attr:`LogLine.packed`: the worker's
        store's, :func:`shared.convert.encode_run`) as they are; the few lines between two
        such runs are encoded here. Stops at the first line after which no such run starts
        (lines published without a store are left to :meth:`pack_before`). Then the written
        chunks waiting for these lines replace their runs (:meth:`adopt_compressed`); the
        number of lines packed."""
        start = pos = max(self.first_seq, self.packed_end)
        end = min(seq, self.next_seq)
        lines = self._lines
        offset = self._start - self.first_seq  # slot of seq s: s + offset
        packs = self._packs
        while pos < end:
            i = pos + offset
            packed = lines[i].packed
            if packed is None:  # a run without an encoding: up to the next run with one
                nxt = pos + 1
                while nxt < end and lines[nxt + offset].packed is None:
                    nxt += 1
                if nxt >= end:
                    break
                packed = (nxt - pos, encode_run(lines[i : i + nxt - pos])[0])
            count, data = packed
            if pos + count > end:
                break
            packs.append((pos, count, data, False))
            lines[i : i + count] = [_PACKED] * count
            pos += count
        self.packed_end = pos
        if pos > start:
            self._adopt_waiting()
        return pos - start

    def join_runs(self) -> int:
        """Join consecutive packed runs shorter than :data:`PACK_LINES` (a trickling task's
        adopted runs are a line or a few each) into runs of up to that many lines: fewer
        objects, and one decoding for many lines when they are taken. Protobuf decodes
        concatenated encodings as one (compressed runs are not joined). The number of runs
        after."""
        packs = self._packs
        joined: list[_Run] = []
        i, n = 0, len(packs)
        while i < n:
            first, count, _, compressed = packs[i]
            j = i + 1
            while (
                j < n and not compressed and not packs[j][3] and count + packs[j][1] <= PACK_LINES
            ):
                count += packs[j][1]
                j += 1
            joined.append(
                packs[i]
                if j == i + 1
                else (first, count, b"".join(r[2] for r in packs[i:j]), False)
            )
            i = j
        self._packs = joined
        return len(joined)

    def compress_before(self, seq: int) -> int:
        """Compress the packed runs that end before ``seq`` (zstd level 1,
        :mod:`shared.compression`: a quiet ring's lines then cost about what the store's do
        on disk, not their encoding's ~1.3x their text); they are decompressed when taken. The
        number of lines compressed."""
        done = 0
        packs = self._packs
        for k, (first, count, data, compressed) in enumerate(packs):
            if first + count > seq:
                break
            if not compressed:
                packs[k] = (first, count, compress(data), True)
                done += count
        return done

    def adopt_compressed(self, first: int, count: int, data: bytes) -> int:
        """Keep ``data``, the lines ``first .. first + count - 1`` encoded and compressed
        (a chunk the worker's store just wrote, :mod:`shared.compression`), in place of the
        packed runs that hold exactly those lines: the ring's history then costs what the
        store's chunks do, for no compression of its own. Nothing changes unless the chunk
        holds at least :data:`ADOPT_MIN_LINES` lines and uncompressed runs start at ``first``
        (or the oldest run starts after it: the lines before were forgotten) and end at
        ``first + count`` (runs cut or joined otherwise are left to :meth:`compress_before`).
        A chunk whose lines are not all packed yet (a subscriber had not taken them) waits
        until they are (:meth:`adopt_before`, :meth:`pack_before`; up to
        :data:`WAITING_BYTES`). The number of lines adopted now."""
        if count < ADOPT_MIN_LINES:
            return 0
        if first + count > self.packed_end:
            waiting = self._waiting
            if sum(len(w[2]) for w in waiting) + len(data) <= WAITING_BYTES:
                waiting.append((first, count, data))
            return 0
        return self._adopt(first, count, data)

    def _adopt_waiting(self) -> None:
        """Adopt the waiting chunks whose lines are all packed now."""
        waiting = self._waiting
        while waiting and _past_end(waiting[0]) <= self.packed_end:
            self._adopt(*waiting.pop(0))

    def _adopt(self, first: int, count: int, data: bytes) -> int:
        packs = self._packs
        k = bisect_left(packs, first, key=_FIRST_SEQ)
        end = first + count
        m = k
        while m < len(packs) and packs[m][0] < end and not packs[m][3]:
            m += 1
        if m == k or (k > 0 and packs[k][0] != first) or _past_end(packs[m - 1]) != end:
            return 0
        packs[k:m] = [(first, count, data, True)]
        return count

    def _unpack(self, start: int, end: int) -> list[LogLine]:
        """Packed lines ``start .. end - 1``, decoded."""
        out: list[LogLine] = []
        packs = self._packs
        k = bisect_left(packs, start + 1, key=_FIRST_SEQ) - 1  # the run holding ``start``
        while start < end:
            first, count, data, compressed = packs[k]
            hi = min(count, end - first)
            out += decode_stored(decompress(data) if compressed else data, first, start - first, hi)
            start = first + hi
            k += 1
        return out

    def _slice(self, i: int, j: int) -> list[LogLine]:
        """The lines of slots ``i .. j - 1``, packed ones decoded."""
        seq = self.first_seq + (i - self._start)
        if seq >= self.packed_end:
            return self._lines[i:j]
        k = min(j, i + (self.packed_end - seq))
        return self._unpack(seq, seq + (k - i)) + self._lines[k:j]

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
        return self._slice(i, j)

    def recent(self, n: int) -> list[LogLine]:
        """The newest ``n`` kept lines (fewer if fewer are kept), oldest first."""
        i = max(self._start, len(self._lines) - n)
        return self._slice(i, len(self._lines))

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
        del self._packs[: bisect_right(self._packs, seq, key=_past_end)]  # runs wholly before
        self.packed_end = max(self.packed_end, seq)
        if self._waiting:  # (the chunks wholly before go; the rest may be packed now)
            del self._waiting[: bisect_right(self._waiting, seq, key=_past_end)]
            self._adopt_waiting()
        if self._start >= _COMPACT_MIN and self._start * 2 >= len(self._lines):
            del self._lines[: self._start]
            del self._starts[: self._start]
            self._start = 0
