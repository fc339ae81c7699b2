"""A quiet task's ring packed on the worker (shared.ring, LogStreamManager's packer): a new
subscriber and a resumed Docker stream see exactly what they did before packing. Scripted log
source, no Docker."""

from __future__ import annotations

import asyncio

import pytest

from shared.model import STDERR, STDOUT
from tests.fakes.logsource import FollowRead, ScriptedLogSource
from tests.fixtures import eventually
from worker.broadcaster import TaskLogBroadcaster
from worker.manager import LogStreamManager

pytestmark = pytest.mark.asyncio


def records(n: int) -> list[tuple[int, bytes]]:
    return [(2 if i % 3 == 0 else 1, f"line {i} {'x' * (i % 40)}\n".encode()) for i in range(n)]


async def test_the_manager_packs_a_quiet_tasks_ring_and_a_new_subscriber_gets_the_same_lines():
    written = records(1000)
    manager = LogStreamManager(pack_interval=0.02)
    try:
        broadcaster = manager.start_task("task-123456", ScriptedLogSource(written))
        await manager.reading_done("task-123456")
        hub = broadcaster.hub
        await eventually(lambda: hub.store.packed_end == 1001, "the ring packed")  # 4 runs of 250
        async with broadcaster.subscribe(tail=1000, follow=False) as sub:
            got = [line async for batch in sub for line in batch.lines]
        expected = [
            (i + 1, STDERR if s == 2 else STDOUT, text.decode())
            for i, (s, text) in enumerate(written)
        ]
        assert [(x.seq, x.stream, x.content + "\n") for x in got] == expected
    finally:
        await manager.close()


async def test_a_stream_resumed_over_packed_lines_publishes_no_duplicate():
    written = records(1000)
    # the engine goes away after the 1000 lines; the retry re-reads from a `since` that
    # re-sends them all, compared with the (now packed) recent lines
    source = ScriptedLogSource(written, reads=[FollowRead(then="break"), FollowRead()])
    broadcaster = TaskLogBroadcaster("task-123456", source, retry_delays=(1.0,))
    reader = asyncio.create_task(broadcaster.run())
    hub = broadcaster.hub
    await eventually(lambda: hub.next_seq == 1001, "the 1000 lines published")
    hub.pack_unread()
    assert hub.pack_unread() == 1000
    await asyncio.wait_for(reader, 10)
    assert len(source.calls) >= 2 and source.calls[1]["since"] is not None
    assert hub.next_seq == 1001  # nothing published twice
    assert [x.content for x in hub.store.recent(3)] == [
        text.decode().rstrip("\n") for _, text in written[-3:]
    ]
