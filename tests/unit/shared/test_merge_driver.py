"""merge_sources: scripted task streams merged with asyncio (no network)."""

from __future__ import annotations

import asyncio

import pytest

from shared.errors import TaskNotFound
from shared.merge import TaskBatch
from shared.merge_driver import Feed, merge_sources
from shared.model import STDOUT, Batch, LogLine, TaskEnd, TaskStatus

pytestmark = pytest.mark.asyncio
OK = TaskEnd(TaskStatus.SUCCESS, 0)
FAILED = TaskEnd(TaskStatus.FAILED, 1)


def line(seq: int, ms: int) -> LogLine:
    return LogLine(seq, f"2026-11-22T19:41:{ms // 1000:02d}.{ms % 1000:03d}000000Z", STDOUT, "x")


def scripted(steps: list[tuple[float, Batch]]):
    """A source that feeds each batch after its delay (seconds)."""

    async def source(feed: Feed) -> None:
        for delay, batch in steps:
            await asyncio.sleep(delay)
            await feed(batch)

    return source


async def test_two_live_streams_come_out_in_timestamp_order_with_both_ends():
    got: list[TaskBatch] = []

    async def emit(item: TaskBatch) -> None:
        got.append(item)

    a = [(0.01, Batch(lines=[line(i, i * 20)])) for i in range(1, 11)] + [(0, Batch(end=OK))]
    b = [(0.013, Batch(lines=[line(i, i * 20 + 10)])) for i in range(1, 9)] + [
        (0, Batch(end=FAILED))
    ]
    ends = await merge_sources({"task-a": scripted(a), "task-b": scripted(b)}, emit)
    assert ends == {"task-a": OK, "task-b": FAILED}
    order = [(ln.timestamp, item.task_id) for item in got for ln in item.batch.lines]
    assert len(order) == 18 and order == sorted(order)
    assert [item.batch.end for item in got if item.batch.end] == [FAILED, OK]


async def test_a_stream_that_stops_without_an_end_counts_as_ended_without_one():
    async def emit(item: TaskBatch) -> None:
        pass

    ends = await merge_sources(
        {"task-a": scripted([(0, Batch(lines=[line(1, 0)]))]), "task-b": scripted([])}, emit
    )
    assert ends == {"task-a": None, "task-b": None}


async def test_an_error_of_one_stream_stops_the_others_and_is_raised():
    stopped = asyncio.Event()

    async def endless(feed: Feed) -> None:
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()

    async def unknown(feed: Feed) -> None:
        raise TaskNotFound("no task task-b")

    async def emit(item: TaskBatch) -> None:
        pass

    with pytest.raises(TaskNotFound, match="no task task-b"):
        await asyncio.wait_for(merge_sources({"task-a": endless, "task-b": unknown}, emit), 5)
    assert stopped.is_set()


async def test_a_viewer_that_reads_slowly_makes_its_sources_wait():
    fed = 0
    release = asyncio.Event()

    async def busy(feed: Feed) -> None:
        nonlocal fed
        for i in range(1, 101):
            await feed(Batch(lines=[line(i, i)]))
            fed += 1
        await feed(Batch(end=OK))

    async def emit(item: TaskBatch) -> None:
        await release.wait()  # the viewer takes nothing until released

    run = asyncio.create_task(merge_sources({"task-a": busy}, emit, hold_limit=10))
    await asyncio.sleep(0.1)
    assert fed <= 12  # the source waits once more than 10 lines are held
    release.set()
    assert await asyncio.wait_for(run, 5) == {"task-a": OK}
    assert fed == 100
