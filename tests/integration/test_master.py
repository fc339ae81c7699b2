"""The master in process: StreamTaskLogsUnified, shared relays, many monitors."""

from __future__ import annotations

import asyncio

import pytest

from master.coordinator import LogUpdate
from master.master_client import MasterClient
from shared.errors import InvalidTaskId, TaskNotFound
from shared.model import TaskSpec, TaskStatus
from tests.comparator import Received
from tests.fixtures import TEST_IMAGE
from tests.integration.test_fanout import numbered

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


def spec(script: str) -> TaskSpec:
    return TaskSpec(task_id="", image=TEST_IMAGE, command=("sh", "-c", script))


async def follow(client: MasterClient, task_id: str, **kw) -> Received:
    got = Received()
    async for batch in client.stream(task_id, **kw):
        got.add(batch)
    return got


async def test_100_monitors_get_identical_lines_from_one_worker_stream(master_factory):
    async with master_factory(workers=1) as (running, (worker,)):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(spec(f"sleep 1; {numbered(2000, 'sleep 0.001')}"))
            results = await asyncio.gather(*(follow(client, info.task_id) for _ in range(100)))
        reference = [(ln.seq, ln.timestamp, ln.content) for ln in results[0].lines]
        assert results[0].numbers() == list(range(1, 2001))
        for got in results:
            assert [(ln.seq, ln.timestamp, ln.content) for ln in got.lines] == reference
            assert got.end.status is TaskStatus.SUCCESS and got.end.exit_code == 0
            assert got.check(published=2000) == []
        assert worker.service.subscriptions[info.task_id] == 1  # one stream for 100 monitors
        assert running.master.relays[info.task_id].upstream_calls == 1


async def test_unified_stream_hands_batches_status_and_completion_to_the_handler(master_factory):
    async with master_factory(workers=1) as (running, _):
        master = running.master
        info = await master.run_task(spec("echo a; sleep 0.1; echo b >&2; exit 5"))
        updates: list[LogUpdate] = []

        async def handler(update: LogUpdate) -> None:
            updates.append(update)

        end = await master.StreamTaskLogsUnified(info.task_id, "tester", handler)
        assert end.status is TaskStatus.FAILED and end.exit_code == 5
        lines = [ln.content for u in updates for ln in u.batch.lines]
        assert lines == ["a", "b"]
        assert updates[-1].is_complete and updates[-1].status is TaskStatus.FAILED
        assert not any(u.is_complete for u in updates[:-1])
        with pytest.raises(InvalidTaskId):
            await master.StreamTaskLogsUnified("../x", "tester", handler)
        master.registry.started_at = 0  # past the warm-up: unknown ids are simply unknown
        with pytest.raises(TaskNotFound):
            await master.StreamTaskLogsUnified("task-404404", "tester", handler)


async def test_late_monitor_of_a_finished_task_gets_the_tail_and_the_status(master_factory):
    async with master_factory(workers=1) as (running, _):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(spec(numbered(1500)))
            await follow(client, info.task_id)
            got = await follow(client, info.task_id)
            assert got.seqs == list(range(501, 1501))  # the last 1000 lines
            assert got.end.status is TaskStatus.SUCCESS
            tail = await follow(client, info.task_id, tail=3)
            assert tail.numbers() == [1498, 1499, 1500]


async def test_monitor_cancelled_five_times_frees_its_subscription(master_factory):
    async with master_factory(workers=1) as (running, _):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(spec(numbered(100_000, "sleep 0.01")))
            relay = None
            for _ in range(5):
                task = asyncio.create_task(follow(client, info.task_id))
                await asyncio.sleep(0.5)
                relay = running.master.relays[info.task_id]
                assert relay.hub.subscriber_count == 1
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                for _ in range(100):
                    if relay.hub.subscriber_count == 0:
                        break
                    await asyncio.sleep(0.02)
                assert relay.hub.subscriber_count == 0
            got = await follow(client, info.task_id, tail=0, follow=False)
            assert got.lines == []
            await client.stop(info.task_id)
