"""Several tasks' logs as one stream on the master (the WebSocket's ``/logs?tasks=A,B``).

Each task is read through :meth:`Master.StreamTaskLogsUnified`, as any client reads one, and
the batches are merged by Docker timestamp within the reorder window
(:mod:`shared.merge`, :mod:`shared.merge_driver`). Every update names its task; each task's end
is passed on as it comes, after that task's last line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from master.coordinator import LogUpdate, Master
from shared.errors import LogExpired
from shared.linefilter import LineFilter
from shared.merge import WINDOW, TaskBatch
from shared.merge_driver import Feed, Source, merge_sources
from shared.model import Batch, TaskEnd, TaskStatus


@dataclass(slots=True)
class MergedUpdate:
    """What a :data:`MergedHandler` receives: a batch of one task, whether it is that task's
    end, and the task's status."""

    task_id: str
    batch: Batch
    is_complete: bool
    status: TaskStatus


MergedHandler = Callable[[MergedUpdate], Awaitable[None]]
"""Called for every batch of the merged stream, in order. Raising stops every task's stream."""


def check_tasks(master: Master, task_ids: Sequence[str]) -> None:
    """Raise before anything streams when one of the tasks cannot be read: InvalidTaskId,
    TaskNotFound, LogExpired (retention removed its log), WorkerUnavailable (the master warms
    up) -- what :meth:`Master.StreamTaskLogsUnified` would raise for it."""
    for task_id in task_ids:
        if master.get_task(task_id).expired:
            raise LogExpired(f"the log of {task_id} has expired (removed by retention)")


async def stream_merged_logs(
    master: Master,
    task_ids: Sequence[str],
    user: str,
    handler: MergedHandler,
    *,
    tail: int | None = None,
    after: Mapping[str, int] | None = None,
    follow: bool = True,
    lossless: bool = False,
    sink: str = "websocket",
    line_filter: LineFilter | None = None,
    window: float = WINDOW,
) -> dict[str, TaskEnd | None]:
    """Stream the logs of ``task_ids`` to ``handler``, merged: each task's history (its
    ``tail``, or everything after its seq in ``after``, the per-task cursor), then live lines
    ordered by timestamp across tasks, each task's end after its last line; ``line_filter``
    filters every task's lines. Returns every task's end (None: ``follow=False`` stopped
    first) once all ended. Raises, before anything is sent, what :func:`check_tasks` raises;
    later, what a task's stream raises."""
    check_tasks(master, task_ids)
    cursor = after or {}
    statuses = {task_id: master.get_task(task_id).status for task_id in task_ids}

    def source(task_id: str) -> Source:
        async def run(feed: Feed) -> None:
            async def take(update: LogUpdate) -> None:
                statuses[task_id] = update.status
                await feed(update.batch)

            since = cursor.get(task_id)
            await master.StreamTaskLogsUnified(
                task_id,
                user,
                take,
                tail=tail if since is None else None,
                after=since,
                follow=follow,
                lossless=lossless,
                sink=sink,
                line_filter=line_filter,
            )

        return run

    async def emit(item: TaskBatch) -> None:
        end = item.batch.end
        status = end.status if end is not None else statuses[item.task_id]
        await handler(MergedUpdate(item.task_id, item.batch, end is not None, status))

    sources = {task_id: source(task_id) for task_id in task_ids}
    return await merge_sources(sources, emit, window=window)
