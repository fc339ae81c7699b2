"""Adapter: the worker's durable log store. SQLite files under ``--data-dir``.

Layout::

    DATA_DIR/catalog.db          every task this worker ran: its info (JSON), a version, expired
    DATA_DIR/tasks/<task_id>.db  one task's lines, in chunks of up to 500 consecutive lines:
                                 first_seq INTEGER PRIMARY KEY, count, zstd(protobuf columns)

The columns (``StoredLines``) carry LogBatch's field numbers: a run without flags is also the
lines of a LogBatch, so :meth:`LogStore.append` leaves each such run's encoding on its first
line (``LogLine.packed``: until it is written, or with :attr:`LogStore.keep_encodings` for as
long as the line lives), and the worker's gRPC stream sends those bytes as they are
(:func:`shared.convert.batch_to_wire`): one encoding per line for both.

Lines are stored as chunks, not a row each: one row per line costs ~5x more CPU per line in
Python (a tuple per line, a timestamp conversion, SQLite's per-row work) than encoding a
chunk's columns with protobuf (in C) and compressing it (zstd level 1,
:mod:`shared.compression`); compressed, a line takes a fraction of its text on disk.
``after=N`` finds its chunk through the primary key and decodes only the lines it needs.

Each file is in WAL mode with ``synchronous=NORMAL``: a commit is atomic and survives a crash
of the worker process (a power loss may take back the last commits, never corrupt). One writer
thread does every write, so the event loop never waits for the disk: :meth:`LogStore.append`
encodes the lines and queues the bytes (:mod:`worker.inbox`: a queued batch does not wake the
thread). The thread gathers what is queued for :data:`COMMIT_WINDOW` (0.1 s),
writes it in one transaction per task, commits, and tells the loop how far each task is
durable (``on_commit``): a crash loses at most the last ~0.1 s of output (plus one
transaction's time). Until then :meth:`LogStore.read` serves the queued lines from memory, so
the task's hub need not keep them (it keeps what its limits say: fewer line objects alive in a
burst, less work for the garbage collector). Lines
are written only once numbered and published, in seq order, so a restarted worker continues
exactly after the last committed seq: no duplicate, no hole.

Reads (:meth:`LogStore.read`) run in a thread pool on each task's own read connection (WAL:
readers never block the writer; the :data:`MAX_OPEN_READERS` most recently used stay open),
each in one statement merged with the lines still queued. A write that fails (disk full, I/O
error) loses only those lines from the history (they read as a ``gap`` with reason ``not
stored``); the task keeps streaming live and its info says why (``store_error``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from operator import itemgetter
from pathlib import Path

from google.protobuf.message import DecodeError

from shared.compression import CorruptChunk, compress, decompress
from shared.convert import decode_stored, encode_run, stored_contents
from shared.errors import LogExpired, TaskNotFound
from shared.flowstats import COMMIT_BUCKETS, Histogram
from shared.model import Batch, Gap, LogLine, TaskInfo, TaskStatus
from shared.search import Chunk
from shared.threadname import name_this_thread
from worker.inbox import Inbox

log = logging.getLogger(__name__)

COMMIT_WINDOW = 0.1
"""Seconds the writer gathers lines before it commits them (a crash loses at most this much,
plus the time of one transaction). A commit costs ~0.3 ms of CPU whatever its size (measured:
bench 11g), so committing each small batch as it comes cost a live task up to ~7 us a line;
gathering for 0.1 s makes it one commit per 0.1 s of output. Operations that wait (flush,
remove) and a full transaction (:data:`MAX_TXN_LINES`) are written at once."""
MAX_TXN_LINES = 20_000
WRITER_IDLE = 30.0
"""Seconds without lines after which a task's writer connection is closed (it is opened again
for the task's next lines: ~1 ms of the writer thread's CPU, against ~0.02 ms for a write on an
open one). A running task that went quiet then holds no open file and none of the ~170 KiB a
writer connection keeps: SQLite's heap and the WAL index (bench/PROFILES.md, row 7)."""
MAX_OPEN_READERS = 64
"""Read connections kept open (each holds three files: a task's file, its WAL and its shared
memory); beyond, the least recently used is closed (reopened when read again: ~0.1 ms). A
worker that served thousands of tasks' histories would otherwise hold a connection to each."""

