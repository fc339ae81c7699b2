"""LogStreamManager: one TaskLogBroadcaster per task, kept for late viewers after the task ends."""

from __future__ import annotations

import asyncio
import logging

from shared.errors import TaskExists, TaskNotFound
from shared.hub import HubLimits
from shared.ids import validate_task_id
from shared.model import TaskEnd
from shared.subscription import Subscription
from worker.broadcaster import TaskLogBroadcaster
from worker.frames import DEFAULT_MAX_LINE_BYTES
from worker.logsource import LogSource

log = logging.getLogger(__name__)


class LogStreamManager:
    """Every broadcaster of a worker, by task id.

    ``start_task`` creates a task's broadcaster and starts its reader; ``subscribe`` opens a
    subscription; ``stop_task`` delivers the task's end to every subscriber. A finished task's
    broadcaster stays subscribable for ``retention`` seconds (late monitors still get the tail
    and the status), then it is freed.
    """

    def __init__(
        self,
        *,
        limits: HubLimits | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        retention: float = 300.0,
    ) -> None:
        self.limits = limits or HubLimits()
        self.max_line_bytes = max_line_bytes
        self.retention = retention
        self._broadcasters: dict[str, TaskLogBroadcaster] = {}
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._broadcasters

    def __len__(self) -> int:
        return len(self._broadcasters)

    def start_task(
        self, task_id: str, source: LogSource, *, read: bool = True
    ) -> TaskLogBroadcaster:
        """Create the broadcaster of ``task_id``, subscribable at once, and start reading
        ``source`` in the background (with ``read=False``, only at :meth:`begin_reading`:
        Docker ends a log stream at once for a container that is not running yet).

        Await :meth:`reading_done` to know when the whole log was read.
        """
        validate_task_id(task_id)
        if task_id in self._broadcasters:
            raise TaskExists(f"{task_id} already has a log broadcaster")
        broadcaster = TaskLogBroadcaster(
            task_id, source, limits=self.limits, max_line_bytes=self.max_line_bytes
        )
        self._broadcasters[task_id] = broadcaster
        if read:
            self.begin_reading(task_id)
        return broadcaster

    def begin_reading(self, task_id: str) -> None:
        """Start the reader of ``task_id`` (once its container runs)."""
        broadcaster = self.get(task_id)
        if task_id not in self._readers and broadcaster.hub.end is None:
            self._readers[task_id] = asyncio.create_task(
                broadcaster.run(), name=f"log-reader-{task_id}"
            )

    async def reading_done(self, task_id: str) -> None:
        """Wait until the reader of ``task_id`` has published the container's last line."""
        reader = self._readers.get(task_id)
        if reader is not None:
            await asyncio.shield(reader)

    def get(self, task_id: str) -> TaskLogBroadcaster:
        """The broadcaster of ``task_id``; :class:`TaskNotFound` if there is none (any more)."""
        validate_task_id(task_id)
        try:
            return self._broadcasters[task_id]
        except KeyError:
            raise TaskNotFound(f"no task {task_id} on this worker") from None

    def subscribe(
        self,
        task_id: str,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
    ) -> Subscription:
        """Subscribe to ``task_id``: history (or ``tail`` / ``after``), live lines, the end."""
        return self.get(task_id).subscribe(tail=tail, after=after, follow=follow)

    def stop_task(self, task_id: str, end: TaskEnd) -> None:
        """The task ended: tell every subscriber, free the broadcaster after the retention."""
        broadcaster = self.get(task_id)
        broadcaster.finish(end)
        reader = self._readers.pop(task_id, None)
        if reader is not None and not reader.done():
            reader.cancel()
        loop = asyncio.get_running_loop()
        self._expiry[task_id] = loop.call_later(self.retention, self._release, task_id)

    def _release(self, task_id: str) -> None:
        self._expiry.pop(task_id, None)
        if self._broadcasters.pop(task_id, None) is not None:
            log.debug("released the log broadcaster of %s", task_id)

    async def close(self) -> None:
        """Stop every reader and forget every broadcaster."""
        readers = list(self._readers.values())
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for handle in self._expiry.values():
            handle.cancel()
        self._readers.clear()
        self._expiry.clear()
        self._broadcasters.clear()
