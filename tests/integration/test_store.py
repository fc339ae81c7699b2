"""The worker's store on real files: what is written reads back exactly, survives a reopen,
the per-task cap and retention remove the oldest first and say so, a full disk loses only
what could not be written. No Docker (the end-to-end cases are in test_history.py)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import os
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from shared.errors import LogExpired, TaskNotFound
from shared.hub import HubLimits, LogHub
from shared.model import STDERR, STDOUT, Gap, LogLine, TaskEnd, TaskInfo, TaskStatus
from shared.search import Query
from shared.subscription import Subscription
from tests.fakes.logsource import ScriptedLogSource
from tests.fixtures import eventually
from worker.manager import LogStreamManager, StoredHistory
from worker.retention import RetentionSweep
from worker.searching import search
from worker.store import _TASK_SCHEMA, LogStore, _connect

pytestmark = pytest.mark.asyncio


def make_lines(first: int, n: int, size: int = 60) -> list[LogLine]:
    out = []
    for seq in range(first, first + n):
        ts = f"2026-11-22T19:41:{seq // 1000 % 60:02d}.{seq % 1000:03d}{seq % 7}12{seq % 10}Z"
        noise = hashlib.sha256(str(seq).encode()).hexdigest() * (size // 64 + 1)
        line = LogLine(seq, ts, STDERR if seq % 3 == 0 else STDOUT, f"line {seq} " + noise[:size])
        out.append(line)
    return out


class Committed:
    """The store's on_commit callback: the newest durable seq per task, awaitable."""

    def __init__(self) -> None:
        self.seqs: dict[str, int] = {}
        self.changed = asyncio.Event()

    def __call__(self, seqs: dict[str, int]) -> None:
        self.seqs.update(seqs)
        self.changed.set()

    async def reach(self, task_id: str, seq: int) -> None:
        async with asyncio.timeout(30):
            while self.seqs.get(task_id, 0) < seq:
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def opened(path: Path, **kw: object) -> AsyncIterator[tuple[LogStore, Committed]]:
    committed = Committed()
    store = LogStore(path, on_commit=committed, **kw)  # type: ignore[arg-type]
    store.open()
    try:
        yield store, committed
    finally:
        await store.close()


def info(task_id: str, status: TaskStatus = TaskStatus.RUNNING, **kw: object) -> TaskInfo:
    return TaskInfo(task_id, status, image="img", command=("sh", "-c", "x"), **kw)  # type: ignore[arg-type]


async def read_all(store: LogStore, task_id: str, after: int = 0) -> tuple[list[Gap], list]:
    gaps: list[Gap] = []
    lines: list[LogLine] = []
    while True:
        batch = await store.read(task_id, after, 0, 700, 64 * 1024)
        if batch.gap:
            gaps.append(batch.gap)
            after = batch.gap.to_seq
        if not batch.lines:
            if batch.gap is None:
                return gaps, lines
            continue
        lines.extend(batch.lines)
        after = batch.lines[-1].seq


async def test_lines_read_back_exactly_and_survive_a_reopen(tmp_path):
    written = make_lines(1, 5000)
    written[10].truncated = 1234
    written[-1].unterminated = True
    written[20].timestamp = "2026-11-22T19:41:43.5Z"  # Docker drops trailing zeros
    written[21].timestamp = "not a docker timestamp"  # kept as is, whatever it is
    written[22].content = "ünïcödé \x1b[31mred\x1b[0m \ufffd"
    async with opened(tmp_path) as (store, committed):
        store.record(info("task-1"))
        for i in range(0, 5000, 500):
            store.append("task-1", written[i : i + 500])
        await committed.reach("task-1", 5000)
        gaps, lines = await read_all(store, "task-1")
        assert gaps == []
        assert lines == written
        middle = await store.read("task-1", 2500, 2600, 1000, 1 << 20)
        assert [ln.seq for ln in middle.lines] == list(range(2501, 2600))
        capped = await store.read("task-1", 0, 0, 1000, 1000)  # at least one line, then bytes
        assert 1 <= len(capped.lines) < 20
    async with opened(tmp_path) as (store, _):
        assert store.tasks["task-1"].info == info("task-1")
        assert await store.last_seq("task-1") == 5000
        assert (await read_all(store, "task-1"))[1] == written
        assert [ln.seq for ln in await store.last_lines("task-1", 3)] == [4998, 4999, 5000]