WRITER_THREAD = "logstore"
"""The writer thread's name, also its OS name (``top -H``, ``/proc/<pid>/task/*/comm``): what
the store costs the worker's CPU shows there (benchmark 5s reads it)."""

WRITER_CACHE_KIB = 256
"""Page cache of a task's writer connection (and the catalog's), in KiB: a task's file only
grows at its end. A writer also lets its whole cache go after each commit (``PRAGMA
shrink_memory``: SQLite frees the pages and the ~87 KB block it allocated for them at the
first read), since the next commit reads only the few pages on the way to the file's end:
measured (25 writers, 40 commits of a 9 KB chunk each), SQLite's memory 33 KiB per writer
instead of 219 and RSS 187 KiB instead of 300, for 6-13 us more CPU per commit (57-64 us
against 50-52)."""

CHUNK_LINES = 500
WrittenChunk = tuple[int, int, bytes]  # as written: first seq, lines, compressed data
_TASK_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    first_seq INTEGER PRIMARY KEY,  -- the seq of the chunk's first line
    count INTEGER NOT NULL,         -- its lines: first_seq .. first_seq + count - 1
    data BLOB NOT NULL              -- zstd (or zlib) of StoredLines: timestamps, streams, contents
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
"""
_CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    info TEXT NOT NULL,
    expired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_by_version ON tasks (version);
"""


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    if readonly:
        conn.execute("PRAGMA query_only = ON")
        return conn
    # a writer only appends at the end of one table (reads have connections of their own):
    # with SQLite's default cache (2 MB) a running task that had written 26 MB held 2 MB of
    # pages it will not read again (measured: 2,094 KiB; 296 with this)
    conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # before the first table: lets us shrink
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@dataclass(slots=True)
class StoredTask:
    """What the store knows of a task without opening its file."""

    info: TaskInfo
    version: int
    expired: bool = False
    bytes: int = 0  # size of its file (updated after commits)
    first_seq: int = 1  # oldest line kept (the per-task cap removes older ones)
    last_seq: int = 0  # newest committed line (0: not known until the file is opened)
    error: str = ""

    def snapshot(self) -> TaskInfo:
        """The task's info, with ``expired`` and ``store_error`` as the store knows them."""
        return replace(
            self.info, expired=self.expired, store_error=self.error or self.info.store_error
        )


@dataclass(slots=True)
class _Segment:
    """Consecutive lines, encoded (:func:`encode_stored`), all within one chunk's range.
    ``head``: the first line, when it carries this encoding (``LogLine.packed``)."""

    first_seq: int
    count: int
    data: bytes
    head: LogLine | None = None


@dataclass(slots=True)
class _Lines:
    task_id: str
    segments: list[_Segment]
    count: int  # lines in all segments


@dataclass(slots=True)
class _Info:
    task_id: str
    version: int
    text: str


@dataclass(slots=True)
class _Close:
    task_id: str


@dataclass(slots=True)
class _Remove:
    task_id: str
    version: int
    done: asyncio.Future[None]


@dataclass(slots=True)
class _Sync:
    done: asyncio.Future[None]


@dataclass(slots=True)
class _Stop:
    pass


_Op = _Lines | _Info | _Close | _Remove | _Sync | _Stop


@dataclass(slots=True)
class _TaskFile:
    path: Path
    writer: sqlite3.Connection | None = None
    reader: sqlite3.Connection | None = None
    read_lock: threading.Lock = field(default_factory=threading.Lock)


