"""Several tasks' log streams merged into one (:class:`~shared.merge.MergeWindow`), with asyncio
and nothing else: the master merges its subscriptions for the WebSocket (``/logs?tasks=``),
the CLI merges its gRPC streams for ``master monitor A B``; each passes its own streams in.

A *source* runs one task's stream, calling ``feed`` with every batch, and returns when the
stream ends. ``feed`` waits while more than ``hold_limit`` lines of that task are held, so a
viewer that reads slowly slows its sources as it would slow one stream (they skip, or read
from the store at its pace), and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping

from shared.merge import WINDOW, MergeWindow, TaskBatch
from shared.model import Batch, TaskEnd

Feed = Callable[[Batch], Awaitable[None]]
"""Takes one batch of a source's task."""
Source = Callable[[Feed], Awaitable[object]]
"""Streams one task: ``feed`` every batch, return when the stream ends; raise on an error."""
Emit = Callable[[TaskBatch], Awaitable[None]]
"""Takes what the merged stream gives, in order; raising stops everything."""

HOLD_LIMIT = 2000
"""Lines of one task the merge holds before that task's source waits."""


async def merge_sources(
    sources: Mapping[str, Source],
    emit: Emit,
    *,
    window: float = WINDOW,
    hold_limit: int = HOLD_LIMIT,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, TaskEnd | None]:
    """Run every source, ``emit`` their batches merged in timestamp order (each task's end as
    it comes), and return each task's end (None: its stream stopped before it) once every
    stream ended. The first error of a source or of ``emit`` cancels the rest and is raised."""
    merge = MergeWindow(list(sources), window)
    wake = asyncio.Event()
    room = asyncio.Condition()

    def feeder(task_id: str) -> Feed:
        async def feed(batch: Batch) -> None:
            merge.feed(task_id, batch, clock())
            wake.set()
            if merge.held(task_id) > hold_limit:
                async with room:
                    await room.wait_for(lambda: merge.held(task_id) <= hold_limit)

        return feed

    async def run(task_id: str, source: Source) -> None:
        try:
            await source(feeder(task_id))
        finally:
            merge.close(task_id)
            wake.set()

    streams = [
        asyncio.create_task(run(task_id, source), name=f"merge-{task_id}")
        for task_id, source in sources.items()
    ]
    try:
        while True:
            wake.clear()
            taken = merge.take(clock())
            for item in taken:
                await emit(item)
            if taken:
                async with room:
                    room.notify_all()
            for stream in streams:
                error = stream.exception() if stream.done() and not stream.cancelled() else None
                if error is not None:
                    raise error
            if merge.done:
                return merge.ends
            wake_at = merge.wake_at()
            delay = None if wake_at is None else max(0.0, wake_at - clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()
    finally:
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
