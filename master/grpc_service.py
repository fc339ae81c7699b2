"""Adapter: the master's gRPC service, for workers (Heartbeat) and CLI clients. Thin: every
call goes to the coordinator (:class:`master.coordinator.Master`)."""

from __future__ import annotations

import asyncio
import contextlib

import grpc

from master.coordinator import LogUpdate, Master
from shared.convert import batch_to_pb, info_from_pb, info_to_pb, spec_from_pb, worker_to_pb
from shared.errors import WorkerUnavailable
from shared.listing import TaskQuery
from shared.model import ConnectionState, summary
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import maps_errors


class MasterService(pb_grpc.MasterServicer):
    """Heartbeat, RunTask, StopTask, GetTask, ListTasks, ListWorkers, StreamLogs."""

    def __init__(self, master: Master) -> None:
        self.master = master
        self.stats = master.stats  # refusals, counted by maps_errors
        self._stopping = asyncio.Event()

    def going_away(self) -> None:
        """The master is shutting down: every log stream sends ``master restarting`` and
        ends (its client reconnects and resumes); a log stream asked for from now on is
        refused (UNAVAILABLE: its client retries, and reaches the next master)."""
        self._stopping.set()

    @maps_errors
    async def Heartbeat(
        self, request: pb.HeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> pb.HeartbeatResponse:
        tasks = [info_from_pb(t) for t in request.tasks]
        synced = self.master.heartbeat(
            request.name,
            request.address,
            tasks,
            since=request.since_version,
            version=request.catalog_version,
            sent_at=request.sent_at if request.HasField("sent_at") else None,
        )
        return pb.HeartbeatResponse(
            interval=self.master.config.worker_timeout / 5, synced_version=synced
        )

    @maps_errors
    async def RunTask(
        self, request: pb.RunTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskInfo:
        return info_to_pb(await self.master.run_task(spec_from_pb(request.spec)))

    @maps_errors
    async def StopTask(self, request: pb.TaskRef, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        return info_to_pb(await self.master.stop_task(request.task_id))

    @maps_errors
    async def GetTask(self, request: pb.TaskRef, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        return info_to_pb(self.master.get_task(request.task_id))

    @maps_errors
    async def ListTasks(
        self, request: pb.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskList:
        tasks, token = self.master.list_tasks(TaskQuery.from_pb(request))
        return pb.TaskList(tasks=[info_to_pb(summary(t)) for t in tasks], next_page_token=token)

    @maps_errors
    async def ListWorkers(
        self, request: pb.ListWorkersRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkerList:
        return pb.WorkerList(workers=[worker_to_pb(w) for w in self.master.list_workers()])

    @maps_errors
    async def StreamLogs(
        self, request: pb.StreamLogsRequest, context: grpc.aio.ServicerContext
    ) -> None:
        if self._stopping.is_set():  # (it would stream until the server stops, then break)
            raise WorkerUnavailable("the master is shutting down")
        writing: asyncio.Future[None] | None = None

        async def send(update: LogUpdate) -> None:
            nonlocal writing
            for msg in batch_to_pb(update.batch):
                # a stop cancels the stream between two messages, never inside a write: a
                # cancelled write still goes on in gRPC, and the call takes no other message
                # until it is done (GRPC_CALL_ERROR_TOO_MANY_OPERATIONS)
                writing = asyncio.ensure_future(context.write(msg))
                await asyncio.shield(writing)

        stream = asyncio.ensure_future(
            self.master.StreamTaskLogsUnified(
                request.task_id,
                request.user or context.peer(),
                send,
                tail=request.tail if request.HasField("tail") else None,
                after=request.after_seq if request.HasField("after_seq") else None,
                follow=not request.no_follow,
                lossless=request.lossless,
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((stream, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not stream.done():
            stream.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stream
            if writing is not None:
                await writing  # the message being written when the stop came
            await context.write(pb.LogBatch(state=ConnectionState.MASTER_RESTARTING.value))
            return
        await stream  # its result, or its error (mapped by maps_errors)
