"""The master's coordinator: workers, task placement, relays, and StreamTaskLogsUnified.

Every client path (the CLI's gRPC stream, the WebSocket endpoint, ...) reads a task's log
through :meth:`Master.StreamTaskLogsUnified`, which subscribes it to the task's
:class:`~master.relay.TaskRelay`. Workers are reached only through the
:class:`~master.worker_client.WorkerClients` interface (gRPC, or an in-memory fake in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from master.config import MasterConfig
from master.registry import Registry, pick_worker
from master.relay import BACKOFF, TaskRelay
from master.worker_client import WorkerClients
from shared.addresses import validate_dial_address
from shared.cursor import ResumeCursor
from shared.errors import (
    InvalidRequest,
    LogcastError,
    LogExpired,
    TaskExists,
    TaskNotFound,
    WorkerUnavailable,
)
from shared.flowstats import FlowStats
from shared.ids import new_task_id, validate_task_id, validate_worker_name
from shared.linefilter import LineFilter
from shared.listing import TaskQuery
from shared.model import (
    Batch,
    ConnectionState,
    TaskEnd,
    TaskInfo,
    TaskSpec,
    TaskStatus,
    WorkerSummary,
)
from shared.protos import logcast_pb2 as pb
from shared.subscription import Subscription
from shared.taskcheck import validate_reported_info, validate_spec

log = logging.getLogger(__name__)

ID_ATTEMPTS = 5  # generated task ids a placement tries when the worker already has one


@dataclass(slots=True)
class LogUpdate:
    """What a :data:`LogStreamHandler` receives: a batch of lines and notices, whether the task
    is complete (``batch.end`` is set), and its status."""

    batch: Batch
    is_complete: bool
    status: TaskStatus


LogStreamHandler = Callable[[LogUpdate], Awaitable[None]]
"""Called for every batch, in order. Raising stops the stream (the client went away)."""


def check_heartbeat(
    name: str, address: str, tasks: list[TaskInfo], sent_at: float | None = None
) -> None:
    """Refuse (:class:`InvalidRequest`) a heartbeat the master must not believe: a worker name
    ``worker serve --name`` would refuse, an address that is not ``HOST:PORT``, a task id
    that is not one, a task info bigger than a worker sends, or a send time that is no time.
    Each message says which worker and what (escaped)."""
    try:
        validate_worker_name(name)
    except InvalidRequest as exc:
        raise InvalidRequest(f"heartbeat refused: {exc}") from None
    try:
        validate_dial_address(address)
        for info in tasks:
            validate_task_id(info.task_id)
            validate_reported_info(info)
        if sent_at is not None and not math.isfinite(sent_at):
            raise InvalidRequest(f"invalid send time {sent_at!r}")
    except InvalidRequest as exc:
        raise InvalidRequest(f"heartbeat of worker {name} refused: {exc}") from None


class Master:
    """Tracks workers and tasks; every client's logs go through :meth:`StreamTaskLogsUnified`."""

    def __init__(
        self,
        config: MasterConfig,
        workers: WorkerClients,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.registry = Registry(
            worker_timeout=config.worker_timeout,
            started_at=clock(),
            max_finished=config.max_finished_tasks,
        )
        self.workers = workers
        self.relays: dict[str, TaskRelay] = {}
        # the log flow, counted per batch for /metrics (task exits: as the registry sees them)
        self.stats = FlowStats(exits=self.registry.exits)
        self._janitor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the background sweep (dead workers, idle relays)."""
        self._janitor = asyncio.create_task(self._sweep_forever(), name="master-janitor")

    async def close(self) -> None:
        """Stop relays and close worker channels."""
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
        for relay in list(self.relays.values()):
            await relay.close()
        self.relays.clear()
        await self.workers.close()

    # ------------------------------------------------------------------ workers

    def heartbeat(
        self,
        name: str,
        address: str,
        tasks: list[TaskInfo],
        *,
        since: int = 0,
        version: int = 0,
        sent_at: float | None = None,
    ) -> int:
        """A worker reports in (see :class:`Registry`); returns the catalog version of that
        worker the master now has. A report with a bad name, address, task id or an oversized
        task info is refused whole (:class:`InvalidRequest`, see :func:`check_heartbeat`)
        and changes nothing."""
        check_heartbeat(name, address, tasks, sent_at)
        was = {w.name: w.alive for w in self.registry.workers()}
        synced = self.registry.heartbeat(
            name, address, tasks, self.clock(), since=since, version=version, sent_at=sent_at
        )
        if not was.get(name, False):
            log.info("worker %s is up at %s with %d task(s)", name, address, len(tasks))
        return synced

    def list_workers(self) -> list[WorkerSummary]:
        """Every worker with its number of unfinished tasks."""
        return [
            WorkerSummary(
                w.name,
                w.address,
                w.alive,
                self.registry.running_count(w.name),
                w.last_seen,
                clock_skew=w.clock_skew,
            )
            for w in self.registry.workers()
        ]

    # ------------------------------------------------------------------ tasks

    async def run_task(self, spec: TaskSpec) -> TaskInfo:
        """Place ``spec`` on the live worker with the fewest running tasks and start it there.
        A spec :func:`~shared.taskcheck.validate_spec` refuses reaches no worker."""
        validate_spec(spec)
        named = bool(spec.task_id)
        if named:
            validate_task_id(spec.task_id)
            if self.registry.has_task(spec.task_id):
                raise TaskExists(f"task {spec.task_id} already exists")
        worker = pick_worker(self.registry)
        client = self.workers.get(worker.address, worker.name)
        for attempt in range(ID_ATTEMPTS):
            if not named:
                spec = replace(spec, task_id=self._fresh_id())
            try:
                info = await client.start_task(spec)
                break
            except TaskExists:
                # a generated id the worker has, and this registry does not: a task another
                # master on the same workers just made, or one this one forgot (the worker
                # keeps finished tasks longer): another id
                if named or attempt == ID_ATTEMPTS - 1:
                    raise
        info.worker = worker.name
        self.registry.add_task(info)
        log.info("placed %s on %s (%s)", info.task_id, worker.name, info.status)
        return info

    def _fresh_id(self) -> str:
        task_id = new_task_id()
        while self.registry.has_task(task_id):
            task_id = new_task_id()
        return task_id

    async def stop_task(self, task_id: str) -> TaskInfo:
        """Stop a running task; its status becomes ``cancelled``."""
        info = self.get_task(task_id)
        if info.status.is_final:
            return info
        worker = self.registry.worker(info.worker)
        if not worker.alive:
            raise WorkerUnavailable(f"worker {worker.name} of {task_id} is not answering")
        stopped = await self.workers.get(worker.address, worker.name).stop_task(task_id)
        self.registry.task_ended(task_id, stopped.status, stopped.exit_code, stopped.error)
        return self.get_task(task_id)

    async def search(self, request: pb.SearchRequest) -> AsyncIterator[pb.SearchBatch]:
        """The search of a task's log by its worker, relayed as it comes."""
        info = self.get_task(request.task_id)
        worker = self.registry.worker(info.worker)
        if not worker.alive:
            raise WorkerUnavailable(f"worker {worker.name} of {info.task_id} is not answering")
        client = self.workers.get(worker.address, worker.name)
        async for batch in client.search_logs(request):
            yield batch

    def get_task(self, task_id: str) -> TaskInfo:
        """What the master knows of ``task_id``."""
        validate_task_id(task_id)
        self._known_or_raise(task_id)
        return self.registry.task(task_id)

    def list_tasks(self, query: TaskQuery | None = None) -> tuple[list[TaskInfo], str]:
        """One page of tasks, newest first, and the next page's token ("": no more)."""
        return self.registry.page(query or TaskQuery())

    def _known_or_raise(self, task_id: str) -> None:
        if self.registry.has_task(task_id):
            return
        if self.registry.warming_up(self.clock()):
            raise WorkerUnavailable(
                f"the master just started and has not heard from every worker yet; "
                f"{task_id} may still appear: retry in a few seconds"
            )
        raise TaskNotFound(f"no task {task_id}")

    # ------------------------------------------------------------------ logs

    async def StreamTaskLogsUnified(
        self,
        task_id: str,
        user: str,
        handler: LogStreamHandler,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
        sink: str = "grpc",
        line_filter: LineFilter | None = None,
    ) -> TaskEnd | None:
        """Stream the log of ``task_id`` to ``handler``: history (last 1000 lines, ``tail=N``,
        or everything after seq ``after``), then live lines, then the task's end.

        Every client path (the CLI's gRPC stream, the WebSocket endpoint, ...) comes through
        here. All clients of a task share one upstream worker subscription (the task's
        relay). Any depth is served (older lines come from the worker's store), and a
        ``lossless`` handler never loses lines: when it falls behind it continues from the
        store. Returns the task's end, or None when ``follow=False`` stopped earlier.
        Raises InvalidTaskId, TaskNotFound, LogExpired (retention removed the log), or
        WorkerUnavailable while the master warms up.

        With an active ``line_filter``, only the lines that pass come, each with its seq
        (``tail``: the last N that pass): the worker filters its history and live lines, on
        a stream of this client's own (the relay carries every line), at this client's
        pace: a filtered view is lossless.
        """
        validate_task_id(task_id)
        self._known_or_raise(task_id)
        if self.registry.task(task_id).expired:
            raise LogExpired(f"the log of {task_id} has expired (removed by retention)")
        if line_filter is not None and line_filter.active:
            line_filter.selector()  # a bad pattern is the client's error, before any worker call
            return await self._stream_filtered(
                task_id, handler, line_filter, tail=tail, after=after, follow=follow, sink=sink
            )
        relay = await self._relay(task_id)
        await relay.wait_ready(self.config.ready_timeout)
        # the lines the worker had when the relay subscribed: `tail` counts back from there,
        # and a no-follow client ends there
        await relay.wait_caught_up(self.config.ready_timeout)
        if relay.expired is not None:
            raise relay.expired
        log.debug("%s follows %s", user, task_id)
        self.stats.subscribers[sink] += 1
        try:
            async with Subscription(
                relay.hub, tail=tail, after=after, follow=follow, lossless=lossless
            ) as sub:
                async for batch in sub:
                    end = await self._pass_on(handler, task_id, batch, sink, live=sub.live)
                    if end is not None:
                        return end
                    del batch  # (not kept while the client idles: see Subscription)
        finally:
            self.stats.subscribers[sink] -= 1
        return None

    async def _pass_on(
        self, handler: LogStreamHandler, task_id: str, batch: Batch, sink: str, *, live: bool
    ) -> TaskEnd | None:
        """Hand ``batch`` to a client's handler with the task's status, count it; its end."""
        end = batch.end
        status = end.status if end is not None else self.registry.status(task_id)
        await handler(LogUpdate(batch, end is not None, status))
        self.stats.delivered(sink, batch, live=live)
        return end

    async def _stream_filtered(
        self,
        task_id: str,
        handler: LogStreamHandler,
        line_filter: LineFilter,
        *,
        tail: int | None,
        after: int | None,
        follow: bool,
        sink: str,
    ) -> TaskEnd | None:
        """A filtered stream from the task's worker, passed on as it comes. When the worker
        stream breaks, the handler is told (``reconnecting``) and the stream resumes after the
        last seq it delivered (the filter is deterministic: nothing twice, nothing missed),
        :data:`~master.relay.BACKOFF` apart; then WorkerUnavailable."""
        registry = self.registry
        cursor = ResumeCursor(after=after, tail=tail)
        attempt = 0
        self.stats.subscribers[sink] += 1
        try:
            while True:
                info = registry.task(task_id)
                if info.status is TaskStatus.LOST:  # its worker is gone: as the relay ends it
                    end = TaskEnd(TaskStatus.LOST, None, info.error)
                    await handler(LogUpdate(Batch(end=end), True, end.status))
                    return end
                worker = registry.worker(info.worker)
                want_tail, want_after = cursor.request()
                try:
                    if not worker.alive:
                        raise WorkerUnavailable(
                            f"worker {worker.name} of {task_id} is not answering"
                        )
                    client = self.workers.get(worker.address, worker.name)
                    async for batch in client.stream_logs(
                        task_id,
                        tail=want_tail,
                        after=want_after,
                        follow=follow,
                        lossless=True,
                        line_filter=line_filter,
                    ):
                        if not batch:
                            continue  # the worker's ack: subscribed
                        attempt = 0
                        cursor.advance(batch)
                        ended = await self._pass_on(handler, task_id, batch, sink, live=False)
                        if ended is not None:
                            return ended
                    if not follow:
                        return None
                except (InvalidRequest, TaskNotFound, LogExpired):
                    raise
                except LogcastError as exc:
                    if attempt >= len(BACKOFF):
                        raise WorkerUnavailable(
                            f"the filtered stream of {task_id} broke: {exc}"
                        ) from None
                    log.info("%s: filtered stream broke (%s); resuming", task_id, exc)
                state = Batch(state=ConnectionState.RECONNECTING)
                await handler(LogUpdate(state, False, registry.status(task_id)))
                await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
                attempt += 1
        finally:
            self.stats.subscribers[sink] -= 1

    async def _relay(self, task_id: str) -> TaskRelay:
        """The task's relay; a new one when there is none, or when the one there ended the
        task ``lost`` and its worker has reported it since (it was hung, not gone)."""
        relay = self.relays.get(task_id)
        if relay is not None and relay.outlived:
            log.info("%s is back from a hung worker: following it anew", task_id)
            del self.relays[task_id]
            await relay.close()
            relay = None
        if relay is None:
            relay = self.relays[task_id] = TaskRelay(
                task_id,
                self.registry,
                self.workers,
                self.config.relay_limits,
                self.clock,
                self.stats,
            )
        return relay

    # ------------------------------------------------------------------ housekeeping

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            await self.sweep()

    async def sweep(self) -> None:
        """Mark silent workers down (their tasks lost) and free idle or finished relays."""
        now = self.clock()
        for name in self.registry.sweep(now):
            log.warning("worker %s missed its heartbeats: marked down", name)
        for task_id, relay in list(self.relays.items()):
            if relay.hub.subscriber_count:
                relay.idle_since = now
                continue
            keep = self.config.relay_retention if relay.ended else self.config.relay_linger
            if now - relay.idle_since > keep:
                del self.relays[task_id]
                await relay.close()
