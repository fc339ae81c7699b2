"""The embedded worker as its master calls it: in this process, without gRPC.

`master serve --local-worker` (the quick start's default) runs a worker in the master's
process and event loop. The worker still reports through the cluster port (mutual TLS), so the
registry knows it as it knows any other; but the master's calls to it (start, stop, list,
search, and above all its log streams) need not cross a socket to this same process:
:class:`LocalWorkerClient` makes them on the worker's executor and manager directly. A log
stream then costs no gRPC hop: the relay gets the worker's batches as they are (the same line
objects, no encoding, no linger: there is no message to save), one hand-off sooner
(docs/BENCHMARKS.md: rows 1e and 3e). Errors are the worker's own (:mod:`shared.errors`), as
:class:`~master.worker_client.WorkerClient` promises.

:class:`WithLocalWorker` routes: the embedded worker's name and address to its in-process
client, every other worker to gRPC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from master.worker_client import WorkerClient, WorkerClients
from shared.convert import query_from_pb
from shared.flowstats import FlowStats
from shared.linefilter import LineFilter
from shared.model import Batch, TaskInfo, TaskSpec
from shared.protos import logcast_pb2 as pb
from worker.executor import TaskExecutor
from worker.filtering import open_stream
from worker.manager import LogStreamManager
from worker.searching import search

SINK = "local"  # the worker's metrics: lines sent to its own master in process


class LocalWorkerClient:
    """:class:`~master.worker_client.WorkerClient` on a worker in this process."""

    def __init__(
        self, executor: TaskExecutor, manager: LogStreamManager, stats: FlowStats | None = None
    ) -> None:
        self._executor = executor
        self._manager = manager
        self._stats = stats  # the worker's: lines sent, their latency

    async def start_task(self, spec: TaskSpec) -> TaskInfo:
        """See :meth:`WorkerClient.start_task`."""
        return _copy(await self._executor.start(spec))

    async def stop_task(self, task_id: str) -> TaskInfo:
        """See :meth:`WorkerClient.stop_task`."""
        return _copy(await self._executor.stop(task_id))

    async def list_tasks(self) -> list[TaskInfo]:
        """See :meth:`WorkerClient.list_tasks`."""
        return [_copy(info) for info in self._executor.tasks()]

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
        """See :meth:`WorkerClient.stream_logs`: the worker's subscription, batch by batch."""
        subscription = await open_stream(
            self._manager,
            task_id,
            line_filter,
            tail=tail,
            after=after,
            follow=follow,
            lossless=lossless,
        )
        async with subscription:
            yield Batch(newest=subscription.newest)  # subscribed (as the gRPC stream's ack)
            stats = self._stats
            async for batch in subscription:
                if stats is not None:
                    stats.delivered(SINK, batch, live=subscription.live)
                yield batch

    async def read_logs(
        self, task_id: str, after: int, before: int, max_lines: int, max_bytes: int
    ) -> Batch:
        """See :meth:`WorkerClient.read_logs`."""
        batch = await self._manager.read_slice(task_id, after, before, max_lines, max_bytes)
        if self._stats is not None:
            self._stats.delivered(SINK, batch, live=False)
        return batch

    async def search_logs(self, request: pb.SearchRequest) -> AsyncIterator[pb.SearchBatch]:
        """See :meth:`WorkerClient.search_logs` (the messages the worker's gRPC sends)."""
        async for progress in search(
            self._manager,
            self._manager.store,
            request.task_id,
            query_from_pb(request),
            request.time_budget,
        ):
            yield progress.to_pb()


def _copy(info: TaskInfo) -> TaskInfo:
    """The master's own copy of the worker's record (it sets fields of its own, such as
    ``worker``; the worker's record must not change with them)."""
    return replace(info, labels=dict(info.labels))


class WithLocalWorker:
    """:class:`~master.worker_client.WorkerClients`: the embedded worker (once
    :meth:`attach` names it) in process, every other worker through ``remote``."""

    def __init__(self, remote: WorkerClients) -> None:
        self.remote = remote
        self._local: tuple[str, str, WorkerClient] | None = None

    def attach(self, address: str, name: str, client: WorkerClient) -> None:
        """Worker ``name``, reporting ``address``, is in this process: call it as ``client``."""
        self._local = (address, name, client)

    def detach(self) -> None:
        """The embedded worker stopped."""
        self._local = None

    def get(self, address: str, name: str) -> WorkerClient:
        """See :meth:`WorkerClients.get`."""
        local = self._local
        if local is not None and local[0] == address and local[1] == name:
            return local[2]
        return self.remote.get(address, name)

    async def close(self) -> None:
        """See :meth:`WorkerClients.close`."""
        await self.remote.close()
