"""Adapter: the master's gRPC service for CLI clients (and workers' Join). Thin: every call
goes to the coordinator (:class:`master.coordinator.Master`). Workers' heartbeats come to
the cluster port (:mod:`master.cluster_service`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc

from master.access import MasterAccess
from master.cluster import ClusterAuthority, replace_scope
from master.coordinator import LogUpdate, Master
from shared import pki
from shared.access import Principal, Role, Scope, TokenRecord, bearer
from shared.convert import (
    batch_to_pb,
    filter_from_pb,
    info_to_pb,
    query_from_pb,
    spec_from_pb,
    worker_to_pb,
)
from shared.errors import InvalidRequest, PermissionDenied, Unauthenticated, WorkerUnavailable
from shared.listing import TaskQuery
from shared.model import ConnectionState, TaskInfo, summary
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import maps_errors

log = logging.getLogger(__name__)


class MasterService(pb_grpc.MasterServicer):
    """Join, RunTask, StopTask, GetTask, ListTasks, ListWorkers, StreamLogs, tokens."""

    def __init__(
        self, master: Master, access: MasterAccess, authority: ClusterAuthority | None = None
    ) -> None:
        self.master = master
        self.access = access
        self.authority = authority
        self.cluster_port = 0  # where workers report (set once the cluster port listens)
        self.login_url = ""  # http(s)://HOST:PORT/login once the web server listens
        self.stats = master.stats  # refusals, counted by maps_errors
        self._stopping = asyncio.Event()

    def _who(self, context: grpc.aio.ServicerContext, role: Role, what: str) -> Principal:
        """The caller's principal, if its token allows ``what`` (else the refusal, logged)."""
        header = dict(context.invocation_metadata() or ()).get("authorization")
        try:
            who = self.access.authenticate(bearer(str(header) if header else None))
            who.require(role, what)
        except (Unauthenticated, PermissionDenied) as exc:
            log.warning("refused %s from %s: %s", what, context.peer(), exc)
            raise
        return who

    def _task_scope(self, who: Principal, task_id: str) -> TaskInfo:
        """The task, if ``who`` may see it (PermissionDenied otherwise)."""
        info = self.master.get_task(task_id)
        who.require_task(task_id, info.labels)
        return info

    def going_away(self) -> None:
        """The master is shutting down: every log stream sends ``master restarting`` and
        ends (its client reconnects and resumes); a log stream asked for from now on is
        refused (UNAVAILABLE: its client retries, and reaches the next master)."""
        self._stopping.set()

    @maps_errors
    async def Join(
        self, request: pb.JoinRequest, context: grpc.aio.ServicerContext
    ) -> pb.JoinReply:
        who = self._who(context, Role.JOIN, "joining a worker")
        if who.role not in (Role.JOIN, Role.ADMIN):
            raise PermissionDenied(
                f"joining a worker needs a join token (`master join-token`) or an admin token; "
                f"token {who.token_id} ({who.user}) is {who.role.label}"
            )
        if self.authority is None:
            raise WorkerUnavailable("this master takes no workers")
        certificate = self.authority.join(request.name, bytes(request.csr), who)
        return pb.JoinReply(
            certificate=certificate, ca=self.authority.ca_cert, cluster_port=self.cluster_port
        )

    @maps_errors
    async def RunTask(
        self, request: pb.RunTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskInfo:
        who = self._who(context, Role.OPERATOR, "running a task")
        spec = spec_from_pb(request.spec)
        if not who.scope.everything and not who.scope.allows(spec.task_id, spec.labels):
            raise PermissionDenied(
                f"token {who.token_id} is limited to {who.scope.describe()}: a task it runs "
                "needs those labels"
            )
        return info_to_pb(await self.master.run_task(spec))

    @maps_errors
    async def StopTask(self, request: pb.TaskRef, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        self._task_scope(self._who(context, Role.OPERATOR, "stopping a task"), request.task_id)
        return info_to_pb(await self.master.stop_task(request.task_id))

    @maps_errors
    async def GetTask(self, request: pb.TaskRef, context: grpc.aio.ServicerContext) -> pb.TaskInfo:
        who = self._who(context, Role.VIEWER, "reading a task")
        return info_to_pb(self._task_scope(who, request.task_id))

    @maps_errors
    async def ListTasks(
        self, request: pb.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> pb.TaskList:
        who = self._who(context, Role.VIEWER, "listing tasks")
        tasks, token = self.master.list_tasks(TaskQuery.from_pb(request))
        tasks = [t for t in tasks if who.may_see(t.task_id, t.labels)]  # (a page may shrink)
        return pb.TaskList(tasks=[info_to_pb(summary(t)) for t in tasks], next_page_token=token)

    @maps_errors
    async def ListWorkers(
        self, request: pb.ListWorkersRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkerList:
        self._who(context, Role.ADMIN, "listing workers")
        return pb.WorkerList(workers=[worker_to_pb(w) for w in self.master.list_workers()])

    @maps_errors
    async def StreamLogs(
        self, request: pb.StreamLogsRequest, context: grpc.aio.ServicerContext
    ) -> None:
        who = self._who(context, Role.VIEWER, "reading a log")
        self._task_scope(who, request.task_id)
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
                who.user,
                send,
                tail=request.tail if request.HasField("tail") else None,
                after=request.after_seq if request.HasField("after_seq") else None,
                follow=not request.no_follow,
                lossless=request.lossless,
                line_filter=filter_from_pb(request.filter),
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((stream, stopping), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # the client cancelled the call or went away: free its subscription now; the
            # write under way fails (the call is over), which is no error to log
            stream.cancel()
            for pending in (stream, writing):
                if pending is not None:
                    pending.add_done_callback(_outcome_read)
            raise
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

    @maps_errors
    async def SearchLogs(
        self, request: pb.SearchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SearchBatch]:
        """The task's worker searches its whole log; relayed message by message."""
        who = self._who(context, Role.VIEWER, "searching a log")
        self._task_scope(who, request.task_id)
        query_from_pb(request)  # a bad request is refused here, before any worker call
        async for batch in self.master.search(request):
            yield batch

    # ------------------------------------------------------------------ access

    @maps_errors
    async def CreateToken(
        self, request: pb.CreateTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatedToken:
        self._who(context, Role.ADMIN, "making a token")
        try:
            role = Role.parse(request.role)
            scope = Scope(tuple(request.task_ids), tuple(sorted(request.labels.items())))
            if request.replace_worker:
                if role is not Role.JOIN:
                    raise ValueError("replace_worker is for join tokens")
                scope = replace_scope(request.replace_worker)
            record, token = self.access.create(
                role, request.user, expires_in=max(0.0, request.expires_in), scope=scope
            )
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        join = ""
        if role is Role.JOIN and self.authority is not None:
            join = pki.join_token(self.authority.fingerprint, token)
        return pb.CreatedToken(
            info=token_to_pb(record, self.access.clock()), token=token, join_token=join
        )

    @maps_errors
    async def ListTokens(
        self, request: pb.ListTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenList:
        self._who(context, Role.ADMIN, "listing tokens")
        now = self.access.clock()
        records = sorted(self.access.book.records.values(), key=lambda r: r.created_at)
        return pb.TokenList(tokens=[token_to_pb(r, now) for r in records])

    @maps_errors
    async def RevokeToken(
        self, request: pb.RevokeTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenInfo:
        self._who(context, Role.ADMIN, "revoking a token")
        try:
            record = self.access.revoke(request.token_id)
        except KeyError:
            raise InvalidRequest(f"no token {request.token_id!r}") from None
        return token_to_pb(record, self.access.clock())

    @maps_errors
    async def CreateLoginCode(
        self, request: pb.CreateLoginCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoginCode:
        who = self._who(context, Role.VIEWER, "making a login link")
        return pb.LoginCode(
            code=self.access.login_code(who),
            expires_in=self.access.sessions.code_ttl,
            url=self.login_url,
        )


def _outcome_read(future: asyncio.Future[Any]) -> None:
    """Read a finished future's outcome, so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


def token_to_pb(record: TokenRecord, now: float) -> pb.TokenInfo:
    """A token's record as the API shows it (never its secret or hash)."""
    return pb.TokenInfo(
        token_id=record.token_id,
        user=record.user,
        role=record.role.label,
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        state=record.state(now),
        task_ids=list(record.scope.task_ids),
        labels=dict(record.scope.labels),
    )