async def test_the_writer_thread_is_named_so_its_cpu_can_be_told_apart(tmp_path):
    """`top -H` and /proc show the store's thread as `logstore` (benchmark 5s reads its CPU)."""

    def names() -> list[str]:
        return [p.read_text().strip() for p in Path("/proc/self/task").glob("*/comm")]

    async with opened(tmp_path) as (store, committed):
        store.append("t-named", make_lines(1, 10))
        await committed.reach("t-named", 10)  # the writer has run
        assert names().count("logstore") == 1
    assert "logstore" not in names()


async def test_a_run_carries_its_encoding_for_the_grpc_stream_until_it_is_written(tmp_path):
    written = make_lines(1, 1200)
    written[700].truncated = 5  # a run with a flag is not sent as stored: it carries nothing
    async with opened(tmp_path) as (store, committed):
        store.record(info("task-1"))
        store.append("task-1", written[:400])
        store.append("task-1", written[400:1200])  # cut where the chunks at 501, 1001 start
        runs = {ln.seq: ln.packed[0] for ln in written if ln.packed is not None}
        assert runs == {1: 400, 401: 100, 1001: 200}  # not 501-1000: it has a flag
        await committed.reach("task-1", 1200)
        assert all(ln.packed is None for ln in written)  # let go once written
        assert (await read_all(store, "task-1"))[1] == written


async def take_lines(sub: Subscription, n: int) -> list[tuple[int, str]]:
    """``(seq, content)`` of the first ``n`` lines ``sub`` delivers (or fewer, if it ends)."""
    seen: list[tuple[int, str]] = []
    async for batch in sub:
        seen += [(x.seq, x.content) for x in batch.lines]
        if len(seen) >= n:
            break
    return seen


class HeldStore(LogStore):
    """A store whose writer thread waits before each write until ``go`` is set, then writes
    everything queued by then in one transaction per task (the chunks do not depend on when
    the thread happened to gather)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.go = threading.Event()

    def _write(self, work: list) -> bool:
        assert self.go.wait(30)
        return super()._write(work + self._inbox.take(0))


async def test_lines_not_yet_written_read_from_memory_as_they_will_from_the_file(tmp_path):
    written = make_lines(1, 1200)
    committed = Committed()
    store = HeldStore(tmp_path, on_commit=committed)
    store.open()
    try:
        store.record(info("task-1"))
        store.append("task-1", written[:700])
        assert store.tasks["task-1"].last_seq == 0  # nothing written yet
        assert (await read_all(store, "task-1")) == ([], written[:700])
        middle = await store.read("task-1", 450, 520, 1000, 1 << 20)  # across a chunk's start
        assert [ln.seq for ln in middle.lines] == list(range(451, 520))
        store.go.set()
        await committed.reach("task-1", 700)
        store.go.clear()
        store.append("task-1", written[700:])  # 1-700 written, 701-1200 queued
        assert (await read_all(store, "task-1")) == ([], written)
        assert (await read_all(store, "task-1", after=650))[1] == written[650:]
    finally:
        store.go.set()
        await store.close()
    async with opened(tmp_path) as (reopened, _):
        assert (await read_all(reopened, "task-1"))[1] == written


async def test_a_hub_over_the_store_forgets_lines_before_they_are_written_and_loses_none(
    tmp_path,
):
    """The worker's hub keeps only its ring (10 lines here) even while the writer is held:
    a subscriber from the start and a lossless one that never read get every line."""
    store = HeldStore(tmp_path)
    store.open()
    try:
        store.record(info("task-1"))
        hub = LogHub(
            HubLimits(history=10, max_lag_lines=50), history=StoredHistory(store, "task-1")
        )
        lossless = Subscription(hub, lossless=True, tail=0)
        for first in range(1, 3001, 100):
            batch = [
                LogLine(0, ln.timestamp, ln.stream, ln.content) for ln in make_lines(first, 100)
            ]
            hub.publish(batch)  # numbers them
            store.append("task-1", batch)  # as the broadcaster's sink does
        assert len(hub.store) <= 50 + 64  # not every unwritten line
        assert store.tasks["task-1"].last_seq == 0
        hub.finish(TaskEnd(TaskStatus.SUCCESS, 0))
        expected = [ln.content for ln in make_lines(1, 3000)]
        for sub in (Subscription(hub, after=0), lossless):
            got: list[str] = []
            while (b := await sub.next_batch()) is not None:
                assert b.gap is None and b.dropped is None
                got += [ln.content for ln in b.lines]
            assert got == expected
    finally:
        store.go.set()
        await store.close()


class CommitDuringRead(HeldStore):
    """A held store whose writer commits everything queued just as a read starts taking
    chunk data from the file (SQLite's trace callback, in the reader's thread)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)
        self.target = 0  # the lines written before the read goes on
        self.hooked = False

    def _reader(self, f, stored):
        conn = super()._reader(f, stored)
        conn.set_trace_callback(self._statement)
        return conn

    def _statement(self, sql: str) -> None:
        if not self.hooked and "count, data" in sql:
            self.hooked = True
            self.go.set()
            deadline = time.monotonic() + 30
            while self.lines_written < self.target and time.monotonic() < deadline:
                time.sleep(0.001)