class LogStore:
    """Every task's stored lines and info (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        task_max_bytes: int = 0,
        on_commit: Callable[[dict[str, int]], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_chunks: Callable[[str, list[WrittenChunk]], None] | None = None,
    ) -> None:
        """``task_max_bytes``: a task's file beyond this loses its oldest lines (0: no cap).
        ``on_commit({task: seq})``: lines up to seq are durable (called on the event loop);
        ``on_error(task, message)``: a write failed (called on the event loop);
        ``on_chunks(task, [(first_seq, count, data)])``: the chunks just written, compressed
        (called on the event loop before ``on_commit``): a task's ring keeps them in place of
        its own encoding of those lines (:meth:`shared.ring.LineStore.adopt_compressed`)."""
        self.data_dir = Path(data_dir)
        self.task_dir = self.data_dir / "tasks"
        self.task_max_bytes = task_max_bytes
        self.on_commit = on_commit
        self.on_error = on_error
        self.on_chunks = on_chunks
        # once written, a run's encoding stays on its first line (the ring lets go of both
        # when it packs them: LogHub.pack_sent), so a stream that takes the lines after the
        # write still sends those bytes; otherwise it goes with the write (the embedded
        # worker's ring keeps its lines as objects)
        self.keep_encodings = False
        self.tasks: dict[str, StoredTask] = {}
        self.version = 0
        self._files: dict[str, _TaskFile] = {}
        self.max_open_readers = MAX_OPEN_READERS
        self._readers: OrderedDict[Path, _TaskFile] = OrderedDict()  # open, least recent first
        self._readers_lock = threading.Lock()
        self._inbox: Inbox[_Op] = Inbox(COMMIT_WINDOW, MAX_TXN_LINES)
        self.writer_idle = WRITER_IDLE
        self._last_lines: dict[str, float] = {}  # open writers: when each last wrote (thread)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._catalog: sqlite3.Connection | None = None
        self.commits = 0
        self.lines_written = 0
        self.bytes_written = 0  # compressed, as written to the files
        self.commit_seconds = Histogram(COMMIT_BUCKETS)  # each commit's writing (writer thread)
        # each task's segments queued and not yet written, oldest first: read from memory
        # until then (so the hub need not keep every line until its commit), then let go
        # with the encoding their first lines carry (the lines may stay in the ring for long)
        self._pending: dict[str, deque[_Segment]] = {}

    # ------------------------------------------------------------------ life cycle

    def open(self) -> None:
        """Create the directories, load the catalog, start the writer thread. Blocking: call
        before serving (it reads one small file)."""
        self.task_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self._catalog = _connect(self.data_dir / "catalog.db")
        self._catalog.executescript(_CATALOG_SCHEMA)
        for task_id, version, info, expired in self._catalog.execute(
            "SELECT task_id, version, info, expired FROM tasks"
        ):
            stored = StoredTask(_info_from_json(info), version, bool(expired))
            path = self._path(task_id)
            with contextlib.suppress(OSError):
                stored.bytes = path.stat().st_size
            self.tasks[task_id] = stored
            self.version = max(self.version, version)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._write_forever, name=WRITER_THREAD, daemon=True)
        self._thread.start()

    async def close(self) -> None:
        """Write what is queued, stop the writer, close every file."""
        if self._thread is not None:
            self._inbox.put(_Stop(), urgent=True)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        for f in self._files.values():
            for conn in (f.writer, f.reader):
                if conn is not None:
                    conn.close()
        self._files.clear()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        done = asyncio.get_running_loop().create_future()
        self._inbox.put(_Sync(done), urgent=True)
        await done

    # ------------------------------------------------------------------ writing (queued)

    def record(self, info: TaskInfo) -> None:
        """Keep ``info`` as the task's metadata (a new task, or a change of status)."""
        self.version += 1
        stored = self.tasks.get(info.task_id)
        if stored is None:
            stored = self.tasks[info.task_id] = StoredTask(info, self.version)
        stored.info = info
        stored.version = self.version
        stored.expired = False
        self._inbox.put(_Info(info.task_id, self.version, _info_to_json(info)))

    def append(self, task_id: str, lines: list[LogLine]) -> None:
        """Queue published (numbered) lines for writing. Never blocks. From now on
        :meth:`read` has them (from memory until they are written).

        The lines are encoded here, on the loop that just published them (hot in the cache;
        measured: one encoding per published batch costs the worker less than the writer
        thread reading every line object a second time), cut where their seqs cross a
        multiple of :data:`CHUNK_LINES`; the writer thread only joins bytes into chunks."""
        if lines:
            segments = []
            pending = self._pending.get(task_id)
            if pending is None:
                pending = self._pending[task_id] = deque()
            for part in _segments(lines):
                data, plain = encode_run(part)
                segment = _Segment(part[0].seq, len(part), data)
                if plain:  # the worker's gRPC stream sends these bytes as they are
                    part[0].packed = (len(part), data)
                    segment.head = part[0]
                segments.append(segment)
                pending.append(segment)
            self._inbox.put(_Lines(task_id, segments, len(lines)), lines=len(lines))

    def close_task(self, task_id: str) -> None:
        """The task ended: close its writer once its last lines are written."""
        self._inbox.put(_Close(task_id))

    async def remove(self, task_id: str) -> None:
        """Delete a task's lines (retention). Its info stays, marked expired."""
        stored = self.tasks.get(task_id)
        if stored is None:
            return
        self.version += 1
        stored.expired = True
        stored.version = self.version
        stored.bytes = 0
        done = asyncio.get_running_loop().create_future()
        self._inbox.put(_Remove(task_id, self.version, done), urgent=True)
        await done

    # ------------------------------------------------------------------ reading

    def check(self, task_id: str) -> StoredTask:
        """The stored task; :class:`TaskNotFound` / :class:`LogExpired` when there is none."""
        stored = self.tasks.get(task_id)
        if stored is None:
            raise TaskNotFound(f"no task {task_id} on this worker")
        if stored.expired:
            raise LogExpired(f"the log of {task_id} has expired (removed by retention)")
        return stored

    async def read(
        self, task_id: str, after: int, before: int, max_lines: int, max_bytes: int
    ) -> Batch:
        """Lines ``after + 1 .. before - 1`` (``before`` 0: no bound), at most ``max_lines``
        / ``max_bytes``; a gap ``expired`` first for lines retention removed. Every line
        :meth:`append` was given: those not yet written come from memory."""
        self.check(task_id)
        queued = [
            seg
            for seg in self._pending.get(task_id, ())
            if seg.first_seq + seg.count > after + 1 and (before <= 0 or seg.first_seq < before)
        ]
        return await asyncio.to_thread(
            self._read_sync, task_id, after, before, max_lines, max_bytes, queued
        )

    async def last_lines(self, task_id: str, n: int) -> list[LogLine]:
        """The newest ``n`` committed lines, oldest first (for resuming a container's log
        after a restart, when every line the store has is committed)."""
        last = await self.last_seq(task_id)
        return (await self.read(task_id, max(0, last - n), last + 1, n, 1 << 40)).lines

    async def last_seq(self, task_id: str) -> int:
        """The newest committed seq of ``task_id`` (0: none)."""
        stored = self.check(task_id)
        if not stored.last_seq:
            stored.last_seq = await asyncio.to_thread(self._last_seq_sync, task_id)
        return stored.last_seq

    def changed_since(self, version: int, limit: int) -> list[StoredTask]:
        """Tasks whose info changed after catalog ``version``, oldest change first."""
        changed = [t for t in self.tasks.values() if t.version > version]
        changed.sort(key=lambda t: t.version)
        return changed[:limit]

    def total_bytes(self) -> int:
        """Bytes on disk of every task's lines."""
        return sum(t.bytes for t in self.tasks.values())

    # ------------------------------------------------------------------ the reader side

    def _path(self, task_id: str) -> Path:
        return self.task_dir / f"{task_id}.db"

    def _file(self, task_id: str) -> _TaskFile:
        f = self._files.get(task_id)
        if f is None:  # (a reader thread and the writer may both get here first: one object,
            # else the writer's connection could be left on one nobody closes)
            f = self._files.setdefault(task_id, _TaskFile(self._path(task_id)))
        return f

    def _reader(self, f: _TaskFile, stored: StoredTask) -> sqlite3.Connection:
        if f.reader is None:
            if not f.path.exists():
                raise TaskNotFound(f"no stored log at {f.path.name}")
            conn = _connect(f.path, readonly=True)
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'first_seq'").fetchone()
            except sqlite3.OperationalError as exc:
                conn.close()
                if not _being_created(exc):
                    raise
                raise TaskNotFound(f"{f.path.name} is being created") from None
            if row is not None:
                stored.first_seq = max(stored.first_seq, int(row[0]))
            f.reader = conn
        self._used(f)
        return f.reader

    def _used(self, f: _TaskFile) -> None:
        """``f``'s reader (its read lock held) is the most recently used; close the least
        recently used others beyond :attr:`max_open_readers` (not those being read now)."""
        idle: list[_TaskFile] = []
        with self._readers_lock:
            readers = self._readers
            readers[f.path] = f
            readers.move_to_end(f.path)
            excess = len(readers) - self.max_open_readers
            for other in readers.values():
                if len(idle) >= excess:
                    break
                if other is not f and other.read_lock.acquire(blocking=False):
                    idle.append(other)
            for other in idle:
                del readers[other.path]
        for other in idle:
            try:
                if other.reader is not None:
                    other.reader.close()
                    other.reader = None
            finally:
                other.read_lock.release()

    def _read_sync(
        self,
        task_id: str,
        after: int,
        before: int,
        max_lines: int,
        max_bytes: int,
        queued: list[_Segment],
    ) -> Batch:
        stored = self.tasks[task_id]
        batch = Batch()
        start = after + 1
        end = before if before > 0 else 1 << 62
        f = self._file(task_id)
        with f.read_lock:
            try:
                reader: sqlite3.Connection | None = self._reader(f, stored)
            except TaskNotFound:  # nothing written yet
                reader = None
            if start < stored.first_seq:
                batch.gap = Gap(start, min(stored.first_seq, end) - 1, "expired")
                start = stored.first_seq
            if start >= end:
                return batch
            try:
                rows = self._rows(reader, start, end) if reader is not None else iter(())
                # merged in seq order with what was queued when the read began: the file has
                # every line before the queue's first (written before it left the queue) and
                # maybe some of the queue's (written meanwhile: each line comes once)
                queue = ((seg.first_seq, seg.count, seg.data, False) for seg in queued)
                merged = heapq.merge(rows, queue, key=itemgetter(0))  # by first_seq
                _gather(batch.lines, merged, start, end, max_lines, max_bytes)
            except (sqlite3.Error, CorruptChunk, DecodeError) as exc:
                log.error("%s: reading the stored log failed: %s", task_id, exc)
        return batch

    @staticmethod
    def _rows(reader: sqlite3.Connection, start: int, end: int) -> Iterator[_Row]:
        """The written chunks that hold lines ``start ..`` (before ``end``), compressed. One
        statement, so one snapshot: finding the chunk that holds ``start`` and reading on
        from it in two could straddle a commit and miss that chunk."""
        cursor = reader.execute(
            "SELECT first_seq, count, data FROM chunks WHERE first_seq >= coalesce("
            "(SELECT max(first_seq) FROM chunks WHERE first_seq <= ?1), ?1)"
            " AND first_seq < ?2 ORDER BY first_seq",
            (start, end),
        )
        for first, count, data in cursor:
            yield first, count, data, True

    def chunks(
        self, task_id: str, before: int, *, reverse: bool = False, must_hold: bytes = b""
    ) -> Iterator[Chunk]:
        """Every line before seq ``before`` as chunks ``(first_seq, contents)``, oldest first
        (newest first with ``reverse``): for a search. Call it on the loop (it takes the
        queued lines now); iterate it in a thread (it reads the written chunks on a
        connection of its own, so the task's readers are not held up: blocking).

        ``must_hold``: a chunk whose bytes do not hold these (a substring's UTF-8) is not
        decoded: its lines come as empty strings (they cannot match)."""
        self.check(task_id)
        queued = [(s.first_seq, s.count, s.data) for s in self._pending.get(task_id, ())]
        return self._chunks_with(task_id, before, reverse, must_hold, queued)

    def _chunks_with(
        self,
        task_id: str,
        before: int,
        reverse: bool,
        must_hold: bytes,
        queued: list[tuple[int, int, bytes]],
    ) -> Iterator[Chunk]:
        """The written chunks, then the queued segments (the other way round with
        ``reverse``); a segment written meanwhile comes once."""
        queued = [seg for seg in queued if seg[0] < before]
        if reverse:
            low = before
            for first, count, data in reversed(queued):
                yield first, _contents(data, min(count, low - first), must_hold)
                low = first
            yield from self._written_chunks(task_id, low, reverse, must_hold)
            return
        high = 0  # the seq after the last line yielded
        for first, contents in self._written_chunks(task_id, before, reverse, must_hold):
            yield first, contents
            high = first + len(contents)
        for first, count, data in queued:
            if first + count > high:
                skip = max(0, high - first)
                lines = _contents(data, min(count, before - first), must_hold)
                yield first + skip, lines[skip:]

    def _written_chunks(
        self, task_id: str, before: int, reverse: bool, must_hold: bytes
    ) -> Iterator[Chunk]:
        path = self._path(task_id)
        if not path.exists():
            return
        conn = _connect(path, readonly=True)
        try:
            order = "DESC" if reverse else "ASC"
            try:
                cursor = conn.execute(
                    f"SELECT first_seq, count, data FROM chunks WHERE first_seq < ? "
                    f"ORDER BY first_seq {order}",
                    (before,),
                )
            except sqlite3.OperationalError as exc:
                if not _being_created(exc):
                    raise
                return
            for first, count, data in cursor:
                try:
                    contents = _contents(decompress(data), min(count, before - first), must_hold)
                except (CorruptChunk, DecodeError) as exc:
                    log.error("%s: a stored chunk at seq %d is unreadable: %s", task_id, first, exc)
                    continue
                yield first, contents
        finally:
            conn.close()

    def _last_seq_sync(self, task_id: str) -> int:
        f = self._file(task_id)
        with f.read_lock:
            try:
                row = (
                    self._reader(f, self.tasks[task_id])
                    .execute(
                        "SELECT first_seq + count - 1 FROM chunks ORDER BY first_seq DESC LIMIT 1"
                    )
                    .fetchone()
                )
            except TaskNotFound:
                return 0
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ the writer thread

    def _write_forever(self) -> None:
        name_this_thread(WRITER_THREAD)
        while self._write(self._inbox.take(self.writer_idle if self._last_lines else None)):
            self._close_idle(time.monotonic())

    def _close_idle(self, now: float) -> None:
        """Close the writers of tasks that wrote nothing for :attr:`writer_idle` seconds."""
        for task_id, at in list(self._last_lines.items()):
            if now - at >= self.writer_idle:
                self._close_writer(task_id, truncate=False)

    def _write(self, work: list[_Op]) -> bool:
        """Apply queued operations; False after a stop."""
        if not work:  # (nothing came for a while: only the idle writers to close)
            return True
        pending: dict[str, list[_Segment]] = {}
        infos: list[tuple[str, int, str]] = []
        later: list[_Op] = []
        for op in work:
            if isinstance(op, _Lines):
                pending.setdefault(op.task_id, []).extend(op.segments)
            elif isinstance(op, _Info):
                infos.append((op.task_id, op.version, op.text))
            else:
                later.append(op)
        committed: dict[str, int] = {}
        written: dict[str, list[WrittenChunk]] = {}
        started = time.perf_counter()
        for task_id, segments in pending.items():
            last = segments[-1]
            committed[task_id] = last.first_seq + last.count - 1
            written[task_id] = self._write_lines(task_id, segments)
            self._last_lines[task_id] = time.monotonic()
        if infos:
            self._write_infos(infos)
        if pending or infos:
            self.commit_seconds.observe(time.perf_counter() - started)
        self.commits += 1
        if committed:
            self._call_soon(self._written, committed, written)
        for op in later:
            if isinstance(op, _Close):
                self._close_writer(op.task_id)
            elif isinstance(op, _Remove):
                self._remove(op.task_id, op.version)
                self._call_soon(_resolve, op.done)
            elif isinstance(op, _Sync):
                self._call_soon(_resolve, op.done)
            elif isinstance(op, _Stop):
                for task_id in list(self._files):
                    self._close_writer(task_id)
                return False
        return True

    def _write_lines(self, task_id: str, segments: list[_Segment]) -> list[WrittenChunk]:
        """Write the task's segments in one transaction: the chunks written (none when the
        write failed)."""
        f = self._file(task_id)
        first_seq = segments[0].first_seq
        last_seq = segments[-1].first_seq + segments[-1].count - 1
        stored = self.tasks.get(task_id)
        try:
            if f.writer is None:
                f.writer = _connect(f.path)
                f.writer.executescript(_TASK_SCHEMA)
            conn = f.writer
            chunks = [(first, count, compress(data)) for first, count, data in _chunks(segments)]
            conn.execute("BEGIN")
            conn.executemany("INSERT OR IGNORE INTO chunks VALUES (?, ?, ?)", chunks)
            conn.execute("COMMIT")
            self.lines_written += sum(seg.count for seg in segments)
            self.bytes_written += sum(len(c[2]) for c in chunks)
            if stored is not None:
                stored.last_seq = last_seq
                stored.bytes = _file_bytes(conn)
                if self.task_max_bytes and stored.bytes > self.task_max_bytes:
                    self._cap(task_id, stored, conn)
            with contextlib.suppress(sqlite3.Error):  # (the lines are written: not a failure)
                conn.execute("PRAGMA shrink_memory")  # its page cache (WRITER_CACHE_KIB)
            return chunks
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if f.writer is not None and f.writer.in_transaction:
                    f.writer.execute("ROLLBACK")
            message = f"lines {first_seq}-{last_seq} not stored: {exc}"
            if stored is not None and not stored.error:
                log.error("%s: %s (the task keeps streaming live)", task_id, message)
            if stored is not None:
                stored.error = message
            if self.on_error is not None:
                self._call_soon(self.on_error, task_id, message)
            return []

    def _cap(self, task_id: str, stored: StoredTask, conn: sqlite3.Connection) -> None:
        """Remove the task's oldest lines until its file is 3/4 of the cap."""
        count = stored.last_seq - stored.first_seq + 1
        if count <= 1:
            return
        per_line = stored.bytes / count
        remove = count - int(self.task_max_bytes * 0.75 / max(per_line, 1.0))
        wanted = stored.first_seq + max(1, min(remove, count - 1))
        conn.execute("BEGIN")
        # whole chunks only: the first kept line is the first line of a chunk
        conn.execute("DELETE FROM chunks WHERE first_seq + count <= ?", (wanted,))
        row = conn.execute("SELECT min(first_seq) FROM chunks").fetchone()
        keep_from = int(row[0]) if row and row[0] is not None else stored.last_seq + 1
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('first_seq', ?)", (keep_from,))
        conn.execute("COMMIT")
        conn.execute("PRAGMA incremental_vacuum")
        first_time = stored.first_seq == 1
        stored.first_seq = keep_from
        stored.bytes = _file_bytes(conn)
        (log.warning if first_time else log.debug)(
            "%s: over the per-task cap (%d bytes): lines before %d removed",
            task_id,
            self.task_max_bytes,
            keep_from,
        )

    def _write_infos(self, infos: list[tuple[str, int, str]]) -> None:
        conn = self._catalog
        assert conn is not None
        try:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO tasks (task_id, version, info, expired) VALUES (?, ?, ?, 0)"
                " ON CONFLICT (task_id) DO UPDATE SET version = excluded.version,"
                " info = excluded.info, expired = 0",
                infos,
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            log.error("the task catalog could not be written: %s", exc)

    def _close_writer(self, task_id: str, *, truncate: bool = True) -> None:
        """Close a task's writer; ``truncate``: first move its WAL into its file and empty it
        (that waits for the file's readers: not for a task that only went quiet, whose
        writer SQLite checkpoints on close when no reader has the file open)."""
        self._last_lines.pop(task_id, None)
        f = self._files.get(task_id)
        if f is not None and f.writer is not None:
            with contextlib.suppress(sqlite3.Error):
                if truncate:
                    f.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                stored = self.tasks.get(task_id)
                if stored is not None:
                    stored.bytes = _file_bytes(f.writer)
            f.writer.close()
            f.writer = None

    def _remove(self, task_id: str, version: int) -> None:
        self._last_lines.pop(task_id, None)  # (its writer is closed below)
        f = self._files.pop(task_id, None)
        if f is not None:
            with f.read_lock:
                for conn in (f.writer, f.reader):
                    if conn is not None:
                        conn.close()
                f.reader = None
                with self._readers_lock:
                    self._readers.pop(f.path, None)
        path = self._path(task_id)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")
        conn = self._catalog
        assert conn is not None
        with contextlib.suppress(sqlite3.Error):
            conn.execute(
                "UPDATE tasks SET expired = 1, version = ? WHERE task_id = ?", (version, task_id)
            )

    def _written(self, committed: dict[str, int], written: dict[str, list[WrittenChunk]]) -> None:
        """On the loop: lines up to ``committed[task]`` are written (or failed to be), in
        the chunks ``written[task]``."""
        if self.on_chunks is not None:
            for task_id, chunks in written.items():
                if chunks:
                    self.on_chunks(task_id, chunks)
        for task_id, seq in committed.items():
            pending = self._pending.get(task_id)
            while pending and pending[0].first_seq <= seq:
                head = pending.popleft().head
                if head is not None and not self.keep_encodings:
                    head.packed = None
            if not pending:
                self._pending.pop(task_id, None)
        if self.on_commit is not None:
            self.on_commit(committed)

    def _call_soon(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn, *args)


