"""LogStreamManager: one TaskLogBroadcaster per task, and every stored task's log."""

from __future__ import annotations

import asyncio
import logging

from shared.errors import InvalidRequest, TaskExists, TaskNotFound
from shared.flowstats import FlowStats
from shared.hub import HubLimits, LogHub
from shared.ids import validate_task_id
from shared.linefilter import Selector
from shared.model import Batch, LogLine, TaskEnd
from shared.subscription import Subscription
from worker.broadcaster import TaskLogBroadcaster
from worker.frames import DEFAULT_MAX_LINE_BYTES
from worker.logsource import LogSource
from worker.store import LogStore, WrittenChunk

log = logging.getLogger(__name__)

PACK_INTERVAL = 5.0
"""Seconds between two packings of the hubs' unread lines (:meth:`LogHub.pack_unread`): a
line that sits unread in a task's ring is packed and compressed after one to two intervals,
so a quiet task's 1,000 kept ~100-byte lines cost ~55 bytes each instead of ~360 (benchmark 7,
row 7r). With the store (and ``pack_sent``), lines every subscriber took are packed at once,
in the store's encoding (:meth:`LogHub.pack_taken`), and once the store has written them
(~0.1 s later) the ring keeps the store's compressed chunks of them instead
(:meth:`shared.ring.LineStore.adopt_compressed`: no compression of its own); the packer
joins and compresses what is left (runs that did not line up with a chunk, and a trickling
task's small chunks)."""
READ_MAX_LINES = 5000  # per read of a master (ReadLogs): one message
READ_MAX_BYTES = 1024 * 1024


class StoredHistory:
    """One task's :class:`~shared.hub.History`: its lines in the worker's store."""

    __slots__ = ("store", "task_id")

    def __init__(self, store: LogStore, task_id: str) -> None:
        self.store = store
        self.task_id = task_id

    async def read(self, after: int, before: int, max_lines: int, max_bytes: int) -> Batch:
        return await self.store.read(self.task_id, after, before, max_lines, max_bytes)


