"""Adapter: the worker's gRPC service. Thin: every call goes to the executor or the manager."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import grpc

from shared.convert import batch_to_pb, info_to_pb, spec_from_pb
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import maps_errors
from worker.executor import TaskExecutor
from worker.manager import LogStreamManager


class WorkerService(pb_grpc.WorkerServicer):
    """StartTask, StopTask, ListTasks and the StreamLogs subscription."""

    def __init__(self, executor: TaskExecutor, manager: LogStreamManager) -> None:
        self.executor = executor
        self.manager = manager
        self.subscriptions: Counter[str] = Counter()  # StreamLogs calls per task

    @maps_errors
    async def StartTask(
        self, request: pb.StartTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskInfo:
        return info_to_pb(await self.executor.start(spec_from_pb(request.spec)))

    @maps_errors
    async def StopTask(self, request: pb.TaskRef, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        return info_to_pb(await self.executor.stop(request.task_id))

    @maps_errors
    async def ListTasks(
        self, request: pb.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskList:
        return pb.TaskList(tasks=[info_to_pb(i) for i in self.executor.tasks()])

    @maps_errors
    async def StreamLogs(
        self, request: pb.StreamLogsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.LogBatch]:
        """History, then live lines, then the end. The first message is an empty ack."""
        subscription = self.manager.subscribe(
            request.task_id,
            tail=request.tail if request.HasField("tail") else None,
            after=request.after_seq if request.HasField("after_seq") else None,
            follow=not request.no_follow,
        )
        self.subscriptions[request.task_id] += 1
        async with subscription:
            yield pb.LogBatch()  # subscribed: tells the caller the stream is live
            async for batch in subscription:
                for msg in batch_to_pb(batch):
                    yield msg
