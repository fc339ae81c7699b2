"""Merged views of several tasks: their lines in one stream, ordered by Docker timestamp across
tasks within a short reorder window; the per-task resume cursor (``task-a:120,task-b:98``); a
stable colour per task. Pure, no I/O: the caller feeds each task's batches with the time they
arrived, and takes what may go out now (:class:`MergeWindow`).

Ordering: each task's own lines keep their order (seq); across tasks the line with the earliest
timestamp goes first. A line is held while another task that has not ended could still send an
earlier one (it has sent nothing yet, or only earlier timestamps), but never longer than the
window after it arrived: a quiet task delays the others by at most :data:`WINDOW`, and a task
that ended holds nobody back. Notices (a connection state, a gap, dropped lines) and a task's
end keep their place among that task's lines.
"""

from __future__ import annotations

import calendar
import re
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from shared.cursor import ResumeCursor
from shared.errors import InvalidRequest, quoted
from shared.ids import validate_task_id
from shared.model import Batch, LogLine, TaskEnd

WINDOW: Final = 0.2
"""Seconds a line may be held back for a line of another task with an earlier timestamp."""
MAX_TASKS: Final = 50
"""Tasks in one merged view, at most."""
PALETTE_SIZE: Final = 8
"""Colours a task tag may have (:func:`colour_index`); the terminal, TUI and page each map them."""
_MAX_SEQ = 10**12

_FIXED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))"
)


def timestamp_key(timestamp: str) -> str | None:
    """A key that sorts Docker timestamps (RFC 3339, any fraction, any offset) in time order:
    the UTC instant as ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` (what Docker sends is that already).
    None for text that is no such timestamp."""
    if _FIXED.fullmatch(timestamp):
        return timestamp
    m = _RFC3339.fullmatch(timestamp)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if m.group(9):
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        seconds -= offset if m.group(9) == "+" else -offset
    fraction = (m.group(7) or "").ljust(9, "0")
    try:
        whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    except (ValueError, OverflowError, OSError):
        return None
    return f"{whole}.{fraction}Z"


@dataclass(slots=True)
class TaskBatch:
    """What a merged view receives at once: a batch of one task (its usual order: state, gap,
    dropped, lines, end)."""

    task_id: str
    batch: Batch


class _Task:
    """One task's place in the merge: what it sent that is still held, in its order."""

    __slots__ = ("closed", "index", "items", "newest")

    def __init__(self, index: int) -> None:
        self.index = index
        # (line, key, arrival) or a notice/end batch
        self.items: deque[tuple[LogLine, str, float] | Batch] = deque()
        self.newest: str | None = None  # the latest timestamp key it sent
        self.closed = False  # it sends nothing more (it ended, or its stream stopped)


class MergeWindow:
    """Lines of several tasks in, one timestamp-ordered stream of :class:`TaskBatch` out.

    ``feed`` each task's batches as they arrive (with the time), ``close`` a task whose stream
    stopped without an end; ``take`` what may go out now, and call it again at ``wake_at()``
    (or after the next feed). ``done`` once every task ended or closed and nothing is held.
    """

    def __init__(self, task_ids: Sequence[str], window: float = WINDOW) -> None:
        self.window = window
        self._tasks = {task_id: _Task(i) for i, task_id in enumerate(task_ids)}
        self.ends: dict[str, TaskEnd | None] = dict.fromkeys(task_ids)
        self._held = dict.fromkeys(task_ids, 0)

    @property
    def task_ids(self) -> list[str]:
        """The tasks, in the order given."""
        return list(self._tasks)

    def feed(self, task_id: str, batch: Batch, now: float) -> None:
        """A batch of ``task_id`` arrived at ``now`` (seconds, any monotonic clock)."""
        task = self._tasks[task_id]
        if batch.state is not None or batch.gap is not None or batch.dropped is not None:
            task.items.append(Batch(state=batch.state, gap=batch.gap, dropped=batch.dropped))
        for line in batch.lines:
            key = timestamp_key(line.timestamp)
            if key is None or (task.newest is not None and key < task.newest):
                key = task.newest or ""  # no timestamp, or an earlier one: right after the last
            task.newest = key
            task.items.append((line, key, now))
        self._held[task_id] += len(batch.lines)
        if batch.end is not None:
            task.items.append(Batch(end=batch.end))
            task.closed = True

    def close(self, task_id: str) -> None:
        """``task_id`` sends nothing more (its stream stopped without an end)."""
        self._tasks[task_id].closed = True

    def held(self, task_id: str) -> int:
        """Lines of ``task_id`` waiting to go out."""
        return self._held[task_id]

    @property
    def done(self) -> bool:
        """Every task ended or closed, and everything went out."""
        return all(t.closed and not t.items for t in self._tasks.values())

    def wake_at(self) -> float | None:
        """When the first held line may go out without anything new arriving (None: nothing
        held). The lines after it wait for it, whatever their own time."""
        heads = [
            (head[1], task.index, head[2])
            for task in self._tasks.values()
            if task.items and isinstance(head := task.items[0], tuple)
        ]
        return min(heads)[2] + self.window if heads else None

    def take(self, now: float) -> list[TaskBatch]:
        """What may go out at ``now``, in order (consecutive items of one task in one batch)."""
        out: list[TaskBatch] = []
        while True:
            self._take_notices(out)  # then every task's first item is a line, or it has none
            heads = sorted(
                (head[1], task.index, task_id)
                for task_id, task in self._tasks.items()
                if task.items and isinstance(head := task.items[0], tuple)
            )
            if not heads:
                return out
            task_id = heads[0][2]
            second = heads[1][0] if len(heads) > 1 else None
            if not self._release(task_id, second, self._bound(task_id), now, out):
                return out

    def _take_notices(self, out: list[TaskBatch]) -> None:
        """Notices and ends at the head of a task's queue go at once (their task's lines before
        them went already)."""
        for task_id, task in self._tasks.items():
            while task.items and isinstance(head := task.items[0], Batch):
                task.items.popleft()
                if head.end is not None:
                    self.ends[task_id] = head.end
                    last = out[-1] if out else None
                    if last is not None and last.task_id == task_id and last.batch.end is None:
                        last.batch.end = head.end
                        continue
                out.append(TaskBatch(task_id, head))

    def _bound(self, task_id: str) -> str | None:
        """The earliest timestamp another task that is still open and has nothing held may
        yet send a line before ("": it sent nothing yet); None: no such task."""
        keys = [
            t.newest or ""
            for other, t in self._tasks.items()
            if other != task_id and not t.closed and not t.items
        ]
        return min(keys) if keys else None

    def _release(
        self, task_id: str, second: str | None, bound: str | None, now: float, out: list[TaskBatch]
    ) -> bool:
        """Let the head lines of ``task_id`` go while they come first (not after ``second``,
        the next task's head) and nobody may send an earlier one (not after ``bound``, unless
        held for the window). False when its first head line must wait."""
        task = self._tasks[task_id]
        released: list[LogLine] = []
        while task.items and isinstance(head := task.items[0], tuple):
            line, key, arrival = head
            if second is not None and key > second:
                break
            if bound is not None and key > bound and now < arrival + self.window:
                break
            task.items.popleft()
            released.append(line)
        if not released:
            return False
        self._held[task_id] -= len(released)
        last = out[-1] if out else None
        if last is not None and last.task_id == task_id and last.batch.end is None:
            last.batch.lines.extend(released)
        else:
            out.append(TaskBatch(task_id, Batch(lines=released)))
        return True


