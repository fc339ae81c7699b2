"""TaskRelay: one upstream log subscription per task per master, shared by all its clients.

The relay is a hub (the same fan-out core as the worker's broadcaster) fed by the worker's
log stream (through :class:`~master.worker_client.WorkerClient`) instead of Docker. Lines keep
the worker's ``seq``. When the worker stream breaks while the task may still run, the relay
resubscribes ``after`` the last seq it accounted for (:class:`~shared.cursor.ResumeCursor`),
with backoff, so clients see no duplicate; what the worker no longer has arrives as a ``gap``.
When the registry says the task is lost (its worker stopped heartbeating), the relay ends it
with status ``lost`` instead of waiting forever: a hung worker (``kill -STOP``) may keep its
stream open and silent, so the stream is cancelled then, not left to gRPC's keepalive. If the
worker comes back and reports the task (running, or ended meanwhile), the relay is
:attr:`~TaskRelay.outlived` and the master follows the task with a new one. States the
worker reports (``docker unreachable``, then ``streaming``) are passed on to every client.

The relay keeps only the newest lines; its hub's history is the worker's store
(:meth:`WorkerClient.read_logs`), so a client asking for more than the relay holds (``tail``,
``after``, or a lossless client that fell behind) gets it from the worker, not a ``gap``. The
relay's own upstream subscription is lossless: the worker never drops lines for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from master.registry import Registry
from master.worker_client import WorkerClient, WorkerClients
from shared.aio import wait_set
from shared.cursor import ResumeCursor
from shared.errors import LogcastError, LogExpired, TaskNotFound, WorkerUnavailable
from shared.flowstats import FlowStats
from shared.hub import HubLimits, LogHub
from shared.model import Batch, ConnectionState, TaskEnd, TaskStatus

log = logging.getLogger(__name__)

BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0)
HISTORY_ATTEMPTS = 8  # a history read retries this many times (~6 s) before it fails


class WorkerHistory:
    """A relay hub's :class:`~shared.hub.History`: the task's worker's store."""

    def __init__(self, task_id: str, registry: Registry, workers: WorkerClients) -> None:
        self.task_id = task_id
        self.registry = registry
        self.workers = workers
        self.reads = 0

    async def read(self, after: int, before: int, max_lines: int, max_bytes: int) -> Batch:
        self.reads += 1
        for attempt in range(HISTORY_ATTEMPTS):
            try:
                info = self.registry.task(self.task_id)
                worker = self.registry.worker(info.worker)
                client = self.workers.get(worker.address, worker.name)
                return await client.read_logs(self.task_id, after, before, max_lines, max_bytes)
            except WorkerUnavailable:
                if attempt == HISTORY_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
        raise AssertionError("unreachable")


