"""The CLI's client of the master: task listing pages, what a log stream asks for, errors that
end a stream at once. A scripted stub stands in for the master's gRPC service."""

from __future__ import annotations

import grpc
import pytest

from master.master_client import MasterClient
from shared.errors import LogExpired
from shared.listing import MAX_LIMIT
from shared.model import TaskStatus
from shared.protos import logcast_pb2 as pb


def info(i: int) -> pb.TaskInfo:
    return pb.TaskInfo(task_id=f"task-{i:06d}", status=pb.SUCCESS, labels={"k": "v"})


class PagingStub:
    """ListTasks over ``total`` tasks, newest first, pages as the master cuts them."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.requests: list[pb.ListTasksRequest] = []

    async def ListTasks(
        self, request: pb.ListTasksRequest, timeout: float, metadata: object = None
    ) -> pb.TaskList:
        self.requests.append(request)
        start = int(request.page_token or 0)
        end = min(start + (request.limit or 100), self.total)
        token = str(end) if end < self.total else ""
        return pb.TaskList(tasks=[info(i) for i in range(start, end)], next_page_token=token)


@pytest.mark.asyncio
async def test_listing_sends_the_filters_and_pages_up_to_the_limit():
    async with MasterClient("127.0.0.1:1") as client:
        stub = client._stub = PagingStub(2500)  # type: ignore[assignment]
        tasks, more = await client.tasks(
            statuses=[TaskStatus.SUCCESS, TaskStatus.FAILED], labels=[("k", "v")], limit=1500
        )
    assert [t.task_id for t in tasks] == [f"task-{i:06d}" for i in range(1500)]
    assert more
    assert [r.limit for r in stub.requests] == [MAX_LIMIT, 500]
    assert [r.page_token for r in stub.requests] == ["", "1000"]
    first = stub.requests[0]
    assert list(first.status) == [pb.SUCCESS, pb.FAILED] and dict(first.labels) == {"k": "v"}
    assert tasks[0].labels == {"k": "v"}


@pytest.mark.asyncio
async def test_listing_says_when_nothing_more_matches():
    async with MasterClient("127.0.0.1:1") as client:
        client._stub = PagingStub(3)  # type: ignore[assignment]
        tasks, more = await client.tasks(limit=3)
        assert len(tasks) == 3 and not more
        tasks, more = await client.tasks(limit=2)
        assert len(tasks) == 2 and more


class ExpiredCall:
    """A StreamLogs call the master ends with OUT_OF_RANGE (the log expired)."""

    def __aiter__(self) -> ExpiredCall:
        return self

    async def __anext__(self) -> pb.LogBatch:
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.OUT_OF_RANGE,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            details="the log of task-123456 has expired (removed by retention)",
        )

    def cancel(self) -> bool:
        return True


class StreamStub:
    def __init__(self) -> None:
        self.requests: list[pb.StreamLogsRequest] = []

    def StreamLogs(self, request: pb.StreamLogsRequest, metadata: object = None) -> ExpiredCall:
        self.requests.append(request)
        return ExpiredCall()


@pytest.mark.asyncio
async def test_an_expired_log_ends_the_stream_at_once_and_a_lossless_ask_is_sent():
    async with MasterClient("127.0.0.1:1") as client:
        stub = client._stub = StreamStub()  # type: ignore[assignment]
        with pytest.raises(LogExpired, match="has expired"):
            async for _ in client.stream("task-123456", after=0, follow=False, lossless=True):
                pass
    assert len(stub.requests) == 1  # not retried
    sent = stub.requests[0]
    assert sent.lossless and sent.no_follow and sent.HasField("after_seq") and sent.after_seq == 0
