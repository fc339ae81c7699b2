"""Adapter: a search over one task's whole log on this worker: its stored chunks (read on a
connection of their own, in a thread) and the newest lines still only in memory. The scan
itself is :func:`shared.search.scan` (pure); this module runs it in slices of at most
:data:`SLICE` seconds in a worker thread, so the event loop (every other task's streams) never
waits for a search, and stops it at its time budget or when its caller goes away."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from shared.protos import logcast_pb2 as pb
from shared.search import Chunk, Hit, Query, Scan, scan
from worker.manager import LogStreamManager
from worker.store import LogStore

SLICE = 0.05  # seconds of scanning per trip to the thread pool
DEFAULT_BUDGET = 30.0
MAX_BUDGET = 300.0


@dataclass(slots=True)
class Progress:
    """What a search found since the last progress, and how far it got."""

    hits: list[Hit]
    scanned: int
    lowest: int
    highest: int
    matches: int
    done: bool = False
    stopped: str = ""  # with done: "", "capped" or "time budget"

    def to_pb(self) -> pb.SearchBatch:
        """As the SearchLogs message a master receives."""
        return pb.SearchBatch(
            seqs=[h.seq for h in self.hits],
            contents=[h.content for h in self.hits],
            matches=[h.match for h in self.hits],
            scanned=self.scanned,
            lowest=self.lowest,
            highest=self.highest,
            match_count=self.matches,
            done=self.done,
            stopped=self.stopped,
        )


async def search(
    manager: LogStreamManager,
    store: LogStore | None,
    task_id: str,
    query: Query,
    budget: float = DEFAULT_BUDGET,
) -> AsyncIterator[Progress]:
    """Search ``task_id``'s log; :class:`TaskNotFound` / :class:`LogExpired` first when there
    is none. Yields progress about every :data:`SLICE` seconds, then a last one with ``done``."""
    budget = min(budget or DEFAULT_BUDGET, MAX_BUDGET)
    hub = await manager.hub(task_id)
    ring = hub.store
    kept = hub.read_kept(ring.first_seq - 1, 0, ring.next_seq, 1 << 40).lines
    memory: Chunk = (kept[0].seq, [ln.content for ln in kept]) if kept else (ring.next_seq, [])
    stored_before = memory[0]  # the store has every line before the memory's first
    # a plain substring without context: chunks without its bytes need not be decoded
    plain = not query.regex and not query.ignore_case and not query.context
    skip = query.pattern.encode() if plain else b""
    stored: Iterator[Chunk] = iter(())
    if store is not None and task_id in store.tasks:  # (here: it takes the queued lines now)
        stored = store.chunks(task_id, stored_before, reverse=query.reverse, must_hold=skip)

    def chunks() -> Iterator[Chunk]:
        if query.reverse:
            yield memory
        yield from stored
        if not query.reverse:
            yield memory

    scanning = scan(chunks(), query)
    deadline = time.monotonic() + budget
    finished = False

    def advance() -> tuple[Scan | None, list[Hit], bool]:
        """Scan for up to SLICE seconds (in a thread): the state, its new hits, the end."""
        until = time.monotonic() + SLICE
        state: Scan | None = None
        hits: list[Hit] = []
        for state in scanning:
            hits += state.take()
            if time.monotonic() >= until or len(hits) >= 2000:
                return state, hits, False
        return state, hits, True

    last = Scan()
    try:
        while not finished:
            state, hits, finished = await asyncio.to_thread(advance)
            last = state or last
            out_of_time = not finished and time.monotonic() >= deadline
            done = finished or out_of_time
            stopped = "capped" if last.capped else "time budget" if out_of_time else ""
            yield Progress(
                hits, last.scanned, last.lowest, last.highest, last.matches, done, stopped
            )
            if out_of_time:
                return
    finally:
        with contextlib.suppress(ValueError):  # (cancelled while a slice still runs: let it be)
            scanning.close()
