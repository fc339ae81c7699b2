"""Retention: which finished tasks' logs to remove, and the sweep that removes them.

The policy (:func:`to_remove`) is pure: finished tasks older than ``max_age`` go, then the
oldest finished ones until all tasks together fit in ``max_bytes``. Running tasks are never
removed (one that alone grows too big loses its oldest lines instead: the store's per-task
cap). A removed task keeps its info, marked expired, so asking for its log answers
``expired`` rather than "unknown task".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.units import format_size
from worker.manager import LogStreamManager
from worker.store import LogStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Kept:
    """A task's log as retention sees it."""

    task_id: str
    finished_at: float  # 0: still running
    bytes: int


def to_remove(tasks: list[Kept], now: float, max_age: float, max_bytes: int) -> list[str]:
    """The task ids whose logs to remove, oldest finished first."""
    finished = sorted((t for t in tasks if t.finished_at > 0), key=lambda t: t.finished_at)
    total = sum(t.bytes for t in tasks)
    remove = []
    for t in finished:
        if now - t.finished_at > max_age or total > max_bytes:
            remove.append(t.task_id)
            total -= t.bytes
    return remove


class RetentionSweep:
    """Applies :func:`to_remove` to a store every ``interval`` seconds."""

    def __init__(
        self,
        store: LogStore,
        manager: LogStreamManager,
        *,
        max_age: float,
        max_bytes: int,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.manager = manager
        self.max_age = max_age
        self.max_bytes = max_bytes
        self.interval = interval
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Sweep now and then every ``interval`` seconds, in the background."""
        self._task = asyncio.create_task(self._forever(), name="retention")

    async def stop(self) -> None:
        """Stop sweeping."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("retention sweep failed")
            await asyncio.sleep(self.interval)

    async def sweep(self) -> list[str]:
        """Remove what the policy says; returns the removed task ids."""
        kept = [
            Kept(task_id, t.info.finished_at if t.info.status.is_final else 0.0, t.bytes)
            for task_id, t in self.store.tasks.items()
            if not t.expired
        ]
        removed = to_remove(kept, self.clock(), self.max_age, self.max_bytes)
        for task_id in removed:
            await self.store.remove(task_id)
            self.manager.forget(task_id)
        if removed:
            log.info(
                "retention removed the logs of %d task(s) (max age %gs, max %s): %s",
                len(removed),
                self.max_age,
                format_size(self.max_bytes),
                ", ".join(removed[:10]) + (" ..." if len(removed) > 10 else ""),
            )
        return removed