# ---------------------------------------------------------------------- task lists, cursors


def parse_task_ids(items: Iterable[str]) -> tuple[str, ...]:
    """Task ids for a merged view, from ``items`` each of one id or several comma-separated
    (``task-a,task-b``): each valid, each once (a repeat is dropped), at least one and at most
    :data:`MAX_TASKS`. Otherwise InvalidRequest saying what is wrong."""
    ids: dict[str, None] = {}
    for item in items:
        for part in item.split(","):
            if part.strip():
                ids[validate_task_id(part.strip())] = None
            if len(ids) > MAX_TASKS:
                raise InvalidRequest(f"too many tasks: at most {MAX_TASKS} in one merged view")
    if not ids:
        raise InvalidRequest("no task named: give one or more, comma-separated (task-a,task-b)")
    return tuple(ids)


def parse_cursor(text: str, task_ids: Sequence[str] | None = None) -> dict[str, int]:
    """A per-task cursor ``task-a:120,task-b:98`` (resume each task after that seq; a task not
    named starts with its history) as ``{task id: seq}``. Each id valid, named once, and one of
    ``task_ids`` when given; each seq a non-negative integer. Otherwise InvalidRequest."""
    cursor: dict[str, int] = {}
    if not text:
        return cursor
    for part in text.split(","):
        task_id, sep, seq = part.strip().rpartition(":")
        if not sep:
            raise InvalidRequest(
                f"invalid cursor entry {quoted(part)}: expected TASK_ID:SEQ (task-a:120)"
            )
        validate_task_id(task_id)
        if not (seq.isascii() and seq.isdigit()) or int(seq) > _MAX_SEQ:
            raise InvalidRequest(
                f"invalid cursor entry {quoted(part)}: the seq must be a non-negative integer"
            )
        if task_id in cursor:
            raise InvalidRequest(f"the cursor names {task_id} twice")
        if task_ids is not None and task_id not in task_ids:
            raise InvalidRequest(f"the cursor names {task_id}, which is not one of the tasks")
        if len(cursor) >= MAX_TASKS:
            raise InvalidRequest(f"too many tasks: at most {MAX_TASKS} in one merged view")
        cursor[task_id] = int(seq)
    return cursor


def format_cursor(cursor: Mapping[str, int]) -> str:
    """``{task id: seq}`` as ``task-a:120,task-b:98`` (what :func:`parse_cursor` reads)."""
    return ",".join(f"{task_id}:{seq}" for task_id, seq in cursor.items())


class MergedCursor:
    """Where a merged stream resumes: per task, after the last seq accounted for (its newest
    line, or the end of a gap or of dropped lines), as :class:`~shared.cursor.ResumeCursor`."""

    def __init__(self) -> None:
        self._tasks: dict[str, ResumeCursor] = {}

    def advance(self, item: TaskBatch) -> None:
        """Account for what ``item`` delivered or announced as missing."""
        self._tasks.setdefault(item.task_id, ResumeCursor()).advance(item.batch)

    def positions(self) -> dict[str, int]:
        """``{task id: seq}`` of every task with a position."""
        return {t: c.after for t, c in self._tasks.items() if c.after is not None}

    def __str__(self) -> str:
        return format_cursor(self.positions())


# ---------------------------------------------------------------------- colours


def colour_index(task_id: str, size: int = PALETTE_SIZE) -> int:
    """The colour of a task's tag, ``0 <= index < size``: the same for the same id everywhere
    (FNV-1a, 32 bits, of its UTF-8 bytes; ``web/merged.js`` computes the same), unlike Python's
    ``hash()``, which changes from one process to the next."""
    h = 0x811C9DC5
    for byte in task_id.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h % size