async def test_a_read_loses_nothing_when_the_first_commit_lands_while_it_runs(tmp_path):
    """The task's first commit (a burst: up to 20,000 lines at once) lands while a lossless
    reader reads from the middle of what is queued: it gets every line, the file's and the
    queue's in seq order (once a 'not stored' gap: the file's chunk after the start came
    before the queued chunk that held it)."""
    written = make_lines(1, 1600)
    store = CommitDuringRead(tmp_path)
    store.open()
    try:
        store.record(info("task-1"))
        creating = _connect(store._path("task-1"))  # the writer's file: tables, no lines yet
        creating.executescript(_TASK_SCHEMA)
        creating.close()
        store.append("task-1", written)  # queued: the writer is held
        store.target = 1600
        batch = await store.read("task-1", 100, 0, 2000, 1 << 20)
        assert store.hooked and store.lines_written == 1600  # it did land during the read
        assert batch.gap is None
        assert [ln.seq for ln in batch.lines] == list(range(101, 1601))
        assert batch.lines == written[100:]
    finally:
        store.go.set()
        await store.close()


async def test_a_file_the_writer_has_just_created_reads_as_nothing_written_yet(tmp_path):
    """Between creating a task's file and creating its tables, the writer has written nothing:
    a read or a search then has the queued lines, not an error (nor a gap)."""
    written = make_lines(1, 300)
    store = HeldStore(tmp_path)
    store.open()
    try:
        store.record(info("task-1"))
        store.append("task-1", written)
        store._path("task-1").touch()  # an empty SQLite file: no tables yet
        assert (await read_all(store, "task-1")) == ([], written)
        chunks = await asyncio.to_thread(list, store.chunks("task-1", 1000))
        assert [c for _, lines in chunks for c in lines] == [ln.content for ln in written]
        store.go.set()
        await store.flush()
        assert (await read_all(store, "task-1")) == ([], written)
    finally:
        store.go.set()
        await store.close()


async def test_chunks_for_a_search_include_the_queued_lines_once(tmp_path):
    written = make_lines(1, 1500)
    store = HeldStore(tmp_path)
    store.open()
    try:
        store.record(info("task-1"))
        store.go.set()
        store.append("task-1", written[:600])
        await store.flush()  # 1-600 written
        store.go.clear()
        store.append("task-1", written[600:1000])  # 601-1000 queued
        contents = [ln.content for ln in written]
        forward = await asyncio.to_thread(list, store.chunks("task-1", 900))
        assert [c for _, lines in forward for c in lines] == contents[:899]
        assert [first for first, _ in forward] == [1, 501, 601]
        newest = await asyncio.to_thread(list, store.chunks("task-1", 2000, reverse=True))
        assert [first for first, _ in newest] == [601, 501, 1]
        assert [c for _, lines in reversed(newest) for c in lines] == contents[:1000]
        # taken while 601-1000 were queued, read once they are written too: each line once
        taken = store.chunks("task-1", 2000)
        store.go.set()
        await store.flush()
        assert [c for _, lines in await asyncio.to_thread(list, taken) for c in lines] == (
            contents[:1000]
        )
    finally:
        store.go.set()
        await store.close()