def _segments(lines: list[LogLine]) -> list[list[LogLine]]:
    """``lines`` cut into runs of consecutive seqs that each lie within one chunk's range
    (seqs ``k * CHUNK_LINES + 1 .. (k + 1) * CHUNK_LINES``)."""
    parts: list[list[LogLine]] = []
    start = 0
    n = len(lines)
    consecutive = lines[-1].seq - lines[0].seq == n - 1
    while start < n:
        seq = lines[start].seq
        end = min(n, start + CHUNK_LINES - (seq - 1) % CHUNK_LINES)  # to the range's end
        if not consecutive:  # (published lines always are; stop at a jump all the same)
            for i in range(start + 1, end):
                if lines[i].seq != lines[i - 1].seq + 1:
                    end = i
                    break
        parts.append(lines[start:end])
        start = end
    return parts


_Row = tuple[int, int, bytes, bool]  # first_seq, count, encoded lines, compressed


def _gather(
    lines: list[LogLine],
    rows: Iterator[_Row],
    start: int,
    end: int,
    max_lines: int,
    max_bytes: int,
) -> None:
    """Append lines ``start ..`` (before ``end``) from ``rows`` (in seq order) to ``lines``,
    stopping at a hole."""
    size = 0
    expect = start
    for first, count, data, compressed in rows:
        if first + count <= expect:
            continue
        if first > expect:
            if lines:
                break  # a hole (lines not stored): the next read starts there
            expect = first  # the hole comes first: the caller reports it
        lo = expect - first
        hi = min(count, end - first, lo + max_lines - len(lines))
        for line in decode_stored(decompress(data) if compressed else data, first, lo, hi):
            size += len(line.content)
            if lines and size > max_bytes:
                return
            lines.append(line)
        expect = first + hi
        if len(lines) >= max_lines or expect >= end:
            return


