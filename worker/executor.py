"""TaskExecutor: run tasks as labelled containers and turn their exits into task statuses.

For each task: register it (``pending``, already subscribable) → create the container →
start it (``running``) → its broadcaster reads the log until the container stops → inspect
the exit code → ``success`` / ``failed`` / ``cancelled`` delivered to every subscriber after
the last line → remove the container (its log was fully read). Containers carry the labels
``logcast.task``, ``logcast.worker`` and ``logcast.instance`` (the worker's instance id, kept
in its data directory: :mod:`worker.instance`), so a restarted worker adopts the ones it left,
and never those of another worker, even one of the same name on the same Docker engine.

Every change of a task's info is recorded in the store's catalog, so a restarted worker knows
every task it ran (finished ones are served from the store; a running one's container is
adopted and its log resumed exactly after the last stored line).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from shared.aio import wait_set
from shared.errors import (
    ContainerGone,
    DockerUnavailable,
    InvalidRequest,
    TaskExists,
    TaskNotFound,
    WorkerUnavailable,
)
from shared.ids import validate_task_id
from shared.limits import LimitPolicy
from shared.model import TaskEnd, TaskInfo, TaskSpec, TaskStatus
from shared.taskcheck import validate_spec
from shared.units import format_duration
from worker.docker_containers import ContainerRuntime, ContainerState
from worker.docker_logs import DockerLogAPI
from worker.docker_source import DockerContainerLog
from worker.manager import LogStreamManager
from worker.resume import RECENT
from worker.store import LogStore, StoredTask

log = logging.getLogger(__name__)

_INSPECT_RETRY = (0.2, 0.5, 1.0, 2.0, 5.0)
_LATE_OOM_WAIT = 1.0  # seconds a task killed for no known reason waits for Docker's oom event


class _StoppedBeforeStart(Exception):
    """``stop`` was called while the container was being created."""


@dataclass(slots=True)
class _Task:
    info: TaskInfo
    cancel_requested: bool = False
    supervisor: asyncio.Task[None] | None = None
    done: asyncio.Event | None = None
    version: int = 0  # when its info last changed (memory-only workers: see changes)
    timed_out: bool = False  # stopped because it ran past its timeout
    watchdog: asyncio.Task[None] | None = None  # stops it at its deadline


class TaskExecutor:
    """The tasks of one worker."""

    def __init__(
        self,
        *,
        name: str,
        instance: str,
        runtime: ContainerRuntime,
        logs: DockerLogAPI,
        manager: LogStreamManager,
        stop_grace: float = 10.0,
        keep_containers: bool = False,
        on_change: Callable[[TaskInfo], None] | None = None,
        store: LogStore | None = None,
        log_options: dict[str, str] | None = None,
        limits: LimitPolicy | None = None,
    ) -> None:
        self.draining = False  # worker serve --drain, stopping: no new task
        self.name = name
        self.instance = instance  # labels our containers: we adopt only those
        self.runtime = runtime
        self.logs = logs
        self.manager = manager
        self.stop_grace = stop_grace
        self.keep_containers = keep_containers
        self.on_change = on_change
        self.store = store
        self.log_options = log_options or {}
        self.limits = limits or LimitPolicy()  # task containers' defaults and maxima
        self._tasks: dict[str, _Task] = {}
        self._version = 0
        self._forget: dict[str, asyncio.TimerHandle] = {}

    # ------------------------------------------------------------------ queries

    def info(self, task_id: str) -> TaskInfo:
        """What is known of ``task_id``; :class:`TaskNotFound` if it is not on this worker."""
        validate_task_id(task_id)
        task = self._tasks.get(task_id)
        if task is not None:
            return self._snapshot(task)
        stored = self.store.tasks.get(task_id) if self.store is not None else None
        if stored is None:
            raise TaskNotFound(f"no task {task_id} on this worker")
        return stored.snapshot()

    def tasks(self) -> list[TaskInfo]:
        """Every task this worker knows (running, or finished and still stored), oldest
        first."""
        infos = {t.info.task_id: self._snapshot(t) for t in self._tasks.values()}
        if self.store is not None:
            for task_id, stored in self.store.tasks.items():
                if task_id not in infos:
                    infos[task_id] = stored.snapshot()
        return sorted(infos.values(), key=lambda i: i.created_at)

    def unfinished(self) -> list[TaskInfo]:
        """The tasks that have not ended yet."""
        return [self._snapshot(t) for t in self._tasks.values() if not t.info.status.is_final]

    def changes(self, since: int, limit: int) -> tuple[list[TaskInfo], int]:
        """Up to ``limit`` tasks whose info changed after catalog version ``since`` (oldest
        change first), and the version the answer is complete up to."""
        if self.store is None:  # memory only: the tasks it still holds, by change
            held = sorted(
                (t for t in self._tasks.values() if t.version > since), key=lambda t: t.version
            )[:limit]
            version = held[-1].version if len(held) == limit else self._version
            return [self._snapshot(t) for t in held], version
        changed = self.store.changed_since(since, limit)
        if len(changed) < limit:
            version = self.store.version
        else:
            version = changed[-1].version
        return [self._stored_snapshot(t) for t in changed], version

    def _stored_snapshot(self, stored: StoredTask) -> TaskInfo:
        task = self._tasks.get(stored.info.task_id)
        info = stored.snapshot()
        if task is not None:
            info.lines = self._snapshot(task).lines
        return info

    def _snapshot(self, task: _Task) -> TaskInfo:
        info = replace(task.info)
        if info.task_id in self.manager:
            info.lines = self.manager.get(info.task_id).lines_read
        stored = self.store.tasks.get(info.task_id) if self.store is not None else None
        if stored is not None:
            info.store_error = stored.error or info.store_error
            info.expired = stored.expired
        return info

    # ------------------------------------------------------------------ lifecycle

    async def start(self, spec: TaskSpec) -> TaskInfo:
        """Run ``spec`` as a container. Returns once it runs (or failed to start).

        Raises :class:`InvalidTaskId` / :class:`InvalidRequest` before any Docker call (also
        for limits above this worker's maxima), and :class:`TaskExists` for a task id in use.
        """
        validate_task_id(spec.task_id)
        if self.draining:
            raise WorkerUnavailable(f"worker {self.name} is draining: it takes no new task")
        validate_spec(spec)
        limits = self.limits.apply(spec)
        if spec.task_id in self._tasks or (self.store and spec.task_id in self.store.tasks):
            raise TaskExists(f"task {spec.task_id} already exists on this worker")
        source = DockerContainerLog(self.logs, self.runtime, tty=spec.tty)
        task = self._track(
            TaskInfo(
                task_id=spec.task_id,
                status=TaskStatus.PENDING,
                image=spec.image,
                command=spec.command,
                tty=spec.tty,
                worker=self.name,
                created_at=time.time(),
                labels=dict(spec.labels),
                memory=limits.memory,
                cpus=limits.cpus,
                pids_limit=limits.pids_limit,
                timeout=limits.timeout,
            ),
            source,
            read=False,
        )
        try:
            source.container_id = await self.runtime.create(
                spec,
                self.name,
                instance=self.instance,
                log_options=self.log_options,
                limits=limits,
            )
            task.info.container_id = source.container_id
            if task.cancel_requested:
                raise _StoppedBeforeStart
            await self.runtime.start(source.container_id)
        except _StoppedBeforeStart:
            await self._end(task, TaskEnd(TaskStatus.CANCELLED, None, "stopped before it started"))
            return self._snapshot(task)
        except TaskExists:
            self._tasks.pop(spec.task_id, None)
            self.manager.stop_task(spec.task_id, TaskEnd(TaskStatus.FAILED, None, "duplicate"))
            raise
        except Exception as exc:
            await self._end(task, TaskEnd(TaskStatus.FAILED, None, str(exc)))
            return self._snapshot(task)
        task.info.status = TaskStatus.RUNNING
        task.info.started_at = time.time()
        self._changed(task)
        self.manager.begin_reading(spec.task_id)
        task.supervisor = asyncio.create_task(self._supervise(task), name=f"task-{spec.task_id}")
        self._watch_deadline(task)
        return self._snapshot(task)

    async def stop(self, task_id: str) -> TaskInfo:
        """Stop a running task (status ``cancelled``); returns once it ended."""
        info = self.info(task_id)
        task = self._tasks[task_id]
        if info.status.is_final:
            return info
        task.cancel_requested = True
        if task.info.container_id:
            with contextlib.suppress(ContainerGone):
                await self.runtime.stop(task.info.container_id, self.stop_grace)
        if task.done is not None:
            await wait_set(task.done, self.stop_grace + 10)
        return self._snapshot(task)

    async def adopt_existing(self) -> list[str]:
        """Take over the containers a previous run of this worker left behind: those with its
        name and its instance id (its data directory's, :mod:`worker.instance`); another
        worker's are never touched, whatever its name.

        A task the store knows continues exactly after its last stored line; one it does not
        (a memory-only worker, ``--no-store``) is read again from the start, so every line gets
        the same ``seq`` as before. Tasks the store has as unfinished whose container is gone
        end ``lost``. Returns the adopted task ids.
        """
        adopted = []
        states = await self.runtime.list_tasks(self.name, self.instance)
        present = {state.task_id for state in states}
        if self.store is not None:
            for task_id, stored in list(self.store.tasks.items()):
                if not stored.info.status.is_final and task_id not in present:
                    info = replace(
                        stored.info,
                        status=TaskStatus.LOST,
                        error="its container was gone when the worker restarted",
                        finished_at=time.time(),
                    )
                    self.store.record(info)
        for state in states:
            task_id = state.task_id
            try:
                validate_task_id(task_id)
            except InvalidRequest:
                continue
            if task_id in self._tasks:
                continue
            source = DockerContainerLog(self.logs, self.runtime, tty=state.tty)
            source.container_id = state.container_id
            info = TaskInfo(
                task_id=task_id,
                status=TaskStatus.RUNNING,
                image=state.image,
                command=state.command,
                tty=state.tty,
                worker=self.name,
                created_at=time.time(),
                container_id=state.container_id,
            )
            first_seq, recent = 1, None
            known = self.store.tasks.get(task_id) if self.store is not None else None
            if self.store is not None and known is not None and not known.expired:
                info = replace(known.info, status=TaskStatus.RUNNING)
                info.container_id = state.container_id
                last = await self.store.last_seq(task_id)
                first_seq = last + 1
                recent = await self.store.last_lines(task_id, RECENT)
            task = self._track(info, source, read=True, first_seq=first_seq, recent=recent)
            task.supervisor = asyncio.create_task(self._supervise(task), name=f"task-{task_id}")
            self._watch_deadline(task)  # a stored task keeps its timeout and start time
            adopted.append(task_id)
        return adopted

    def _track(
        self,
        info: TaskInfo,
        source: DockerContainerLog,
        *,
        read: bool,
        first_seq: int = 1,
        recent: list | None = None,
    ) -> _Task:
        """Register a task and its (already subscribable) broadcaster."""
        task = _Task(info, done=asyncio.Event())
        self._tasks[info.task_id] = task
        self.manager.start_task(info.task_id, source, read=read, first_seq=first_seq, recent=recent)
        self._changed(task)
        return task

    async def _supervise(self, task: _Task) -> None:
        task_id = task.info.task_id
        await self.manager.reading_done(task_id)
        try:
            state = await self._inspect_until_answered(task.info.container_id)
            if self._maybe_oom(task, state):
                state = replace(state, oom_killed=await self._saw_oom(task))
            end = self._end_for(task, state)
        except ContainerGone:
            status = TaskStatus.CANCELLED if task.cancel_requested else TaskStatus.FAILED
            end = TaskEnd(status, None, "the container was removed")
        await self._end(task, end)

    def _watch_deadline(self, task: _Task) -> None:
        """Stop ``task`` once it has run for its timeout (if it has one): the deadline is
        started_at + timeout, wall clock, so a restarted worker keeps it."""
        info = task.info
        if info.timeout <= 0 or info.status.is_final:
            return
        deadline = (info.started_at or time.time()) + info.timeout
        task.watchdog = asyncio.create_task(
            self._time_out(task, deadline), name=f"timeout-{info.task_id}"
        )

    async def _time_out(self, task: _Task, deadline: float) -> None:
        """At ``deadline``, stop the task as ``stop`` does (SIGTERM, SIGKILL after the grace);
        it then ends ``failed``, "timed out after ..." (see _end_for)."""
        await asyncio.sleep(max(0.0, deadline - time.time()))
        if task.info.status.is_final or task.cancel_requested:
            return
        task.timed_out = True
        log.info(
            "%s ran past its timeout of %s: stopping it",
            task.info.task_id,
            format_duration(task.info.timeout),
        )
        for attempt in range(10_000):  # until it stopped (or ended: _end cancels this)
            try:
                await self.runtime.stop(task.info.container_id, self.stop_grace)
                return
            except ContainerGone:
                return
            except DockerUnavailable as exc:
                log.warning("stopping %s (timed out): %s", task.info.task_id, exc)
                await asyncio.sleep(_INSPECT_RETRY[min(attempt, len(_INSPECT_RETRY) - 1)])

    async def _inspect_until_answered(self, container_id: str) -> ContainerState:
        for attempt in range(10_000):
            try:
                return await self.runtime.inspect(container_id)
            except ContainerGone:
                raise
            except DockerUnavailable as exc:
                log.warning("inspect %s: %s", container_id[:12], exc)
                await asyncio.sleep(_INSPECT_RETRY[min(attempt, len(_INSPECT_RETRY) - 1)])
        raise DockerUnavailable("Docker never answered")

    @staticmethod
    def _maybe_oom(task: _Task, state: ContainerState) -> bool:
        """A SIGKILL (137) that neither the worker nor a user sent, and Docker did not say
        why: the kernel's OOM killer may have sent it (see ContainerRuntime.saw_oom)."""
        ours = task.timed_out or task.cancel_requested
        return state.exit_code == 137 and not state.oom_killed and not ours

    async def _saw_oom(self, task: _Task) -> bool:
        info = task.info
        since = (info.started_at or info.created_at) - 5.0  # the engine's clock may differ
        try:
            return await self.runtime.saw_oom(info.container_id, since, _LATE_OOM_WAIT)
        except (DockerUnavailable, ContainerGone) as exc:
            log.warning("asking Docker whether %s ran out of memory: %s", info.task_id, exc)
            return False

    def _end_for(self, task: _Task, state: ContainerState) -> TaskEnd:
        code = state.exit_code
        if task.timed_out:
            return TaskEnd(
                TaskStatus.FAILED, code, f"timed out after {format_duration(task.info.timeout)}"
            )
        if task.cancel_requested:
            return TaskEnd(TaskStatus.CANCELLED, code, "stopped on request")
        if code == 0:
            return TaskEnd(TaskStatus.SUCCESS, 0)
        reason = "out of memory (OOMKilled)" if state.oom_killed else state.error
        return TaskEnd(TaskStatus.FAILED, code, reason)

    async def _end(self, task: _Task, end: TaskEnd) -> None:
        info = task.info
        info.status = end.status
        info.exit_code = end.exit_code
        info.error = end.error
        info.finished_at = time.time()
        if task.watchdog is not None:
            task.watchdog.cancel()
        if self.manager.stats is not None:
            self.manager.stats.exits[end.status.value] += 1
        self.manager.stop_task(info.task_id, end)
        if task.done is not None:
            task.done.set()
        self._changed(task)
        if info.container_id and not self.keep_containers:
            try:
                await self.runtime.remove(info.container_id)
            except DockerUnavailable as exc:
                log.warning("could not remove the container of %s: %s", info.task_id, exc)
        loop = asyncio.get_running_loop()
        self._forget[info.task_id] = loop.call_later(
            self.manager.retention, self._tasks_forget, info.task_id
        )

    def _tasks_forget(self, task_id: str) -> None:
        self._forget.pop(task_id, None)
        self._tasks.pop(task_id, None)

    def _changed(self, task: _Task) -> None:
        self._version += 1
        task.version = self._version
        info = self._snapshot(task)
        if self.store is not None:
            self.store.record(info)
        if self.on_change is not None:
            self.on_change(info)

    async def close(self) -> None:
        """Stop supervising. Running containers keep running (a restarted worker adopts them)."""
        supervisors = [t.supervisor for t in self._tasks.values() if t.supervisor is not None]
        supervisors += [t.watchdog for t in self._tasks.values() if t.watchdog is not None]
        for sup in supervisors:
            sup.cancel()
        await asyncio.gather(*supervisors, return_exceptions=True)
        for handle in self._forget.values():
            handle.cancel()
        self._forget.clear()