async def test_a_search_finds_lines_the_store_has_not_written_yet(tmp_path):
    """The hub keeps 10 lines, the writer is held: the match is only in the store's queue."""
    records = [(1, f"line {i}{' needle' if i == 450 else ''}\n".encode()) for i in range(900)]
    store = HeldStore(tmp_path)
    store.open()
    manager = LogStreamManager(limits=HubLimits(history=10), store=store)
    try:
        store.record(info("task-1"))
        manager.start_task("task-1", ScriptedLogSource(records))
        await manager.reading_done("task-1")
        assert (
            store.tasks["task-1"].last_seq == 0 and len((await manager.hub("task-1")).store) < 100
        )
        for reverse in (False, True):
            hits = [
                (hit.seq, hit.content)
                async for progress in search(
                    manager, store, "task-1", Query("needle", reverse=reverse)
                )
                for hit in progress.hits
            ]
            assert hits == [(451, "line 450 needle")]
    finally:
        store.go.set()
        await manager.close()
        await store.close()


async def test_a_task_file_in_the_first_chunk_format_still_reads(tmp_path):
    import sqlite3
    import zlib

    from shared.protos import logcast_pb2 as pb

    written = make_lines(1, 800)
    async with opened(tmp_path) as (store, committed):
        store.record(info("task-1"))
        store.append("task-1", written[:1])
        await committed.reach("task-1", 1)
    old = [written[:500], written[500:]]  # as the first format wrote them
    with contextlib.closing(sqlite3.connect(tmp_path / "tasks" / "task-1.db")) as conn:
        conn.execute("DELETE FROM chunks")
        for part in old:
            v1 = pb.StoredLines(
                v1_timestamps=[ln.timestamp for ln in part],
                v1_streams=[pb.STDERR if ln.stream is STDERR else pb.STDOUT for ln in part],
                v1_contents=[ln.content for ln in part],
            )
            conn.execute(
                "INSERT INTO chunks VALUES (?, ?, ?)",
                (part[0].seq, len(part), zlib.compress(v1.SerializeToString(), 1)),
            )
        conn.commit()
    async with opened(tmp_path) as (store, committed):
        assert (await read_all(store, "task-1"))[1] == written
        more = make_lines(801, 100)
        store.append("task-1", more)  # a restarted worker goes on in the new format
        await committed.reach("task-1", 900)
        assert (await read_all(store, "task-1"))[1] == written + more
        chunks = await asyncio.to_thread(list, store.chunks("task-1", 1000))
        assert [c for _, contents in chunks for c in contents] == [
            ln.content for ln in written + more
        ]


async def test_chunks_for_a_search_come_whole_or_blank_when_they_cannot_match(tmp_path):
    written = make_lines(1, 2000)
    written[1234].content = "the needle-7f3a is here"
    async with opened(tmp_path) as (store, committed):
        store.record(info("task-1"))
        for i in range(0, 2000, 500):
            store.append("task-1", written[i : i + 500])
        await committed.reach("task-1", 2000)
        chunks = await asyncio.to_thread(list, store.chunks("task-1", 1800))
        assert [first for first, _ in chunks] == [1, 501, 1001, 1501]
        assert [c for _, contents in chunks for c in contents] == [
            ln.content for ln in written[:1799]
        ]  # before seq 1800: the last chunk is cut
        newest = await asyncio.to_thread(list, store.chunks("task-1", 3000, reverse=True))
        assert [first for first, _ in newest] == [1501, 1001, 501, 1]
        # a chunk without the bytes of a substring is not decoded: blank lines, same count
        picky = await asyncio.to_thread(
            list, store.chunks("task-1", 3000, must_hold=b"needle-7f3a")
        )
        assert [len(contents) for _, contents in picky] == [500, 500, 500, 500]
        assert [set(contents) == {""} for _, contents in picky] == [True, True, False, True]
        assert picky[2][1][1235 - 1001] == "the needle-7f3a is here"  # written[1234]: seq 1235


