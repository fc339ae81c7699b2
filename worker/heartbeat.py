"""Adapter: the worker's heartbeat to its master: who it is, where, its unfinished tasks, and
the tasks whose info changed since what the master says it has (so a restarted master learns
every stored task, a few hundred per heartbeat, back to back, without ever sending them all)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import grpc

from shared.aio import wait_set
from shared.convert import info_to_pb
from shared.grpc_options import channel_options
from shared.model import summary
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from worker.executor import TaskExecutor

log = logging.getLogger(__name__)

CHANGES_PER_HEARTBEAT = 300
_REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


class Heartbeat:
    """Reports to the master every ``interval`` seconds, and at once after a task changes."""

    def __init__(
        self,
        master: str,
        name: str,
        address: str,
        executor: TaskExecutor,
        interval: float,
        token: str = "",
    ) -> None:
        """``token``: the credential sent with every heartbeat (an admin token of the master,
        until workers join with certificates)."""
        self.master = master
        self._metadata = (("authorization", f"Bearer {token}"),)
        self.name = name
        self.address = address
        self.executor = executor
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.synced = 0  # the master has our catalog up to this version

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
        connected = None
        async with grpc.aio.insecure_channel(self.master, options=channel_options()) as channel:
            stub = pb_grpc.MasterStub(channel)
            while True:
                self._wake.clear()
                request = self._request()
                delay = self.interval
                try:
                    reply = await stub.Heartbeat(
                        request, timeout=max(2.0, self.interval * 3), metadata=self._metadata
                    )
                    if reply.interval > 0:
                        delay = min(self.interval, reply.interval)
                    self.synced = reply.synced_version
                    if request.more and self.synced == request.catalog_version:
                        delay = 0  # more changes to send: at once
                    if connected is not True:
                        log.info("registered with master %s as %s", self.master, self.name)
                        connected = True
                except grpc.aio.AioRpcError as err:
                    if connected is not False:
                        if err.code() is grpc.StatusCode.INVALID_ARGUMENT:
                            log.error(
                                "master %s refuses this worker's heartbeat: %s; retrying",
                                self.master,
                                err.details(),
                            )
                        elif err.code() in _REFUSED:
                            log.error(
                                "master %s refuses this worker: %s (its admin token: --token or "
                                "LOGCAST_TOKEN); retrying",
                                self.master,
                                err.details(),
                            )
                        else:
                            log.warning(
                                "master %s unreachable (%s); retrying", self.master, err.code()
                            )
                        connected = False
                if delay > 0:
                    await wait_set(self._wake, delay)

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
