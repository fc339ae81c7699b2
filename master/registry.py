"""The master's view of workers and tasks, rebuilt from worker heartbeats. Pure: time is passed in.

Workers are the source of truth for their tasks: each heartbeat carries the worker's
unfinished tasks and the tasks whose info changed since the catalog version the master has
(``since``), and replaces what the master believed. A worker that misses heartbeats for
``worker_timeout`` seconds is marked down, and its unfinished tasks become ``lost`` -- unless
it comes back and reports them, which puts them back to what it says.

The registry is bounded: it keeps at most ``max_finished`` finished tasks (the oldest go
first; their logs stay on their worker), and lists tasks newest first from an index kept in
order, so listing 100,000 tasks costs what one page costs.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from master.task_table import TaskTable
from shared.errors import TaskNotFound, WorkerUnavailable
from shared.listing import TaskQuery, page_of
from shared.model import TaskInfo, TaskStatus


@dataclass(slots=True)
class WorkerRecord:
    """A worker as the master knows it."""

    name: str
    address: str
    last_seen: float
    alive: bool = True
    synced: int = 0  # the master has this worker's task changes up to this catalog version
    # the master's clock minus the worker's when its last heartbeat arrived (transit time
    # included); None: the worker does not send its time
    clock_skew: float | None = None

    def copy(self) -> WorkerRecord:
        """A snapshot."""
        return replace(self)


class Registry:
    """Workers and their tasks. ``on_change`` is called after every change (for waiters)."""

    def __init__(
        self,
        *,
        worker_timeout: float = 5.0,
        started_at: float = 0.0,
        max_finished: int = 100_000,
    ) -> None:
        self.worker_timeout = worker_timeout
        self.started_at = started_at
        self.max_finished = max_finished
        self._workers: dict[str, WorkerRecord] = {}
        self._tasks = TaskTable()
        self._order: list[tuple[float, str]] = []  # (created_at, task_id), oldest first
        self._unfinished: set[str] = set()
        self._finished = 0
        self._listeners: list[Callable[[], None]] = []
        self.exits: Counter[str] = Counter()  # status -> tasks seen ending (for metrics)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    # ------------------------------------------------------------------ updates

    def heartbeat(
        self,
        name: str,
        address: str,
        tasks: Iterable[TaskInfo],
        now: float,
        *,
        since: int = 0,
        version: int = 0,
        sent_at: float | None = None,
    ) -> int:
        """A worker says it is alive, which tasks it runs, and which changed after its
        catalog version ``since`` up to ``version``. Returns the version the master now has
        every change up to (the worker sends from there next time). ``sent_at``: the worker's
        clock when it sent the heartbeat (``now`` is the master's when it arrived)."""
        worker = self._workers.get(name)
        if worker is None:
            worker = self._workers[name] = WorkerRecord(name, address, now)
        worker.address = address
        worker.last_seen = now
        worker.alive = True
        worker.clock_skew = None if sent_at is None else now - sent_at
        reported = set()
        for info in tasks:
            info = replace(info, worker=name)
            reported.add(info.task_id)
            self._put(info)
        in_sync = since == worker.synced
        if in_sync:
            worker.synced = version
            for task_id in list(self._unfinished):
                info = self._tasks[task_id]
                if info.worker == name and task_id not in reported:
                    if now - info.created_at > self.worker_timeout:
                        # the worker does not know it any more (restarted without its container)
                        self._put(_lost(info, f"worker {name} no longer knows this task"))
        self._evict()
        self._changed()
        return worker.synced

    def _put(self, info: TaskInfo) -> None:
        old = self._tasks.get(info.task_id)
        if old is None:
            insort(self._order, (info.created_at, info.task_id))
        elif old.created_at != info.created_at:
            self._unindex(old)
            insort(self._order, (info.created_at, info.task_id))
        if old is not None and old.status.is_final:
            self._finished -= 1
        elif old is not None and info.status.is_final:
            self.exits[info.status.value] += 1  # ended while this master watched it
        self._tasks[info.task_id] = info
        if info.status.is_final:
            self._finished += 1
            self._unfinished.discard(info.task_id)
        else:
            self._unfinished.add(info.task_id)

    def _unindex(self, info: TaskInfo) -> None:
        key = (info.created_at, info.task_id)
        i = bisect_left(self._order, key)
        if i < len(self._order) and self._order[i] == key:
            del self._order[i]

    def _evict(self) -> None:
        """Forget the oldest finished tasks beyond ``max_finished``."""
        i = 0
        while self._finished > self.max_finished and i < len(self._order):
            task_id = self._order[i][1]
            status = self._tasks.status(task_id)
            if status is not None and status.is_final:
                del self._order[i]
                del self._tasks[task_id]
                self._finished -= 1
            else:
                i += 1

    def add_task(self, info: TaskInfo) -> None:
        """A task the master just placed (known before the worker's next heartbeat)."""
        self._put(replace(info))
        self._evict()
        self._changed()

    def task_ended(
        self, task_id: str, status: TaskStatus, exit_code: int | None, error: str
    ) -> None:
        """A relay saw the task's end before the next heartbeat."""
        info = self._tasks.get(task_id)
        if info is not None and not info.status.is_final:
            self._put(replace(info, status=status, exit_code=exit_code, error=error))
            self._changed()

    def sweep(self, now: float) -> list[str]:
        """Mark workers without a recent heartbeat down and their unfinished tasks lost.
        Returns the names of the workers marked down."""
        down = []
        for worker in self._workers.values():
            if worker.alive and now - worker.last_seen > self.worker_timeout:
                worker.alive = False
                down.append(worker.name)
                worker.synced = 0  # when it comes back, it sends its changes again
                for task_id in list(self._unfinished):
                    info = self._tasks[task_id]
                    if info.worker == worker.name:
                        self._put(
                            _lost(
                                info,
                                f"worker {worker.name} stopped answering "
                                f"(no heartbeat for {self.worker_timeout:g} s)",
                            )
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
        status = self._tasks.status(task_id)
        return TaskStatus.LOST if status is None else status

    def has_task(self, task_id: str) -> bool:
        """Whether ``task_id`` is known."""
        return task_id in self._tasks

    def counts(self) -> tuple[dict[str, int], int]:
        """Unfinished tasks by status, and how many tasks are known (for metrics: cheap)."""
        by_status: dict[str, int] = {}
        for info in self._tasks.live():
            by_status[info.status.value] = by_status.get(info.status.value, 0) + 1
        return by_status, len(self._tasks)

    def tasks(self) -> list[TaskInfo]:
        """Snapshots of every known task, oldest first."""
        return [replace(self._tasks[task_id]) for _, task_id in self._order]

    def newest_first(self) -> Iterator[TaskInfo]:
        """Every known task (not copied: do not change them), newest first."""
        tasks = self._tasks
        for _, task_id in reversed(self._order):
            yield tasks[task_id]

    def page(self, query: TaskQuery) -> tuple[list[TaskInfo], str]:
        """Snapshots of one page of tasks, newest first, and the next page's token. Tasks
        whose log expired are not listed."""
        listed = (t for t in self.newest_first() if not t.expired)
        page, token = page_of(listed, query)
        return [replace(t) for t in page], token

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
        tasks = self._tasks
        return sum(1 for task_id in self._unfinished if tasks.worker_of_live(task_id) == name)


def _lost(info: TaskInfo, why: str) -> TaskInfo:
    return replace(info, status=TaskStatus.LOST, exit_code=None, error=why)


def pick_worker(registry: Registry) -> WorkerRecord:
    """The live worker with the fewest unfinished tasks (ties: by name)."""
    alive = [w for w in registry.workers() if w.alive]
    if not alive:
        raise WorkerUnavailable("no live worker: start one with `worker serve --master ...`")
    return min(alive, key=lambda w: (registry.running_count(w.name), w.name))