def open_files_under(directory: Path) -> int:
    """This process's open file descriptors on files in ``directory``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith(f"{directory}/"):
                count += 1
    return count


async def test_a_store_keeps_few_files_open_however_many_task_logs_it_served(tmp_path):
    """Reading many finished tasks keeps at most ``max_open_readers`` connections (three
    files each: the task's file, its WAL, its shared memory); a closed one reopens on the
    next read and reads the same lines."""
    tasks = [f"task-{n}" for n in range(1, 7)]
    async with opened(tmp_path) as (store, _):
        store.max_open_readers = 2
        for n, task_id in enumerate(tasks):
            store.record(info(task_id))
            store.append(task_id, make_lines(1, 600 + n))
            store.close_task(task_id)
        await store.flush()
        assert open_files_under(store.task_dir) == 0  # the writers closed with their tasks
        for _ in range(2):
            for n, task_id in enumerate(tasks):
                gaps, lines = await read_all(store, task_id)
                assert gaps == [] and lines == make_lines(1, 600 + n)
                assert open_files_under(store.task_dir) <= 2 * 3
        assert open_files_under(store.task_dir) > 0  # (the count sees them)


async def test_the_catalog_keeps_every_change_with_a_version(tmp_path):
    async with opened(tmp_path) as (store, _):
        store.record(info("task-1"))
        store.record(info("task-2"))
        v = store.version
        store.record(info("task-1", TaskStatus.SUCCESS, exit_code=0))
        changed = store.changed_since(v, 100)
        assert [t.info.task_id for t in changed] == ["task-1"]
        await store.flush()
    async with opened(tmp_path) as (store, _):
        assert store.version == v + 1
        assert store.tasks["task-1"].info.status is TaskStatus.SUCCESS
        assert [t.info.task_id for t in store.changed_since(0, 100)] == ["task-2", "task-1"]


async def test_a_task_over_its_cap_loses_its_oldest_lines_as_an_expired_gap(tmp_path):
    async with opened(tmp_path, task_max_bytes=200_000) as (store, committed):
        store.record(info("task-1"))
        for first in range(1, 20_001, 1000):
            store.append("task-1", make_lines(first, 1000, size=100))
        await committed.reach("task-1", 20_000)
        assert store.tasks["task-1"].bytes <= 200_000 * 1.2
        gaps, lines = await read_all(store, "task-1")
        assert len(gaps) == 1 and gaps[0].from_seq == 1 and gaps[0].reason == "expired"
        assert [ln.seq for ln in lines] == list(range(gaps[0].to_seq + 1, 20_001))


async def test_retention_removes_the_oldest_finished_tasks_first_and_they_answer_expired(
    tmp_path,
):
    from worker.manager import LogStreamManager

    async with opened(tmp_path) as (store, committed):
        now = time.time()
        for n, task_id in enumerate(["task-old", "task-mid", "task-new"]):
            store.record(info(task_id, TaskStatus.SUCCESS, exit_code=0, finished_at=now - 30 + n))
            store.append(task_id, make_lines(1, 3000, size=100))
            await committed.reach(task_id, 3000)
            store.close_task(task_id)
        store.record(info("task-running"))
        store.append("task-running", make_lines(1, 3000, size=100))
        await committed.reach("task-running", 3000)
        await store.flush()
        one = store.tasks["task-old"].bytes
        sweep = RetentionSweep(
            store,
            LogStreamManager(store=store),
            max_age=3600,
            max_bytes=int(one * 2.5),
            interval=60,
        )
        assert await sweep.sweep() == ["task-old", "task-mid"]
        for gone in ("task-old", "task-mid"):
            with pytest.raises(LogExpired, match="expired"):
                await store.read(gone, 0, 0, 10, 1000)
            assert not (tmp_path / "tasks" / f"{gone}.db").exists()
        assert len((await read_all(store, "task-new"))[1]) == 3000
        assert len((await read_all(store, "task-running"))[1]) == 3000  # running: never removed
        sweep.max_age = 0
        assert await sweep.sweep() == ["task-new"]
    async with opened(tmp_path) as (store, _):  # the tombstones outlive a restart
        with pytest.raises(LogExpired):
            store.check("task-old")
        with pytest.raises(TaskNotFound):
            store.check("task-never")


@pytest_asyncio.fixture
async def small_disk(tmp_path) -> AsyncIterator[Path]:
    """A 1 MiB tmpfs: a disk that fills up."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    mount_cmd = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]
    await asyncio.to_thread(subprocess.run, mount_cmd, check=True)
    try:
        yield mount
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", "-l", str(mount)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_a_full_disk_loses_only_what_could_not_be_written(small_disk):
    errors: list[tuple[str, str]] = []
    async with opened(small_disk) as (store, committed):
        store.on_error = lambda task, message: errors.append((task, message))
        store.record(info("task-1"))
        store.append("task-1", make_lines(1, 2000, size=100))
        await store.flush()  # committed while there was room
        assert not errors
        for first in range(2001, 40_001, 1000):
            store.append("task-1", make_lines(first, 1000, size=100))
            await asyncio.sleep(0)
        await store.flush()
        assert errors and errors[0][0] == "task-1"
        assert "not stored" in errors[0][1] and "full" in errors[0][1]
        assert "full" in store.tasks["task-1"].error
        _, lines = await read_all(store, "task-1")
        # what was committed before the disk filled reads back exactly, in order; a later
        # transaction small enough for the space SQLite freed may be stored after a hole (the
        # hole reads as a gap), and the task's error stays: its history has that hole
        written = make_lines(1, 40_000, size=100)
        assert lines[:2000] == written[:2000]
        assert lines == [written[ln.seq - 1] for ln in lines]
        assert len(lines) < 40_000 and "full" in store.tasks["task-1"].error
        assert committed.seqs["task-1"] == 40_000  # the hub may move on: nothing waits forever


@pytest.mark.parametrize("pack_sent", [True, False])
async def test_a_burst_every_subscriber_took_stays_in_the_ring_as_the_stores_encoding(
    tmp_path, pack_sent
):
    """A followed task's ring keeps what its subscriber took as the bytes the store encoded,
    not as line objects (unless told not to: the embedded worker), then, once written, as
    the store's compressed chunks; a new subscriber gets the same lines either way."""
    records = [
        (2 if i % 5 == 0 else 1, f"line {i} {'y' * (i % 50)}\n".encode()) for i in range(1200)
    ]
    store = HeldStore(tmp_path)  # (writes once the subscriber has taken every line)
    store.open()
    manager = LogStreamManager(store=store, pack_sent=pack_sent)
    try:
        store.record(info("task-1"))
        broadcaster = manager.start_task("task-1", ScriptedLogSource(records), read=False)

        async with broadcaster.subscribe() as viewer:
            watching = asyncio.create_task(take_lines(viewer, len(records)))
            manager.begin_reading("task-1")
            seen = await asyncio.wait_for(watching, 30)
            await manager.reading_done("task-1")
        ring = broadcaster.hub.store
        kept = ring.next_seq - ring.first_seq
        assert kept >= 1000
        if pack_sent:  # every kept line packed: the ring holds no line object
            assert ring.packed_end == ring.next_seq
            assert not any(compressed for *_, compressed in ring._packs)
        else:
            assert ring.packed_end == ring.first_seq
        store.go.set()
        await store.flush()
        if pack_sent:  # written in chunks 1-500, 501-1000, 1001-1200: the ring keeps those
            assert [(first, count, compressed) for first, count, _, compressed in ring._packs] == [
                (1, 500, True),
                (501, 500, True),
                (1001, 200, True),
            ]
        else:  # the lines stay objects: their encodings went with the write
            assert ring.packed_end == ring.first_seq
            assert not any(x.packed for x in ring.get(ring.first_seq, 10**6, 10**9))
        async with broadcaster.subscribe(tail=1000, follow=False) as late:
            got = [(x.seq, x.content) async for batch in late for x in batch.lines]
        assert got == seen[-1000:]
        assert seen == [(i + 1, text.decode().rstrip("\n")) for i, (_, text) in enumerate(records)]
    finally:
        store.go.set()
        await manager.close()
        await store.close()


async def test_chunks_written_before_a_second_subscriber_took_them_are_kept_once_it_has(
    tmp_path,
):
    """Two subscribers (two masters): the store writes a burst's chunks while one of them
    has taken nothing yet; once it takes the lines, the ring keeps the written chunks (not
    runs it would compress itself), and a late reader gets the same lines."""
    records = [(1, f"line {i} {'z' * (i % 40)}\n".encode()) for i in range(1200)]
    store = HeldStore(tmp_path)  # (writes once the first subscriber has taken every line)
    store.open()
    manager = LogStreamManager(store=store)
    try:
        store.record(info("task-1"))
        broadcaster = manager.start_task("task-1", ScriptedLogSource(records), read=False)

        async with broadcaster.subscribe() as first, broadcaster.subscribe() as second:
            manager.begin_reading("task-1")
            seen = await asyncio.wait_for(take_lines(first, len(records)), 30)
            await manager.reading_done("task-1")
            store.go.set()
            await store.flush()  # every chunk written; `second` took nothing yet
            ring = broadcaster.hub.store
            assert ring.packed_end == ring.first_seq and not ring._packs
            # each run's encoding stays on its first line after the write: `second`'s
            # stream sends those bytes (the ring lets go of them when it packs the lines)
            unsent = ring.get(1, 10**6, 10**9)
            assert sum(x.packed[0] for x in unsent if x.packed is not None) == len(records)
            assert await asyncio.wait_for(take_lines(second, len(records)), 30) == seen
        assert [(first_, count, compressed) for first_, count, _, compressed in ring._packs] == [
            (1, 500, True),
            (501, 500, True),
            (1001, 200, True),
        ]
        async with broadcaster.subscribe(tail=1000, follow=False) as late:
            got = [(x.seq, x.content) async for batch in late for x in batch.lines]
        assert got == seen[-1000:]
    finally:
        store.go.set()
        await manager.close()
        await store.close()


async def test_a_writer_keeps_no_page_cache_between_commits(tmp_path):
    """Each running task has a writer connection; after its commits it holds none of its
    page cache (SQLite's own count of its memory, on real files), and writing on works."""
    import _sqlite3

    memory_used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used  # (its libsqlite3's)
    memory_used.restype = ctypes.c_int64
    store = LogStore(tmp_path)
    store.writer_idle = 3600  # (no idle close during the test)
    store.open()
    try:
        before = memory_used()
        tasks = [f"task-{i}" for i in range(20)]
        for round_ in range(3):
            for task in tasks:
                store.record(info(task))
                store.append(task, make_lines(1 + round_ * 1000, 1000))
            await store.flush()
        assert open_files_under(store.task_dir) >= len(tasks)  # every writer still open
        per_writer = (memory_used() - before) / len(tasks)
        # with its cache (a 256 KiB cap, and ~87 KB at its first read), well over 100 KiB
        assert per_writer < 64 * 1024, per_writer
        batch = await store.read("task-7", 0, 0, 5000, 1 << 30)
        assert [x.content for x in batch.lines] == [x.content for x in make_lines(1, 3000)]
    finally:
        await store.close()


async def test_a_quiet_tasks_writer_is_closed_and_its_next_lines_are_still_stored(tmp_path):
    """A running task that writes nothing for a while holds no open file (its writer
    connection is closed), and what it writes next is stored after what it wrote before."""
    store = LogStore(tmp_path)
    store.writer_idle = 0.3
    store.open()
    try:
        store.record(info("task-1"))
        store.append("task-1", make_lines(1, 100))
        await store.flush()
        assert open_files_under(store.task_dir) > 0  # its writer: the file, its WAL, ...
        await eventually(
            lambda: open_files_under(store.task_dir) == 0, "the quiet task's files closed"
        )
        store.append("task-1", make_lines(101, 100))
        await store.flush()
        batch = await store.read("task-1", 0, 0, 1000, 1 << 30)
        assert [(x.seq, x.content) for x in batch.lines] == [
            (x.seq, x.content) for x in make_lines(1, 200)
        ]
    finally:
        await store.close()