class LogStreamManager:
    """Every broadcaster of a worker, by task id, over the worker's store.

    ``start_task`` creates a task's broadcaster and starts its reader; ``subscribe`` opens a
    subscription; ``stop_task`` delivers the task's end to every subscriber. A finished task's
    broadcaster (its hub: the newest lines in memory) stays for ``retention`` seconds, then it
    is freed; with a ``store`` the task's whole log is still served from disk, through a hub
    opened again on demand.
    """

    def __init__(
        self,
        *,
        limits: HubLimits | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        retention: float = 300.0,
        store: LogStore | None = None,
        stats: FlowStats | None = None,
        pack_interval: float = PACK_INTERVAL,
        pack_sent: bool = True,
    ) -> None:
        """``pack_sent``: with a store, a ring keeps the lines every subscriber has taken as
        the store's encoding (see :class:`TaskLogBroadcaster`)."""
        self.limits = limits or HubLimits()
        self.pack_interval = pack_interval
        self.pack_sent = pack_sent
        self.stats = stats
        self.max_line_bytes = max_line_bytes
        self.retention = retention
        self.store = store
        self._broadcasters: dict[str, TaskLogBroadcaster] = {}
        self._stored: dict[str, LogHub] = {}  # finished tasks reopened from the store
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._packer: asyncio.Task[None] | None = None
        if store is not None:
            store.on_commit = self._committed
            store.on_chunks = self._written
            store.keep_encodings = pack_sent  # (the rings let go of them: pack_taken)

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._broadcasters

    def __len__(self) -> int:
        return len(self._broadcasters)

    def hubs(self) -> list[LogHub]:
        """Open hubs: followed tasks and reopened finished ones."""
        return [b.hub for b in self._broadcasters.values()] + list(self._stored.values())

    def audience(self) -> tuple[int, int]:
        """Open hubs and their subscribers."""
        hubs = self.hubs()
        return len(hubs), sum(h.subscriber_count for h in hubs)

    def start_task(
        self,
        task_id: str,
        source: LogSource,
        *,
        read: bool = True,
        first_seq: int = 1,
        recent: list[LogLine] | None = None,
    ) -> TaskLogBroadcaster:
        """Create the broadcaster of ``task_id``, subscribable at once, and start reading
        ``source`` in the background (with ``read=False``, only at :meth:`begin_reading`:
        Docker ends a log stream at once for a container that is not running yet). A task
        resumed after a restart starts at ``first_seq`` with its ``recent`` stored lines.

        Await :meth:`reading_done` to know when the whole log was read.
        """
        validate_task_id(task_id)
        if task_id in self._broadcasters:
            raise TaskExists(f"{task_id} already has a log broadcaster")
        store = self.store
        broadcaster = TaskLogBroadcaster(
            task_id,
            source,
            limits=self.limits,
            max_line_bytes=self.max_line_bytes,
            history=StoredHistory(store, task_id) if store is not None else None,
            sink=(lambda lines: store.append(task_id, lines)) if store is not None else None,
            first_seq=first_seq,
            recent=recent,
            stats=self.stats,
            pack_sent=self.pack_sent,
        )
        self._stored.pop(task_id, None)
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
        if self._packer is None:
            self._packer = asyncio.create_task(self._pack_forever(), name="ring-packer")

    async def _pack_forever(self) -> None:
        while True:
            await asyncio.sleep(self.pack_interval)
            for hub in self.hubs():
                try:
                    hub.pack_unread()
                except Exception:  # (a bug here must not stop the others' packing)
                    log.exception("packing a hub's unread lines failed")

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

    async def hub(self, task_id: str) -> LogHub:
        """The hub of ``task_id``: its broadcaster's, or a finished task's reopened from the
        store. :class:`TaskNotFound`, or :class:`LogExpired` when retention removed it."""
        validate_task_id(task_id)
        broadcaster = self._broadcasters.get(task_id)
        if broadcaster is not None:
            return broadcaster.hub
        hub = self._stored.get(task_id)
        if hub is not None:
            return hub
        if self.store is None:
            raise TaskNotFound(f"no task {task_id} on this worker")
        stored = self.store.check(task_id)
        info = stored.info
        if not info.status.is_final:
            raise TaskNotFound(f"{task_id} is not running on this worker any more")
        last = await self.store.last_seq(task_id)
        hub = self._stored.get(task_id)  # opened by another caller meanwhile
        if hub is None:
            hub = LogHub(
                self.limits, history=StoredHistory(self.store, task_id), first_seq=last + 1
            )
            hub.finish(TaskEnd(info.status, info.exit_code, info.error))
            self._stored[task_id] = hub
            self._expire_later(task_id)
        return hub

    async def subscribe(
        self,
        task_id: str,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
        selector: Selector | None = None,
        linger: float = 0.0,
    ) -> Subscription:
        """Subscribe to ``task_id``: history (or ``tail`` / ``after``), live lines, the end
        (with a ``selector``: only the lines that pass; ``linger``: see Subscription)."""
        hub = await self.hub(task_id)
        return Subscription(
            hub,
            tail=tail,
            after=after,
            follow=follow,
            lossless=lossless,
            selector=selector,
            linger=linger,
        )

    async def read_slice(
        self, task_id: str, after: int, before: int, max_lines: int, max_bytes: int
    ) -> Batch:
        """A master's read (ReadLogs): :meth:`read`, checked, and at most
        :data:`READ_MAX_LINES` / :data:`READ_MAX_BYTES` (0: those)."""
        if before and before <= after:
            raise InvalidRequest("before_seq must be greater than after_seq")
        return await self.read(
            task_id,
            after,
            before,
            min(max_lines or READ_MAX_LINES, READ_MAX_LINES),
            min(max_bytes or READ_MAX_BYTES, READ_MAX_BYTES),
        )

    async def read(
        self, task_id: str, after: int, before: int, max_lines: int, max_bytes: int
    ) -> Batch:
        """Lines ``after + 1 .. before - 1`` (``before`` 0: up to the newest), from memory when
        the hub still has them, else from the store (a ``gap`` first for what is gone)."""
        hub = await self.hub(task_id)
        ring = hub.store
        if after + 1 >= ring.first_seq or hub.history is None:
            return hub.read_kept(after, before, max_lines, max_bytes)
        end = ring.next_seq if before <= 0 else min(before, ring.next_seq)
        return await hub.history.read(after, min(end, ring.first_seq), max_lines, max_bytes)

    def stop_task(self, task_id: str, end: TaskEnd) -> None:
        """The task ended: tell every subscriber, free the broadcaster after the retention."""
        broadcaster = self.get(task_id)
        broadcaster.finish(end)
        reader = self._readers.pop(task_id, None)
        if reader is not None and not reader.done():
            reader.cancel()
        if self.store is not None:
            self.store.close_task(task_id)
        self._expire_later(task_id)

    def forget(self, task_id: str) -> None:
        """Free what is held in memory for ``task_id`` at once (its log was removed)."""
        handle = self._expiry.pop(task_id, None)
        if handle is not None:
            handle.cancel()
        self._stored.pop(task_id, None)
        self._broadcasters.pop(task_id, None)

    def _expire_later(self, task_id: str) -> None:
        old = self._expiry.pop(task_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._expiry[task_id] = loop.call_later(self.retention, self._release, task_id)

    def _release(self, task_id: str) -> None:
        handle = self._expiry.pop(task_id, None)
        if handle is not None:
            handle.cancel()
        hub = self._stored.get(task_id)
        if hub is not None and hub.subscriber_count and task_id not in self._broadcasters:
            self._expire_later(task_id)  # still read: keep it
            return
        self._stored.pop(task_id, None)
        if self._broadcasters.pop(task_id, None) is not None:
            log.debug("released the log broadcaster of %s", task_id)

    def _written(self, task_id: str, chunks: list[WrittenChunk]) -> None:
        """The store wrote these compressed chunks of the task's lines: its ring keeps them
        in place of the runs it adopted for those lines, if it has (``pack_sent``)."""
        broadcaster = self._broadcasters.get(task_id)
        if broadcaster is not None and broadcaster.hub.pack_sent:
            ring = broadcaster.hub.store
            for first, count, data in chunks:
                ring.adopt_compressed(first, count, data)

    def _committed(self, seqs: dict[str, int]) -> None:
        store = self.store
        for task_id in seqs:
            broadcaster = self._broadcasters.get(task_id)
            stored = store.tasks.get(task_id) if store is not None else None
            if broadcaster is not None and stored is not None:  # (the per-task cap)
                broadcaster.hub.history_first = stored.first_seq

    async def close(self) -> None:
        """Stop every reader and forget every broadcaster."""
        readers = list(self._readers.values())
        if self._packer is not None:
            readers.append(self._packer)
            self._packer = None
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for handle in self._expiry.values():
            handle.cancel()
        self._readers.clear()
        self._expiry.clear()
        self._broadcasters.clear()
        self._stored.clear()
