"""Adapter: the CLI's client of the master's gRPC service, with a self-healing log stream."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

import grpc
from grpc_health.v1.health_pb2 import HealthCheckRequest
from grpc_health.v1.health_pb2_grpc import HealthStub

from shared.convert import batch_from_pb, filter_to_pb, info_from_pb, spec_to_pb, worker_from_pb
from shared.credentials import find_token
from shared.cursor import ResumeCursor
from shared.errors import (
    ConfigError,
    InvalidRequest,
    LogcastError,
    LogExpired,
    PermissionDenied,
    TaskNotFound,
    Unauthenticated,
    WorkerUnavailable,
)
from shared.grpc_options import channel_options
from shared.linefilter import LineFilter
from shared.listing import DEFAULT_LIMIT, MAX_LIMIT
from shared.model import Batch, ConnectionState, TaskInfo, TaskSpec, TaskStatus, WorkerSummary
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import error_from_rpc
from shared.tls_grpc import client_channel, uses_tls

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)
# errors a retry cannot mend: a log stream raises them at once
_FINAL = (TaskNotFound, InvalidRequest, LogExpired, Unauthenticated, PermissionDenied)
T = TypeVar("T")


class MasterClient:
    """Calls on one master. Use as ``async with MasterClient(address) as client``."""

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 10.0,
        token: str | None = None,
        tls_ca: str | None = None,
    ) -> None:
        """``token``: sent with every call (default: ``$LOGCAST_TOKEN``, else the owner's
        credential in this user's state directory: see :mod:`shared.credentials`).
        ``tls_ca``: CA file that checks the master's certificate (default ``$LOGCAST_TLS_CA``,
        else the system's roots); TLS is used beyond loopback, or with a CA file."""
        self.address = address
        self.timeout = timeout
        self._md = (("authorization", f"Bearer {find_token(token)}"),)
        ca = os.environ.get("LOGCAST_TLS_CA", "") if tls_ca is None else tls_ca
        self._tls = uses_tls(address, ca)
        self._channel = client_channel(address, self._tls, ca, channel_options())
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
            raise _client_error(err, self.address, self._tls) from None

    async def search(self, request: pb.SearchRequest) -> AsyncIterator[pb.SearchBatch]:
        """Search a task's whole log (its worker does): matches, context lines and progress
        as they come; the last message has ``done``. Errors as the other calls'."""
        call = self._stub.SearchLogs(request, metadata=self._md)
        try:
            async for batch in call:
                yield batch
        except grpc.aio.AioRpcError as err:
            raise _client_error(err, self.address, self._tls) from None
        finally:
            call.cancel()

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
        replace_worker: str = "",
    ) -> pb.CreatedToken:
        """Make a token (admin); the answer carries the token itself, once."""
        request = pb.CreateTokenRequest(
            role=role,
            user=user,
            expires_in=expires_in,
            task_ids=list(task_ids),
            labels=dict(labels),
            replace_worker=replace_worker,
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
        line_filter: LineFilter | None = None,
    ) -> AsyncGenerator[Batch, None]:
        """The task's log as batches, until its end (``follow=False``: until the newest line
        stored now). A ``lossless`` stream never gets ``dropped``: when it falls behind, the
        master continues it from the store.

        When the connection to the master breaks, this yields a ``reconnecting`` state,
        retries with backoff and resumes after the last seq accounted for (no duplicate), for
        up to ``give_up_after`` seconds; then raises WorkerUnavailable. TaskNotFound,
        InvalidRequest, LogExpired (retention removed the log), Unauthenticated and
        PermissionDenied are raised at once.

        With an active ``line_filter``, only the lines that pass come (filtered on the
        worker, each with its seq; ``tail``: the last N that pass).
        """
        cursor = ResumeCursor(after=after, tail=tail)
        failing_since: float | None = None
        attempt = 0
        while True:
            request = pb.StreamLogsRequest(
                task_id=task_id, no_follow=not follow, user=user, lossless=lossless
            )
            if line_filter is not None and line_filter.active:
                request.filter.CopyFrom(filter_to_pb(line_filter))
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
                error = _client_error(err, self.address, self._tls)
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
        """Raise WorkerUnavailable unless the master answers within ``timeout`` seconds; a
        ConfigError at once when the connection fails for TLS (a certificate this client does
        not trust, TLS spoken to a plaintext master or the other way round)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state = self._channel.get_state(try_to_connect=True)
        while state is not grpc.ChannelConnectivity.READY:
            if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                problem = await self._tls_problem()
                if problem is not None:
                    raise ConfigError(problem)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WorkerUnavailable(f"cannot reach the master at {self.address}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._channel.wait_for_state_change(state), remaining)
            state = self._channel.get_state(try_to_connect=True)

    async def _tls_problem(self) -> str | None:
        """Why the channel failed, when that is TLS (one health check, answered at once by
        the channel with its last connection error)."""
        try:
            stub: Any = HealthStub(self._channel)  # (the stubs declare no methods)
            await stub.Check(HealthCheckRequest(), timeout=2.0)
        except grpc.aio.AioRpcError as err:
            return _tls_failure(err.details() or "", self.address, self._tls)
        return None


_TRANSPORT_FAILURES = (
    "failed to connect",
    "socket closed",
    "connection reset",
    "connection refused",
)


_TLS_HINT = "give the CA certificate that signed it with --tls-ca FILE (or $LOGCAST_TLS_CA)"


def _tls_failure(details: str, address: str, tls: bool) -> str | None:
    """What a connection failure's ``details`` say about TLS, in the user's words (None: not
    a TLS failure)."""
    low = details.lower()
    if "certificate_verify_failed" in low:
        return (
            f"the master at {address} serves a TLS certificate this client does not trust: "
            f"{_TLS_HINT}"
        )
    if "hostname verification" in low:
        return (
            f"the master's TLS certificate does not name {address.rpartition(':')[0]}: dial it "
            "by a name or address its certificate lists"
        )
    if tls and "wrong_version_number" in low:
        return (
            f"the master at {address} does not answer TLS (a master started without "
            "--tls-cert serves plaintext, on loopback): drop --tls-ca / $LOGCAST_TLS_CA for it"
        )
    if not tls and ("socket closed" in low or "connection reset" in low):
        return (
            f"the master at {address} closed the connection at once: if it serves TLS "
            f"(master serve --tls-cert), {_TLS_HINT}"
        )
    return None


def _client_error(err: grpc.aio.AioRpcError, address: str, tls: bool) -> LogcastError:
    """A failed call as a logcast error; transport failures name the master's address, and
    TLS failures say what to do."""
    details = err.details() or ""
    if err.code() is grpc.StatusCode.UNAVAILABLE:
        problem = _tls_failure(details, address, tls)
        if problem is not None:  # plaintext: a closed socket may be a master going away
            return ConfigError(problem) if tls else WorkerUnavailable(problem)
    if err.code() is grpc.StatusCode.UNAVAILABLE and any(
        f in details.lower() for f in _TRANSPORT_FAILURES
    ):
        return WorkerUnavailable(f"cannot reach the master at {address} ({details})")
    if err.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
        return WorkerUnavailable(f"the master at {address} did not answer in time")
    return error_from_rpc(err)
