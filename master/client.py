"""Adapter: the CLI's client of the master's gRPC service, with a self-healing log stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import TracebackType

import grpc

from shared.convert import batch_from_pb, info_from_pb, spec_to_pb
from shared.errors import InvalidRequest, LogcastError, TaskNotFound, WorkerUnavailable
from shared.grpc_options import channel_options
from shared.model import Batch, ConnectionState, TaskInfo, TaskSpec
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import error_from_rpc

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)


class MasterClient:
    """Calls on one master. Use as ``async with MasterClient(address) as client``."""

    def __init__(self, address: str, *, timeout: float = 10.0) -> None:
        self.address = address
        self.timeout = timeout
        self._channel = grpc.aio.insecure_channel(address, options=channel_options())
        self._stub = pb_grpc.MasterStub(self._channel)

    async def __aenter__(self) -> MasterClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def _unary(self, method: str, request: object, timeout: float | None = None) -> object:
        try:
            return await getattr(self._stub, method)(request, timeout=timeout or self.timeout)
        except grpc.aio.AioRpcError as err:
            raise _client_error(err, self.address) from None

    async def run(self, spec: TaskSpec) -> TaskInfo:
        """Submit a task; the master places it and returns its info."""
        reply = await self._unary("RunTask", pb.RunTaskRequest(spec=spec_to_pb(spec)))
        return info_from_pb(reply)  # type: ignore[arg-type]

    async def stop(self, task_id: str) -> TaskInfo:
        """Stop a task (waits while the worker's stop grace period runs out)."""
        reply = await self._unary("StopTask", pb.TaskRef(task_id=task_id), timeout=120)
        return info_from_pb(reply)  # type: ignore[arg-type]

    async def get(self, task_id: str) -> TaskInfo:
        """One task's info."""
        return info_from_pb(await self._unary("GetTask", pb.TaskRef(task_id=task_id)))  # type: ignore[arg-type]

    async def tasks(self) -> list[TaskInfo]:
        """Every task the master knows."""
        reply = await self._unary("ListTasks", pb.ListTasksRequest())
        return [info_from_pb(t) for t in reply.tasks]  # type: ignore[attr-defined]

    async def workers(self) -> list[pb.WorkerInfo]:
        """Every worker the master knows."""
        reply = await self._unary("ListWorkers", pb.ListWorkersRequest())
        return list(reply.workers)  # type: ignore[attr-defined]

    async def stream(
        self,
        task_id: str,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        user: str = "",
        give_up_after: float = 60.0,
    ) -> AsyncIterator[Batch]:
        """The task's log as batches, until its end.

        When the connection to the master breaks, this yields a ``reconnecting`` state,
        retries with backoff and resumes ``after`` the last seq received (no duplicate), for
        up to ``give_up_after`` seconds; then raises WorkerUnavailable. TaskNotFound and
        InvalidRequest are raised at once.
        """
        last_seq = after
        failing_since: float | None = None
        attempt = 0
        while True:
            request = pb.StreamLogsRequest(task_id=task_id, no_follow=not follow, user=user)
            if last_seq is not None:
                request.after_seq = last_seq
            elif tail is not None:
                request.tail = tail
            call = self._stub.StreamLogs(request)
            try:
                async for msg in call:
                    batch = batch_from_pb(msg)
                    if failing_since is not None:
                        failing_since = None
                        attempt = 0
                        if batch.state is None:
                            batch.state = ConnectionState.STREAMING
                    if batch.lines:
                        last_seq = batch.lines[-1].seq
                    elif batch.dropped is not None:
                        last_seq = batch.dropped.to_seq
                    elif batch.gap is not None:
                        last_seq = batch.gap.to_seq
                    yield batch
                    if batch.end is not None:
                        return
                if not follow:
                    return
                error: LogcastError = WorkerUnavailable("the master ended the stream")
            except grpc.aio.AioRpcError as err:
                error = _client_error(err, self.address)
                if isinstance(error, (TaskNotFound, InvalidRequest)):
                    raise error from None
            finally:
                call.cancel()
            now = time.monotonic()
            if failing_since is None:
                failing_since = now
                yield Batch(state=ConnectionState.RECONNECTING)
            elif now - failing_since > give_up_after:
                raise WorkerUnavailable(f"gave up after {give_up_after:g} s: {error}")
            await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
            attempt += 1

    async def wait_connected(self, timeout: float) -> None:
        """Raise WorkerUnavailable unless the master answers within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except TimeoutError:
            raise WorkerUnavailable(f"cannot reach the master at {self.address}") from None


_TRANSPORT_FAILURES = (
    "failed to connect",
    "socket closed",
    "connection reset",
    "connection refused",
)


def _client_error(err: grpc.aio.AioRpcError, address: str) -> LogcastError:
    """A failed call as a logcast error; transport failures name the master's address."""
    details = err.details() or ""
    if err.code() is grpc.StatusCode.UNAVAILABLE and any(
        f in details.lower() for f in _TRANSPORT_FAILURES
    ):
        return WorkerUnavailable(f"cannot reach the master at {address} ({details})")
    if err.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
        return WorkerUnavailable(f"the master at {address} did not answer in time")
    return error_from_rpc(err)
