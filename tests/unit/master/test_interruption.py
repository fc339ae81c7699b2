"""Interruption (master/interruption.py): a callback cancels the watched task, the block
absorbs that cancellation alone, and any other cancellation still reaches the task."""

from __future__ import annotations

import asyncio

import pytest

from master.interruption import Interruption

pytestmark = pytest.mark.asyncio


async def watched(interruption: Interruption, reached: list[str]) -> str:
    with interruption.watching():
        reached.append("waiting")
        await asyncio.sleep(3600)
        reached.append("woke")  # never: the sleep is interrupted
    return "went on"


async def test_an_interrupt_ends_the_block_and_the_task_goes_on() -> None:
    interruption, reached = Interruption(), list[str]()
    task = asyncio.create_task(watched(interruption, reached))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_soon(interruption.interrupt)  # as a protocol callback
    assert await asyncio.wait_for(task, 5) == "went on"
    assert reached == ["waiting"] and interruption.happened
    assert task.cancelling() == 0


async def test_another_cancellation_still_reaches_the_task() -> None:
    interruption, reached = Interruption(), list[str]()
    task = asyncio.create_task(watched(interruption, reached))
    await asyncio.sleep(0)
    task.cancel()  # the server stopping ...
    interruption.interrupt()  # ... and the client leaving at the same time
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_an_interrupt_before_the_block_cancels_its_first_wait() -> None:
    interruption, reached = Interruption(), list[str]()
    interruption.interrupt()  # the client left before its stream started
    assert await asyncio.wait_for(watched(interruption, reached), 5) == "went on"
    assert reached == ["waiting"] and interruption.happened


async def test_outside_the_block_an_interrupt_cancels_nothing() -> None:
    interruption = Interruption()

    async def after_the_block() -> str:
        with interruption.watching():
            await asyncio.sleep(0)
        interruption.interrupt()  # e.g. the connection closes once the stream has ended
        await asyncio.sleep(0.01)
        return "done"

    assert await asyncio.wait_for(after_the_block(), 5) == "done"


async def test_it_lands_in_the_block_even_when_the_wait_was_just_over() -> None:
    interruption, reached = Interruption(), list[str]()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def body() -> str:
        with interruption.watching():
            reached.append(await ready)  # woken with a result, then interrupted
        return "went on"

    task = asyncio.create_task(body())
    await asyncio.sleep(0)

    def data_and_departure() -> None:  # one callback: a last frame, then the loss
        ready.set_result("frame")
        interruption.interrupt()

    asyncio.get_running_loop().call_soon(data_and_departure)
    assert await asyncio.wait_for(task, 5) == "went on"
    assert reached == [] and task.cancelling() == 0
