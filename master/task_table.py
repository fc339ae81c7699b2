"""The registry's task records: running tasks as objects, finished ones packed. Pure.

A master may list 100,000 finished tasks. Kept as objects (a TaskInfo, its command tuple, its
labels dict), each is three objects the garbage collector walks on every full collection:
measured, 100,000 tasks made the master's event loop stall ~190 ms per collection. A finished
task's record never changes, so it is kept as one tuple of strings, numbers and tuples of
strings, which CPython stops tracking altogether; it becomes a TaskInfo again when read.
"""

from __future__ import annotations

from collections.abc import Iterator

from shared.model import TaskInfo, TaskStatus

_Packed = tuple[
    str, str, str, tuple[str, ...], bool, int | None, str, str, float, float, int, str,
    tuple[tuple[str, str], ...], float, str, bool,
]  # fmt: skip


def pack(info: TaskInfo) -> _Packed:
    """``info`` as a tuple the garbage collector can ignore."""
    return (
        info.task_id, info.status.value, info.image, tuple(info.command), info.tty,
        info.exit_code, info.error, info.worker, info.created_at, info.finished_at, info.lines,
        info.container_id, tuple(sorted(info.labels.items())), info.started_at,
        info.store_error, info.expired,
    )  # fmt: skip


def unpack(p: _Packed) -> TaskInfo:
    """A new TaskInfo from :func:`pack`'s tuple."""
    return TaskInfo(
        p[0], TaskStatus(p[1]), p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11],
        dict(p[12]), p[13], p[14], p[15],
    )  # fmt: skip


class TaskTable:
    """Task records by id: ``table[id]`` is always a TaskInfo (a new one for a finished task:
    change it through ``table[id] = info``)."""

    def __init__(self) -> None:
        self._live: dict[str, TaskInfo] = {}
        self._done: dict[str, _Packed] = {}

    def __len__(self) -> int:
        return len(self._live) + len(self._done)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._live or task_id in self._done

    def get(self, task_id: str) -> TaskInfo | None:
        """The record of ``task_id``, or None."""
        info = self._live.get(task_id)
        if info is not None:
            return info
        packed = self._done.get(task_id)
        return None if packed is None else unpack(packed)

    def __getitem__(self, task_id: str) -> TaskInfo:
        info = self.get(task_id)
        if info is None:
            raise KeyError(task_id)
        return info

    def __setitem__(self, task_id: str, info: TaskInfo) -> None:
        if info.status.is_final:
            self._live.pop(task_id, None)
            self._done[task_id] = pack(info)
        else:
            self._done.pop(task_id, None)
            self._live[task_id] = info

    def __delitem__(self, task_id: str) -> None:
        if self._live.pop(task_id, None) is None:
            del self._done[task_id]

    def status(self, task_id: str) -> TaskStatus | None:
        """The status of ``task_id`` without building its record."""
        info = self._live.get(task_id)
        if info is not None:
            return info.status
        packed = self._done.get(task_id)
        return None if packed is None else TaskStatus(packed[1])

    def worker_of_live(self, task_id: str) -> str:
        """The worker of an unfinished task."""
        return self._live[task_id].worker

    def live(self) -> Iterator[TaskInfo]:
        """The unfinished tasks' records."""
        return iter(list(self._live.values()))
