"""Adapter: the worker's heartbeat to its master: who it is, where, its unfinished tasks, and
the tasks whose info changed since what the master says it has (so a restarted master learns
every stored task, a few hundred per heartbeat, back to back, without ever sending them all)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import grpc

from shared import pki
from shared.aio import wait_set
from shared.convert import info_to_pb
from shared.errors import ConfigError
from shared.grpc_options import channel_options
from shared.model import summary
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.tls_grpc import mutual_channel
from worker.executor import TaskExecutor
from worker.identity import IdentityHolder, WorkerIdentity, renew

log = logging.getLogger(__name__)

CHANGES_PER_HEARTBEAT = 300
_REFUSED = (
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT,
)


def _when(identity: IdentityHolder) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(identity.current.issued().not_after))


_FOREIGN = "CERTIFICATE_VERIFY_FAILED"  # how gRPC says the TLS handshake refused the peer


class Heartbeat:
    """Reports to the master every ``interval`` seconds, and at once after a task changes;
    renews the worker's certificate when two thirds of its lifetime have passed.

    One more master of the same cluster (``worker serve --also-master``: a master process on
    the same state directory, so the same CA) gets a heartbeat of its own, from a second
    instance with ``master`` set: it learns the same tasks, and dials the worker to relay them.
    Only the worker's own master renews its certificate; the others' heartbeats take the
    renewed one when it comes."""

    def __init__(
        self,
        identity: IdentityHolder,
        address: str,
        executor: TaskExecutor,
        interval: float,
        *,
        master: str = "",
    ) -> None:
        """``identity``: the worker's certificate and its master's cluster address;
        ``master``: another master's cluster address to report to instead (no renewal)."""
        self.identity = identity
        self.name = identity.current.name
        self.address = address
        self.executor = executor
        self.interval = interval
        self._other = master
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.synced = 0  # the master has our catalog up to this version
        self._connected: bool | None = None

    @property
    def master(self) -> str:
        return self._other or self.identity.current.master

    def poke(self) -> None:
        """Report now (a task changed)."""
        self._wake.set()

    def start(self) -> None:
        """Start reporting in the background."""
        self._task = asyncio.create_task(self._run(), name="heartbeat")

    async def stop(self) -> None:
        """Stop reporting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:  # one channel per certificate: a renewal opens a new one
            identity = self.identity.current
            async with mutual_channel(
                self.master, identity.pair, identity.ca, pki.MASTER_DNS, channel_options()
            ) as channel:
                stub = pb_grpc.ClusterStub(channel)
                while self.identity.current is identity:
                    if not self._other and pki.renew_due(identity.issued(), time.time()):
                        await self._renew(identity, channel)
                        if self.identity.current is not identity:
                            break
                    self._wake.clear()
                    delay = await self._beat(stub)
                    if delay > 0:
                        await wait_set(self._wake, delay)

    async def _renew(self, identity: WorkerIdentity, channel: grpc.aio.Channel) -> None:
        try:
            self.identity.update(await renew(identity, channel))
            log.info("renewed this worker's certificate (valid until %s)", _when(self.identity))
        except (grpc.aio.AioRpcError, ConfigError) as exc:
            details = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
            log.warning("could not renew this worker's certificate: %s; retrying", details)

    async def _beat(self, stub: pb_grpc.ClusterStub) -> float:
        """One heartbeat; the seconds until the next."""
        request = self._request()
        delay = self.interval
        try:
            reply = await stub.Heartbeat(request, timeout=max(2.0, self.interval * 3))
            if reply.interval > 0:
                delay = min(self.interval, reply.interval)
            self.synced = reply.synced_version
            if request.more and self.synced == request.catalog_version:
                delay = 0  # more changes to send: at once
            if self._connected is not True:
                log.info("registered with master %s as %s", self.master, self.name)
                self._connected = True
        except grpc.aio.AioRpcError as err:
            if self._connected is not False:
                if err.code() in _REFUSED:
                    log.error(
                        "master %s refuses this worker: %s; retrying", self.master, err.details()
                    )
                elif _FOREIGN in (err.details() or ""):
                    log.error(
                        "master %s is not of this worker's cluster: its certificate is not from "
                        "the CA this worker joined (another state directory?); retrying",
                        self.master,
                    )
                else:
                    log.warning(
                        "master %s unreachable (%s: %s); retrying",
                        self.master,
                        err.code().name,
                        err.details(),
                    )
                self._connected = False
        return delay

    def _request(self) -> pb.HeartbeatRequest:
        executor = self.executor
        changed, version = executor.changes(self.synced, CHANGES_PER_HEARTBEAT)
        infos = {i.task_id: i for i in changed}
        for info in executor.unfinished():
            infos[info.task_id] = info
        return pb.HeartbeatRequest(
            name=self.name,
            address=self.address,
            tasks=[info_to_pb(summary(i)) for i in infos.values()],
            since_version=self.synced,
            catalog_version=version,
            more=len(changed) >= CHANGES_PER_HEARTBEAT,
            sent_at=time.time(),  # the master measures the clocks' skew with it
        )
