"""A filtered subscription on the worker: only the lines that pass a
:class:`~shared.linefilter.LineFilter`, from the task's history (its store at any depth) and
then live, each with its own ``seq``.

``tail=N`` is the last N lines that pass: found by scanning back from the newest line, a
window of :data:`WINDOW` lines at a time (from memory, then the store), up to the oldest line
the store still has. The subscription then reads forward from the first of them, losslessly:
a filtered reader is never ``dropped``; when it falls behind, it continues from the store at
its own pace (what the filter leaves out costs it nothing on the wire). ``after=N`` resumes
exactly, as unfiltered streams do.
"""

from __future__ import annotations

from shared.linefilter import BackScan, LineFilter
from shared.model import LogLine
from shared.subscription import Subscription
from worker.manager import LogStreamManager

WINDOW = 5000  # lines per step of the backward scan
WINDOW_BYTES = 4 * 1024 * 1024


async def subscribe_filtered(
    manager: LogStreamManager,
    task_id: str,
    line_filter: LineFilter,
    *,
    tail: int | None = None,
    after: int | None = None,
    follow: bool = True,
) -> Subscription:
    """Subscribe to the lines of ``task_id`` that pass ``line_filter`` (see the module
    docstring). InvalidRequest for a bad pattern; TaskNotFound / LogExpired as
    :meth:`LogStreamManager.subscribe`."""
    selector = line_filter.selector()
    if after is None:
        hub = await manager.hub(task_id)
        newest = hub.next_seq - 1
        scan = BackScan(selector, manager.limits.history if tail is None else tail)
        before = newest + 1
        while not scan.done and before > 1:
            window = await _window(manager, task_id, max(0, before - 1 - WINDOW), before)
            if not window:
                break  # (older lines are gone: retention, or never stored)
            scan.feed(window)
            if window[0].seq != max(1, before - WINDOW):
                break  # a hole in the history: the lines before it cannot be reached
            before = window[0].seq
        after = newest if scan.start is None else scan.start - 1
    return await manager.subscribe(
        task_id, after=after, follow=follow, lossless=True, selector=selector
    )


async def open_stream(
    manager: LogStreamManager,
    task_id: str,
    line_filter: LineFilter | None,
    *,
    tail: int | None = None,
    after: int | None = None,
    follow: bool = True,
    lossless: bool = False,
    linger: float = 0.0,
) -> Subscription:
    """A master's subscription to ``task_id``: :func:`subscribe_filtered` with an active
    ``line_filter``, else the manager's (``lossless``, ``linger`` as there)."""
    if line_filter is not None and line_filter.active:
        return await subscribe_filtered(
            manager, task_id, line_filter, tail=tail, after=after, follow=follow
        )
    return await manager.subscribe(
        task_id, tail=tail, after=after, follow=follow, lossless=lossless, linger=linger
    )


async def _window(
    manager: LogStreamManager, task_id: str, after: int, before: int
) -> list[LogLine]:
    """The lines ``after + 1 .. before - 1`` the worker still has, in order: those after the
    last hole only (a ``gap`` for lines that are gone restarts the run)."""
    lines: list[LogLine] = []
    while after < before - 1:
        batch = await manager.read(task_id, after, before, WINDOW, WINDOW_BYTES)
        if batch.gap is not None:
            lines = []  # the run starts after what is gone
            after = max(after, batch.gap.to_seq)
        if not batch.lines:
            if batch.gap is None:
                break
            continue
        lines += batch.lines
        after = batch.lines[-1].seq
    return lines
