"""The master's view of its workers: the :class:`WorkerClient` interface and its gRPC adapter.

The master (placement, stop) and each task's relay talk to workers only through this
interface, so they can be tested without a network: ``tests.fakes.workers`` has an in-memory
implementation (real hubs, scripted failures). :class:`GrpcWorkers` is the real one: one
channel per worker address, shared by every relay and call.

Errors are logcast's (:mod:`shared.errors`), never gRPC's: :class:`TaskNotFound` (the worker
does not have the task), :class:`WorkerUnavailable` (it cannot be reached, or a stream broke),
:class:`InvalidRequest`, :class:`TaskExists`, :class:`TaskStartFailed`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

import grpc

from shared import pki
from shared.convert import batch_from_pb, filter_to_pb, info_from_pb, spec_to_pb
from shared.grpc_options import channel_options
from shared.linefilter import LineFilter
from shared.model import Batch, TaskInfo, TaskSpec
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import error_from_rpc
from shared.tls_grpc import Identity, mutual_channel

CALL_TIMEOUT = 60.0  # start and stop wait for Docker (a stop for the task's grace period)


class WorkerClient(Protocol):
    """One worker, as the master uses it."""

    async def start_task(self, spec: TaskSpec) -> TaskInfo:
        """Run ``spec`` on the worker; returns once it runs (or failed to start)."""
        ...

    async def stop_task(self, task_id: str) -> TaskInfo:
        """Stop a running task; returns once it ended (status ``cancelled``)."""
        ...

    async def list_tasks(self) -> list[TaskInfo]:
        """Every task the worker has."""
        ...

    def stream_logs(
        self,
        task_id: str,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
        line_filter: LineFilter | None = None,
    ) -> AsyncIterator[Batch]:
        """The task's log: history (``tail`` lines, or everything after seq ``after``), then
        live lines, then the end. The first batch is empty: the subscription is open. With an
        active ``line_filter``, only the lines that pass (``tail``: the last N of them),
        filtered on the worker, losslessly."""
        ...

    async def read_logs(
        self, task_id: str, after: int, before: int, max_lines: int, max_bytes: int
    ) -> Batch:
        """Stored lines ``after + 1 .. before - 1`` (at most ``max_lines``/``max_bytes``;
        a gap ``expired`` first for lines retention removed). :class:`LogExpired` when the
        whole log was removed."""
        ...

    def search_logs(self, request: pb.SearchRequest) -> AsyncIterator[pb.SearchBatch]:
        """The worker's search of a task's whole log (:mod:`shared.search`): matches and
        progress as it sends them; the last message has ``done``."""
        ...


class WorkerClients(Protocol):
    """Clients for workers by name and address (what a worker's heartbeat says)."""

    def get(self, address: str, name: str) -> WorkerClient:
        """The client of worker ``name`` at ``address`` (it must prove it is ``name``)."""
        ...

    async def close(self) -> None:
        """Release every connection."""
        ...


class GrpcWorkerClient:
    """:class:`WorkerClient` over a gRPC channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.WorkerStub(channel)

    async def start_task(self, spec: TaskSpec) -> TaskInfo:
        """See :meth:`WorkerClient.start_task`."""
        try:
            reply = await self._stub.StartTask(
                pb.StartTaskRequest(spec=spec_to_pb(spec)), timeout=CALL_TIMEOUT
            )
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err) from None
        return info_from_pb(reply)

    async def stop_task(self, task_id: str) -> TaskInfo:
        """See :meth:`WorkerClient.stop_task`."""
        try:
            reply = await self._stub.StopTask(pb.TaskRef(task_id=task_id), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err) from None
        return info_from_pb(reply)

    async def list_tasks(self) -> list[TaskInfo]:
        """See :meth:`WorkerClient.list_tasks`."""
        try:
            reply = await self._stub.ListTasks(pb.ListTasksRequest(), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err) from None
        return [info_from_pb(t) for t in reply.tasks]

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
        """See :meth:`WorkerClient.stream_logs`."""
        request = pb.StreamLogsRequest(task_id=task_id, no_follow=not follow, lossless=lossless)
        if line_filter is not None and line_filter.active:
            request.filter.CopyFrom(filter_to_pb(line_filter))
        if after is not None:
            request.after_seq = after
        elif tail is not None:
            request.tail = tail
        call = self._stub.StreamLogs(request)
        try:
            async for msg in call:
                yield batch_from_pb(msg)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err) from None
        finally:
            call.cancel()

    async def search_logs(self, request: pb.SearchRequest) -> AsyncIterator[pb.SearchBatch]:
        """The worker's search, message by message (as it sends them: no conversion)."""
        call = self._stub.SearchLogs(request)
        try:
            async for batch in call:
                yield batch
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err) from None
        finally:
            call.cancel()

    async def read_logs(
        self, task_id: str, after: int, before: int, max_lines: int, max_bytes: int
    ) -> Batch:
        """See :meth:`WorkerClient.read_logs`."""
        request = pb.ReadLogsRequest(
            task_id=task_id,
            after_seq=after,
            before_seq=before,
            max_lines=max_lines,
            max_bytes=max_bytes,
        )
        try:
            reply = await self._stub.ReadLogs(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err) from None
        return batch_from_pb(reply)


class GrpcWorkers:
    """:class:`WorkerClients` over mutual TLS: one channel per worker and address, created on
    first use. A channel accepts only the certificate of the worker it is for, and presents
    the master's (``identity()``: asked again for new channels, so a renewal takes effect)."""

    def __init__(self, identity: Callable[[], Identity], ca: bytes) -> None:
        self._identity = identity
        self._ca = ca
        self._channels: dict[tuple[str, str], tuple[Identity, grpc.aio.Channel]] = {}
        self._retired: list[grpc.aio.Channel] = []

    def get(self, address: str, name: str) -> GrpcWorkerClient:
        """See :meth:`WorkerClients.get`."""
        identity = self._identity()
        known = self._channels.get((address, name))
        if known is None or known[0] != identity:
            channel = mutual_channel(
                address, identity, self._ca, pki.worker_dns(name), channel_options()
            )
            if known is not None:  # renewed: new calls use the new certificate; calls
                self._retired.append(known[1])  # under way finish on the old channel
            known = self._channels[(address, name)] = (identity, channel)
        return GrpcWorkerClient(known[1])

    async def close(self) -> None:
        """See :meth:`WorkerClients.close`."""
        channels = [c for _, c in self._channels.values()] + self._retired
        self._channels, self._retired = {}, []
        for channel in channels:
            await channel.close()