def _contents(raw: bytes, n: int, must_hold: bytes) -> Sequence[str]:
    """The first ``n`` lines' contents of encoded lines ``raw``; blanks when ``must_hold``
    is not in them (they cannot match)."""
    if must_hold and must_hold not in raw:
        return [""] * max(0, n)
    return stored_contents(raw)[: max(0, n)]


def _chunks(segments: list[_Segment]) -> list[tuple[int, int, bytes]]:
    """Consecutive segments within one chunk's range joined: ``(first_seq, count, data)``."""
    chunks: list[tuple[int, int, list[bytes]]] = []
    for seg in segments:
        if chunks:
            first, count, parts = chunks[-1]
            if (
                first + count == seg.first_seq
                and (first - 1) // CHUNK_LINES == (seg.first_seq - 1) // CHUNK_LINES
            ):
                parts.append(seg.data)
                chunks[-1] = (first, count + seg.count, parts)
                continue
        chunks.append((seg.first_seq, seg.count, [seg.data]))
    return [(first, count, b"".join(parts)) for first, count, parts in chunks]


def _being_created(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` says a task's file has no tables yet: the writer has just created it
    (its tables come in the next statement), so nothing is written in it yet."""
    return "no such table" in str(exc)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _file_bytes(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def _info_to_json(info: TaskInfo) -> str:
    data = asdict(info)
    data["status"] = info.status.value
    return json.dumps(data, separators=(",", ":"))


def _info_from_json(text: str) -> TaskInfo:
    data = json.loads(text)
    data["status"] = TaskStatus(data["status"])
    data["command"] = tuple(data.get("command", ()))
    known = TaskInfo.__dataclass_fields__
    return TaskInfo(**{k: v for k, v in data.items() if k in known})