class TaskRelay:
    """The master's copy of one task's log stream (see the module docstring)."""

    def __init__(
        self,
        task_id: str,
        registry: Registry,
        workers: WorkerClients,
        limits: HubLimits,
        clock: Callable[[], float],
        stats: FlowStats | None = None,
    ) -> None:
        self.task_id = task_id
        self._stats = stats
        self.registry = registry
        self.workers = workers
        self.history = WorkerHistory(task_id, registry, workers)
        # (a stalled viewer's lines beyond half its lag limit are kept packed: bench 6)
        self.hub = LogHub(limits, history=self.history, pack_lagging=True)
        self.expired: LogExpired | None = None  # the worker removed the task's log
        self.cursor = ResumeCursor(tail=limits.history)
        self.ready = asyncio.Event()  # set once the first upstream answer (or failure) is in
        self.upstream_newest = 0  # the worker's newest seq when the relay last subscribed
        self.caught_up = asyncio.Event()  # the relay has the lines the worker had then
        self.upstream_calls = 0
        self._clock = clock
        self.idle_since = clock()
        self._changed = asyncio.Event()
        self._lost = asyncio.Event()
        self._unsubscribe = registry.subscribe(self._registry_changed)
        self._task = asyncio.create_task(self._run(), name=f"relay-{task_id}")

    @property
    def ended(self) -> bool:
        """The task's end was received (or decided: lost)."""
        return self.hub.end is not None

    @property
    def outlived(self) -> bool:
        """The relay ended the task ``lost`` (its worker stopped answering), but the worker
        has reported it since, running or ended otherwise: it was hung, not gone. This relay
        only tells its last clients; new ones need a new relay."""
        end = self.hub.end
        return (
            end is not None
            and end.status is TaskStatus.LOST
            and self.registry.status(self.task_id) is not TaskStatus.LOST
        )

    async def wait_ready(self, timeout: float) -> None:
        """Wait until the relay has heard from the worker (at most ``timeout`` seconds)."""
        await wait_set(self.ready, timeout)

    async def wait_caught_up(self, timeout: float) -> None:
        """Wait until the relay has every line the worker had when the relay subscribed (a
        no-follow client then ends after them), at most ``timeout`` seconds."""
        await wait_set(self.caught_up, timeout)

    def _check_caught_up(self) -> None:
        if self.ended or self.hub.next_seq - 1 >= self.upstream_newest:
            self.caught_up.set()

    async def close(self) -> None:
        """Stop relaying."""
        self._unsubscribe()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        attempt = 0
        while not self.ended:
            try:
                info = self.registry.task(self.task_id)
                if info.status is TaskStatus.LOST:
                    self._finish(TaskEnd(TaskStatus.LOST, None, info.error))
                    break
                worker = self.registry.worker(info.worker)
            except (TaskNotFound, WorkerUnavailable) as exc:
                self._finish(TaskEnd(TaskStatus.LOST, None, str(exc)))
                break
            if not worker.alive:
                self.hub.set_state(ConnectionState.WORKER_UNREACHABLE)
                self.ready.set()
                self.caught_up.set()  # no-follow clients get what the relay has
                await self._wait_change(1.0)
                continue
            try:
                if await self._follow_unless_lost(self.workers.get(worker.address, worker.name)):
                    attempt = 0
            except TaskNotFound:
                self._gone(info.status, info.exit_code, info.error)
                break
            except LogExpired as exc:
                self.expired = exc
                self._gone(info.status, info.exit_code, info.error)
                break
            except LogcastError as exc:
                log.info("%s: worker stream broke (%s); resubscribing", self.task_id, exc)
            except Exception:  # a malformed message: never leave the clients hanging
                log.exception("%s: relaying failed; resubscribing", self.task_id)
            if self.ended:
                break
            if self._stats is not None:
                self._stats.reconnects["worker"] += 1
            self.hub.set_state(ConnectionState.RECONNECTING)
            self.ready.set()
            self.caught_up.set()
            await self._wait_change(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1
        self.ready.set()

    def _registry_changed(self) -> None:
        self._changed.set()
        if self.registry.status(self.task_id) is TaskStatus.LOST:
            self._lost.set()
        else:  # its worker came back before the relay acted on it: follow on
            self._lost.clear()

    async def _follow_unless_lost(self, worker: WorkerClient) -> bool:
        """:meth:`_follow`, given up as soon as the registry says the task is lost (its worker
        stopped heartbeating: a hung worker may keep its stream open and silent)."""
        follow = asyncio.create_task(self._follow(worker))
        lost = asyncio.create_task(self._lost.wait())
        try:
            await asyncio.wait({follow, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not follow.done():
                follow.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follow
        return follow.result() if not follow.cancelled() else False

    async def _follow(self, worker: WorkerClient) -> bool:
        """Relay one worker stream until it ends; True if it delivered anything."""
        hub = self.hub
        tail, after = self.cursor.request()
        self.upstream_calls += 1
        got = False
        async for batch in worker.stream_logs(self.task_id, tail=tail, after=after, lossless=True):
            if not got:
                got = True
                hub.set_state(ConnectionState.STREAMING)
                if batch.newest is not None:
                    self.upstream_newest = max(self.upstream_newest, batch.newest)
                self.ready.set()
            self.cursor.advance(batch)
            if batch.state is not None:
                hub.set_state(batch.state)
            if batch.gap is not None:
                hub.skip_to(batch.gap.to_seq + 1, batch.gap.reason)
            if batch.dropped is not None:
                hub.skip_to(batch.dropped.to_seq + 1, "upstream")
            if batch.lines:
                hub.publish_numbered(batch.lines)
            if batch.end is not None:
                self._finish(batch.end)
                return True
            self._check_caught_up()
        return got

    def _gone(self, status: TaskStatus, exit_code: int | None, error: str) -> None:
        """The worker no longer has the task: end with what the registry last knew."""
        if status.is_final:
            self._finish(TaskEnd(status, exit_code, error))
        else:
            self._finish(TaskEnd(TaskStatus.LOST, None, "its worker no longer has this task"))

    def _finish(self, end: TaskEnd) -> None:
        if not self.ended:
            self.hub.finish(end)
            self.registry.task_ended(self.task_id, end.status, end.exit_code, end.error)
        self.caught_up.set()

    async def _wait_change(self, timeout: float) -> None:
        self._changed.clear()
        await wait_set(self._changed, timeout)
