"""In-memory workers for the master: real hubs, scripted failures, no network.

:class:`FakeWorkers` implements :class:`master.worker_client.WorkerClients`; each address has
a :class:`FakeWorker` (a :class:`master.worker_client.WorkerClient`) whose tasks are plain
:class:`~shared.hub.LogHub` objects the test publishes into. ``break_streams()`` cuts every
open log stream (the relay sees WorkerUnavailable, as when a worker's connection drops),
``down = True`` makes every call fail that way, and ``requests`` records every log
subscription (task, tail, after) so a test can see where a relay resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from shared.convert import query_from_pb
from shared.errors import TaskExists, TaskNotFound, WorkerUnavailable
from shared.hub import HubLimits, LogHub
from shared.linefilter import BackScan, LineFilter
from shared.model import Batch, TaskEnd, TaskInfo, TaskSpec, TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.search import scan
from shared.subscription import Subscription


@dataclass(frozen=True)
class StreamRequest:
    """One log subscription a client opened."""

    task_id: str
    tail: int | None
    after: int | None
    follow: bool
    lossless: bool = False
    line_filter: LineFilter | None = None


@dataclass
class FakeWorker:
    """One in-memory worker (see the module docstring)."""

    limits: HubLimits = field(default_factory=HubLimits)
    hubs: dict[str, LogHub] = field(default_factory=dict)
    infos: dict[str, TaskInfo] = field(default_factory=dict)
    requests: list[StreamRequest] = field(default_factory=list)
    reads: list[tuple[str, int, int]] = field(default_factory=list)
    down: bool = False
    _breakers: set[Callable[[], None]] = field(default_factory=set)

    def add_task(self, task_id: str, status: TaskStatus = TaskStatus.RUNNING) -> LogHub:
        """A task this worker has; returns its hub (publish lines, finish it)."""
        hub = self.hubs[task_id] = LogHub(self.limits)
        self.infos[task_id] = TaskInfo(task_id, status, created_at=time.time())
        return hub

    def break_streams(self) -> None:
        """Cut every open log stream (WorkerUnavailable at its reader)."""
        for breaker in list(self._breakers):
            breaker()

    def _check(self) -> None:
        if self.down:
            raise WorkerUnavailable("the worker does not answer (fake: down)")

    async def start_task(self, spec: TaskSpec) -> TaskInfo:
        self._check()
        if spec.task_id in self.hubs:
            raise TaskExists(f"task {spec.task_id} already exists on this worker")
        self.add_task(spec.task_id)
        return self.infos[spec.task_id]

    async def stop_task(self, task_id: str) -> TaskInfo:
        self._check()
        hub = self._hub(task_id)
        hub.finish(TaskEnd(TaskStatus.CANCELLED, 137, "stopped on request"))
        self.infos[task_id].status = TaskStatus.CANCELLED
        return self.infos[task_id]

    async def list_tasks(self) -> list[TaskInfo]:
        self._check()
        return list(self.infos.values())

    def _hub(self, task_id: str) -> LogHub:
        try:
            return self.hubs[task_id]
        except KeyError:
            raise TaskNotFound(f"no task {task_id} on this worker") from None

    async def stream_logs(
        self,
        task_id: str,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
        line_filter: LineFilter | None = None,
    ) -> AsyncIterator[Batch]:
        self._check()
        hub = self._hub(task_id)
        self.requests.append(StreamRequest(task_id, tail, after, follow, lossless, line_filter))
        broken = asyncio.Event()
        self._breakers.add(broken.set)
        selector = line_filter.selector() if line_filter and line_filter.active else None
        if selector is not None and after is None:  # the last `tail` lines that pass
            scan_back = BackScan(selector, hub.limits.history if tail is None else tail)
            scan_back.feed(hub.read_kept(0, 0, 1 << 30, 1 << 40).lines)
            after = hub.next_seq - 1 if scan_back.start is None else scan_back.start - 1
            lossless = True
        try:
            async with Subscription(
                hub, tail=tail, after=after, follow=follow, lossless=lossless, selector=selector
            ) as sub:
                yield Batch(newest=hub.next_seq - 1)  # subscribed
                while True:
                    take = asyncio.ensure_future(sub.next_batch())
                    cut = asyncio.ensure_future(broken.wait())
                    await asyncio.wait({take, cut}, return_when=asyncio.FIRST_COMPLETED)
                    if cut.done():
                        take.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await take
                        raise WorkerUnavailable("the worker's stream broke (fake)")
                    cut.cancel()
                    batch = take.result()
                    if batch is None:
                        return
                    yield batch
        finally:
            self._breakers.discard(broken.set)

    async def search_logs(self, request: pb.SearchRequest) -> AsyncIterator[pb.SearchBatch]:
        """A search of what the task's hub holds (the fake has no store), in one message."""
        self._check()
        hub = self._hub(request.task_id)
        lines = hub.read_kept(0, 0, 1 << 30, 1 << 40).lines
        chunk = (lines[0].seq if lines else 1, [ln.content for ln in lines])
        hits, state = [], None
        for state in scan([chunk], query_from_pb(request)):
            hits += state.take()
        yield pb.SearchBatch(
            seqs=[h.seq for h in hits],
            contents=[h.content for h in hits],
            matches=[h.match for h in hits],
            scanned=state.scanned if state else 0,
            match_count=state.matches if state else 0,
            done=True,
            stopped="capped" if state and state.capped else "",
        )

    async def read_logs(
        self, task_id: str, after: int, before: int, max_lines: int, max_bytes: int
    ) -> Batch:
        """From the task hub's memory (a fake worker has no store): a gap ``evicted`` for
        what it no longer holds."""
        self._check()
        self.reads.append((task_id, after, before))
        return self._hub(task_id).read_kept(after, before, max_lines, max_bytes)


@dataclass
class FakeWorkers:
    """:class:`master.worker_client.WorkerClients` over in-memory workers, by address."""

    workers: dict[str, FakeWorker] = field(default_factory=dict)
    closed: bool = False

    def get(self, address: str, name: str = "") -> FakeWorker:
        return self.workers.setdefault(address, FakeWorker())

    async def close(self) -> None:
        self.closed = True
