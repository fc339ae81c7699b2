"""The master's view of workers and tasks, rebuilt from worker heartbeats. Pure: time is passed in.

Workers are the source of truth for their tasks: each heartbeat carries every task the worker
knows, and replaces what the master believed. A worker that misses heartbeats for
``worker_timeout`` seconds is marked down, and its unfinished tasks become ``lost`` -- unless
it comes back and reports them, which puts them back to what it says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from shared.errors import TaskNotFound, WorkerUnavailable
from shared.model import TaskInfo, TaskStatus


@dataclass(slots=True)
class WorkerRecord:
    """A worker as the master knows it."""

    name: str
    address: str
    last_seen: float
    alive: bool = True

    def copy(self) -> WorkerRecord:
        """A snapshot."""
        return replace(self)


class Registry:
    """Workers and their tasks. ``on_change`` is called after every change (for waiters)."""

    def __init__(self, *, worker_timeout: float = 5.0, started_at: float = 0.0) -> None:
        self.worker_timeout = worker_timeout
        self.started_at = started_at
        self._workers: dict[str, WorkerRecord] = {}
        self._tasks: dict[str, TaskInfo] = {}
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    # ------------------------------------------------------------------ updates

    def heartbeat(self, name: str, address: str, tasks: Iterable[TaskInfo], now: float) -> None:
        """A worker says it is alive and which tasks it has."""
        worker = self._workers.get(name)
        if worker is None:
            worker = self._workers[name] = WorkerRecord(name, address, now)
        worker.address = address
        worker.last_seen = now
        worker.alive = True
        reported = set()
        for info in tasks:
            info = replace(info, worker=name)
            reported.add(info.task_id)
            self._tasks[info.task_id] = info
        for task_id, info in list(self._tasks.items()):
            if info.worker == name and task_id not in reported:
                if info.status.is_final:
                    # finished and past the worker's retention: the master keeps its record
                    continue
                if now - info.created_at > self.worker_timeout:
                    # the worker does not know it any more (restarted without its container)
                    self._tasks[task_id] = _lost(info, f"worker {name} no longer knows this task")
        self._changed()

    def add_task(self, info: TaskInfo) -> None:
        """A task the master just placed (known before the worker's next heartbeat)."""
        self._tasks[info.task_id] = replace(info)
        self._changed()

    def task_ended(
        self, task_id: str, status: TaskStatus, exit_code: int | None, error: str
    ) -> None:
        """A relay saw the task's end before the next heartbeat."""
        info = self._tasks.get(task_id)
        if info is not None and not info.status.is_final:
            info.status, info.exit_code, info.error = status, exit_code, error
            self._changed()

    def sweep(self, now: float) -> list[str]:
        """Mark workers without a recent heartbeat down and their unfinished tasks lost.
        Returns the names of the workers marked down."""
        down = []
        for worker in self._workers.values():
            if worker.alive and now - worker.last_seen > self.worker_timeout:
                worker.alive = False
                down.append(worker.name)
                for task_id, info in self._tasks.items():
                    if info.worker == worker.name and not info.status.is_final:
                        self._tasks[task_id] = _lost(
                            info,
                            f"worker {worker.name} stopped answering "
                            f"(no heartbeat for {self.worker_timeout:g} s)",
                        )
        if down:
            self._changed()
        return down

    # ------------------------------------------------------------------ queries

    def warming_up(self, now: float) -> bool:
        """True while a restarted master may not have heard from every worker yet."""
        return now - self.started_at < self.worker_timeout

    def task(self, task_id: str) -> TaskInfo:
        """A snapshot of ``task_id``; :class:`TaskNotFound` if no worker reported it."""
        info = self._tasks.get(task_id)
        if info is None:
            raise TaskNotFound(f"no task {task_id}")
        return replace(info)

    def status(self, task_id: str) -> TaskStatus:
        """The status of ``task_id`` (``lost`` if unknown), without copying its record."""
        info = self._tasks.get(task_id)
        return TaskStatus.LOST if info is None else info.status

    def has_task(self, task_id: str) -> bool:
        """Whether ``task_id`` is known."""
        return task_id in self._tasks

    def tasks(self) -> list[TaskInfo]:
        """Snapshots of every known task, oldest first."""
        return sorted((replace(t) for t in self._tasks.values()), key=lambda t: t.created_at)

    def worker(self, name: str) -> WorkerRecord:
        """A snapshot of worker ``name``."""
        worker = self._workers.get(name)
        if worker is None:
            raise WorkerUnavailable(f"no worker {name!r}")
        return worker.copy()

    def workers(self) -> list[WorkerRecord]:
        """Snapshots of every worker, by name."""
        return [w.copy() for w in sorted(self._workers.values(), key=lambda w: w.name)]

    def running_count(self, name: str) -> int:
        """Unfinished tasks on worker ``name``."""
        return sum(1 for t in self._tasks.values() if t.worker == name and not t.status.is_final)


def _lost(info: TaskInfo, why: str) -> TaskInfo:
    return replace(info, status=TaskStatus.LOST, exit_code=None, error=why)


def pick_worker(registry: Registry) -> WorkerRecord:
    """The live worker with the fewest unfinished tasks (ties: by name)."""
    alive = [w for w in registry.workers() if w.alive]
    if not alive:
        raise WorkerUnavailable("no live worker: start one with `worker serve --master ...`")
    return min(alive, key=lambda w: (registry.running_count(w.name), w.name))
