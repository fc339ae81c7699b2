"""The master's gRPC log stream when the master stops (``going_away``): a real coordinator with
in-memory workers (tests/fakes/workers.py) and a servicer context that writes like gRPC's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio

from master.access import MasterAccess
from master.config import MasterConfig
from master.coordinator import Master
from master.grpc_service import MasterService
from shared.hub import LogHub
from shared.model import STDOUT, LogLine, TaskInfo, TaskStatus
from shared.protos import logcast_pb2 as pb
from tests.fakes.workers import FakeWorkers

pytestmark = pytest.mark.asyncio
TASK, ADDRESS = "task-123456", "10.0.0.1:50052"


OWNER = ""  # the owner's token of the master under test


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code = code


class FakeContext:
    """Writes one message at a time, like gRPC's: a write whose caller is cancelled still goes
    on, and a write while another is under way fails (GRPC_CALL_ERROR_TOO_MANY_OPERATIONS).
    ``gate`` holds writes back while it is clear."""

    def __init__(self) -> None:
        self.sent: list[pb.LogBatch] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.sending: asyncio.Task[None] | None = None
        self.underway = asyncio.Event()  # a write was asked for

    async def write(self, msg: pb.LogBatch) -> None:
        if self.sending is not None and not self.sending.done():
            raise RuntimeError("GRPC_CALL_ERROR_TOO_MANY_OPERATIONS")
        self.sending = asyncio.create_task(self._send(msg))
        self.underway.set()
        await asyncio.shield(self.sending)

    async def _send(self, msg: pb.LogBatch) -> None:
        await self.gate.wait()
        self.sent.append(msg)

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {OWNER}"),)

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


@pytest_asyncio.fixture
async def running(tmp_path) -> AsyncIterator[tuple[MasterService, LogHub]]:
    """The service of a master whose worker runs TASK; and TASK's log on that worker."""
    workers = FakeWorkers()
    upstream = workers.get(ADDRESS).add_task(TASK)
    master = Master(MasterConfig(), workers)
    info = TaskInfo(TASK, TaskStatus.RUNNING, worker="w1", created_at=time.time())
    master.registry.heartbeat("w1", ADDRESS, [info], time.time())
    access = MasterAccess(tmp_path)
    access.open()
    global OWNER
    OWNER = access.owner_token
    yield MasterService(master, access), upstream
    await master.close()


def publish(hub: LogHub, first: int, last: int) -> None:
    hub.publish([LogLine(0, "t", STDOUT, f"seq={i}") for i in range(first, last + 1)])


async def test_a_stopping_master_ends_a_log_stream_after_the_message_it_is_writing(running):
    """The stream is told ``master restarting`` after the message under way, not inside it
    (gRPC refused the notice then, and the call hung until the server stopped)."""
    service, upstream = running
    publish(upstream, 1, 3)
    context = FakeContext()
    context.gate.clear()
    request = pb.StreamLogsRequest(task_id=TASK, after_seq=0)
    call = asyncio.create_task(service.StreamLogs(request, context))
    async with asyncio.timeout(5):
        await context.underway.wait()  # the first message is under way
    service.going_away()
    await asyncio.sleep(0.05)  # the stream is cancelled while the message waits to go
    context.gate.set()
    async with asyncio.timeout(5):
        await call
    assert [m.state for m in context.sent][-1] == "master restarting"
    assert [c for m in context.sent for c in m.contents] == ["seq=1", "seq=2", "seq=3"]


async def test_a_stopping_master_refuses_a_new_log_stream(running):
    """UNAVAILABLE, nothing sent: the client retries and reaches the next master (streamed
    here, it ended only when the server stopped)."""
    service, upstream = running
    publish(upstream, 1, 3)
    service.going_away()
    context = FakeContext()
    request = pb.StreamLogsRequest(task_id=TASK, after_seq=0)
    with pytest.raises(Aborted) as refused:
        async with asyncio.timeout(5):
            await service.StreamLogs(request, context)
    assert refused.value.code is grpc.StatusCode.UNAVAILABLE
    assert context.sent == []
