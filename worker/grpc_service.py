"""Adapter: the worker's gRPC service. Thin: every call goes to the executor or the manager.
Mutual TLS lets in only certificates of the master's CA; each call then checks that it is the
master's (:func:`shared.tls_grpc.require_master`): a worker serves its master only."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import grpc

from shared.convert import (
    batch_to_bytes,
    batch_to_pb,
    batch_to_wire,
    filter_from_pb,
    info_to_pb,
    query_from_pb,
    spec_from_pb,
)
from shared.flowstats import FlowStats
from shared.listing import TaskQuery, page_of
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import maps_errors
from shared.tls_grpc import require_master
from worker.executor import TaskExecutor
from worker.filtering import open_stream
from worker.manager import LogStreamManager
from worker.searching import search

# in a burst, a master's stream waits this long to gather more lines (see Subscription): each
# message costs grpcio's asyncio server ~0.1-0.2 ms, and a burst taken as it comes went out
# in batches of 30-270 lines (bench/PROFILES.md: "a burst lingers on its way to a master")
STREAM_LINGER = 0.008


class WorkerService(pb_grpc.WorkerServicer):
    """StartTask, StopTask, ListTasks, the StreamLogs subscription and ReadLogs."""

    def __init__(
        self, executor: TaskExecutor, manager: LogStreamManager, stats: FlowStats | None = None
    ) -> None:
        self.executor = executor
        self.manager = manager
        self.stats = stats  # lines sent, dropped, latency; refusals (maps_errors)
        self.subscriptions: Counter[str] = Counter()  # StreamLogs calls per task

    @maps_errors
    async def StartTask(
        self, request: pb.StartTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskInfo:
        require_master(context, "starting a task")
        return info_to_pb(await self.executor.start(spec_from_pb(request.spec)))

    @maps_errors
    async def StopTask(self, request: pb.TaskRef, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        require_master(context, "stopping a task")
        return info_to_pb(await self.executor.stop(request.task_id))

    @maps_errors
    async def ListTasks(
        self, request: pb.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskList:
        require_master(context, "listing tasks")
        if request.HasField("since_version"):
            infos, version = self.executor.changes(request.since_version, request.limit or 500)
            return pb.TaskList(tasks=[info_to_pb(i) for i in infos], version=version)
        query = TaskQuery.from_pb(request)
        newest_first = sorted(
            self.executor.tasks(), key=lambda i: (i.created_at, i.task_id), reverse=True
        )
        tasks, token = page_of(newest_first, query)
        return pb.TaskList(tasks=[info_to_pb(i) for i in tasks], next_page_token=token)

    @maps_errors
    async def StreamLogs(
        self, request: pb.StreamLogsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.LogBatch | bytes]:
        """History, then live lines, then the end. The first message is an empty ack. Batches
        go out serialized (:func:`batch_to_wire`: runs the store encoded are not encoded
        again); :func:`add_to_server` lets such bytes through as they are."""
        require_master(context, "reading a log")
        tail = request.tail if request.HasField("tail") else None
        after = request.after_seq if request.HasField("after_seq") else None
        subscription = await open_stream(
            self.manager,
            request.task_id,
            filter_from_pb(request.filter),
            tail=tail,
            after=after,
            follow=not request.no_follow,
            lossless=request.lossless,
            linger=STREAM_LINGER,
        )
        self.subscriptions[request.task_id] += 1
        async with subscription:
            # subscribed: tells the caller the stream is live, and how far the log goes now
            yield pb.LogBatch(first_seq=subscription.newest + 1)
            stats = self.stats
            # only the store leaves runs encoded on lines (LogLine.packed): without it there
            # are none to look for
            encode = batch_to_wire if self.manager.store is not None else batch_to_bytes
            async for batch in subscription:
                for data in encode(batch):
                    yield data
                if stats is not None:
                    stats.delivered("grpc", batch, live=subscription.live)

    @maps_errors
    async def SearchLogs(
        self, request: pb.SearchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SearchBatch]:
        """The task's whole log searched: matches (and context lines) in seq order (newest
        first when asked), with progress; the last message has ``done``."""
        require_master(context, "searching a log")
        query = query_from_pb(request)
        async for progress in search(
            self.manager, self.manager.store, request.task_id, query, request.time_budget
        ):
            yield progress.to_pb()

    @maps_errors
    async def ReadLogs(
        self, request: pb.ReadLogsRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogBatch:
        """A slice of the stored log (for a master's relay): one message, at most ~1 MiB."""
        require_master(context, "reading a log")
        batch = await self.manager.read_slice(
            request.task_id,
            request.after_seq,
            request.before_seq,
            request.max_lines,
            request.max_bytes,
        )
        if self.stats is not None:
            self.stats.delivered("grpc", batch, live=False)
        return next(batch_to_pb(batch))


def add_to_server(service: WorkerService, server: grpc.aio.Server) -> None:
    """The generated ``add_WorkerServicer_to_server``, except that StreamLogs sends a message
    that is already serialized (bytes) as it is."""
    pb_grpc.add_WorkerServicer_to_server(service, _Registrar(server))


def _serialize_batch(message: pb.LogBatch | bytes) -> bytes:
    return message if isinstance(message, bytes) else message.SerializeToString()


class _Registrar:
    """Hands the generated code's handlers to ``server``, StreamLogs' with its serializer."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """Superseded by the registered handlers below (the generated code calls both)."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        handlers = dict(handlers)
        handlers["StreamLogs"] = handlers["StreamLogs"]._replace(
            response_serializer=_serialize_batch
        )
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service, handlers),)
        )
        self._server.add_registered_method_handlers(service, handlers)
