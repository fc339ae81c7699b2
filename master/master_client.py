"""Adapter: the CLI's client of the master's gRPC service, with a self-healing log stream."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import TypeVar

import grpc

from shared.convert import batch_from_pb, info_from_pb, spec_to_pb, worker_from_pb
from shared.credentials import find_token
from shared.cursor import ResumeCursor
from shared.errors import (
    InvalidRequest,
    LogcastError,
    LogExpired,
    PermissionDenied,
    TaskNotFound,
    Unauthenticated,
    WorkerUnavailable,
)
from shared.grpc_options import channel_options
from shared.listing import DEFAULT_LIMIT, MAX_LIMIT
from shared.model import Batch, ConnectionState, TaskInfo, TaskSpec, TaskStatus, WorkerSummary
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import error_from_rpc

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)
# errors a retry cannot mend: a log stream raises them at once
_FINAL = (TaskNotFound, InvalidRequest, LogExpired, Unauthenticated, PermissionDenied)
T = TypeVar("T")


class MasterClient:
    """Calls on one master. Use as ``async with MasterClient(address) as client``."""

    def __init__(self, address: str, *, timeout: float = 10.0, token: str | None = None) -> None:
        """``token``: sent with every call (default: ``$LOGCAST_TOKEN``, else the owner's
        credential in this user's state directory: see :mod:`shared.credentials`)."""
        self.address = address
        self.timeout = timeout
        self._md = (("authorization", f"Bearer {find_token(token)}"),)
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

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except grpc.aio.AioRpcError as err:
            raise _client_error(err, self.address) from None

    async def run(self, spec: TaskSpec) -> TaskInfo:
        """Submit a task; the master places it and returns its info."""
        request = pb.RunTaskRequest(spec=spec_to_pb(spec))
        reply = await self._call(
            lambda: self._stub.RunTask(request, timeout=self.timeout, metadata=self._md)
        )
        return info_from_pb(reply)

    async def stop(self, task_id: str) -> TaskInfo:
        """Stop a task (waits while the worker's stop grace period runs out)."""
        request = pb.TaskRef(task_id=task_id)
        reply = await self._call(
            lambda: self._stub.StopTask(request, timeout=120, metadata=self._md)
        )
        return info_from_pb(reply)

    async def get(self, task_id: str) -> TaskInfo:
        """One task's info."""
        request = pb.TaskRef(task_id=task_id)
        reply = await self._call(
            lambda: self._stub.GetTask(request, timeout=self.timeout, metadata=self._md)
        )
        return info_from_pb(reply)

    async def tasks(
        self,
        *,
        statuses: Iterable[TaskStatus] = (),
        labels: Iterable[tuple[str, str]] = (),
        limit: int = DEFAULT_LIMIT,
    ) -> tuple[list[TaskInfo], bool]:
        """The newest ``limit`` tasks having any of ``statuses`` (none: any) and every label
        in ``labels``, newest first; and whether more tasks match. Asks for as many pages as
        ``limit`` needs (the master answers at most MAX_LIMIT tasks at a time)."""
        names = [s.name for s in statuses]  # protobuf's enum names are the model's
        wanted = dict(labels)
        found: list[TaskInfo] = []
        token = ""
        while True:
            request = pb.ListTasksRequest(
                status=names,
                labels=wanted,
                limit=min(limit - len(found), MAX_LIMIT),
                page_token=token,
            )
            reply = await self._call(
                functools.partial(
                    self._stub.ListTasks, request, timeout=self.timeout, metadata=self._md
                )
            )
            found.extend(info_from_pb(t) for t in reply.tasks)
            token = reply.next_page_token
            if not token or len(found) >= limit:
                return found[:limit], bool(token) or len(found) > limit

    async def create_token(
        self,
        role: str,
        user: str,
        *,
        expires_in: float = 0.0,
        task_ids: Iterable[str] = (),
        labels: Iterable[tuple[str, str]] = (),
    ) -> pb.CreatedToken:
        """Make a token (admin); the answer carries the token itself, once."""
        request = pb.CreateTokenRequest(
            role=role,
            user=user,
            expires_in=expires_in,
            task_ids=list(task_ids),
            labels=dict(labels),
        )
        return await self._call(
            lambda: self._stub.CreateToken(request, timeout=self.timeout, metadata=self._md)
        )

    async def tokens(self) -> list[pb.TokenInfo]:
        """Every token's record (admin)."""
        request = pb.ListTokensRequest()
        reply = await self._call(
            lambda: self._stub.ListTokens(request, timeout=self.timeout, metadata=self._md)
        )
        return list(reply.tokens)

    async def revoke_token(self, token_id: str) -> pb.TokenInfo:
        """Revoke a token (admin)."""
        request = pb.RevokeTokenRequest(token_id=token_id)
        return await self._call(
            lambda: self._stub.RevokeToken(request, timeout=self.timeout, metadata=self._md)
        )

    async def login_code(self) -> pb.LoginCode:
        """A single-use browser login code for this client's own token."""
        request = pb.CreateLoginCodeRequest()
        return await self._call(
            lambda: self._stub.CreateLoginCode(request, timeout=self.timeout, metadata=self._md)
        )

    async def workers(self) -> list[WorkerSummary]:
        """Every worker the master knows."""
        request = pb.ListWorkersRequest()
        reply = await self._call(
            lambda: self._stub.ListWorkers(request, timeout=self.timeout, metadata=self._md)
        )
        return [worker_from_pb(w) for w in reply.workers]

    async def stream(
        self,
        task_id: str,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        user: str = "",
        lossless: bool = False,
        give_up_after: float = 60.0,
    ) -> AsyncGenerator[Batch, None]:
        """The task's log as batches, until its end (``follow=False``: until the newest line
        stored now). A ``lossless`` stream never gets ``dropped``: when it falls behind, the
        master continues it from the store.

        When the connection to the master breaks, this yields a ``reconnecting`` state,
        retries with backoff and resumes after the last seq accounted for (no duplicate), for
        up to ``give_up_after`` seconds; then raises WorkerUnavailable. TaskNotFound,
        InvalidRequest, LogExpired (retention removed the log), Unauthenticated and
        PermissionDenied are raised at once.
        """
        cursor = ResumeCursor(after=after, tail=tail)
        failing_since: float | None = None
        attempt = 0
        while True:
            request = pb.StreamLogsRequest(
                task_id=task_id, no_follow=not follow, user=user, lossless=lossless
            )
            want_tail, want_after = cursor.request()
            if want_after is not None:
                request.after_seq = want_after
            elif want_tail is not None:
                request.tail = want_tail
            call = self._stub.StreamLogs(request, metadata=self._md)
            try:
                async for msg in call:
                    batch = batch_from_pb(msg)
                    if failing_since is not None:
                        failing_since = None
                        attempt = 0
                        if batch.state is None:
                            batch.state = ConnectionState.STREAMING
                    cursor.advance(batch)
                    yield batch
                    if batch.end is not None:
                        return
                if not follow:
                    return
                error: LogcastError = WorkerUnavailable("the master ended the stream")
            except grpc.aio.AioRpcError as err:
                error = _client_error(err, self.address)
                if isinstance(error, _FINAL):
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
