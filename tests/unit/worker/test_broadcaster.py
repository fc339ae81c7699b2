"""TaskLogBroadcaster on a scripted log source (tests/fakes/logsource.py): reading, breaks,
resuming without duplicates, a vanished container, and the catch-up read. No Docker."""

from __future__ import annotations

import asyncio

import pytest

from shared.hub import HubLimits
from shared.model import ConnectionState, LogLine, TaskEnd, TaskStatus
from tests.comparator import Received
from tests.fakes.logsource import FollowRead, ScriptedLogSource, ts
from worker.broadcaster import TaskLogBroadcaster
from worker.logsource import LogSource
from worker.resume import MARGIN_NS, docker_since, timestamp_ns

pytestmark = pytest.mark.asyncio


def numbered(n: int) -> list[tuple[int, bytes]]:
    return [(1 + (i % 2), f"seq={i}\n".encode()) for i in range(1, n + 1)]


async def play(source: LogSource) -> tuple[TaskLogBroadcaster, Received]:
    """Run the broadcaster over ``source`` with one subscriber from the start; end the task."""
    broadcaster = TaskLogBroadcaster("task-123456", source, retry_delays=(0.0,))
    got = Received()

    async def subscriber() -> None:
        async with broadcaster.subscribe(after=0) as sub:
            async for batch in sub:
                got.add(batch)

    reader = asyncio.create_task(subscriber())
    await asyncio.wait_for(broadcaster.run(), 5)
    broadcaster.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    await asyncio.wait_for(reader, 5)
    return broadcaster, got


async def test_a_whole_log_is_read_once_and_published_in_order():
    source = ScriptedLogSource(numbered(50))
    broadcaster, got = await play(source)
    assert got.numbers() == list(range(1, 51))
    assert got.check(published=50) == []
    assert [c["follow"] for c in source.calls] == [True, False]  # one read + the catch-up
    assert broadcaster.reads == 1


async def test_a_read_error_is_reported_and_reading_resumes_without_duplicates():
    source = ScriptedLogSource(numbered(10), reads=[FollowRead(4, "break"), FollowRead()])
    broadcaster, got = await play(source)
    assert got.numbers() == list(range(1, 11))  # nothing lost, nothing twice
    assert got.check(published=10) == []
    follows = [c for c in source.calls if c["follow"]]
    assert follows[1]["since"] == docker_since(timestamp_ns(ts(4)) - MARGIN_NS)
    states = got.states
    assert states == [ConnectionState.DOCKER_UNREACHABLE, ConnectionState.STREAMING]
    assert broadcaster.reads == 2


async def test_docker_refusing_the_first_request_is_reported_and_retried():
    source = ScriptedLogSource(numbered(3), reads=[FollowRead(then="refuse"), FollowRead()])
    _, got = await play(source)
    assert got.numbers() == [1, 2, 3]
    states = got.states
    assert states == [ConnectionState.DOCKER_UNREACHABLE, ConnectionState.STREAMING]


async def test_a_removed_container_ends_the_reading_with_what_was_read():
    source = ScriptedLogSource(numbered(10), reads=[FollowRead(3, "gone"), FollowRead()])
    broadcaster, got = await play(source)
    assert got.numbers() == [1, 2, 3]
    assert broadcaster.reads == 1  # no retry against a container that no longer exists
    assert [c["follow"] for c in source.calls] == [True]


async def test_the_catch_up_read_finds_what_the_follow_stream_missed():
    """Docker's follow stream can end before the container's last output (seen on a busy
    engine); the tail read after the exit publishes exactly the missing lines."""
    source = ScriptedLogSource(numbered(10), reads=[FollowRead(8, "stop")])
    _, got = await play(source)
    assert got.numbers() == list(range(1, 11))
    assert got.check(published=10) == []
    tail_read = source.calls[-1]
    assert tail_read == {"since": None, "follow": False, "tail": 8}  # the lines it has


async def test_a_tty_log_is_read_the_same_way():
    source = ScriptedLogSource(numbered(5), reads=[FollowRead(2, "break"), FollowRead()], tty=True)
    _, got = await play(source)
    assert got.numbers() == [1, 2, 3, 4, 5]
    assert got.check(published=5) == []


class RotatingSource:
    """Docker's follow across a json-file rotation: the first follow sends records 1..10,
    then goes back and sends 6..15 again (the re-read seen on Docker 20.10), in one chunk or
    split; reads without follow, and later follows, serve exactly from ``since``."""

    tty = False

    def __init__(self, split: bool) -> None:
        self.split = split
        self.calls: list[tuple[str | None, bool]] = []

    async def chunks(self, since, *, follow=True, tail=None):
        from tests.dockerfmt import multiplexed
        from tests.fakes.logsource import ts

        self.calls.append((since, follow))
        rec = [(1, ts(i), f"seq={i}\n".encode()) for i in range(1, 16)]
        yield b""
        first_follow = follow and sum(1 for _, f in self.calls if f) == 1
        if first_follow and self.split:
            yield multiplexed(rec[:10])
            yield multiplexed(rec[5:])
        elif first_follow:
            yield multiplexed(rec[:10] + rec[5:])
        else:
            yield multiplexed(rec[index_from(rec, since) :])

    async def still_running(self) -> bool:
        return sum(1 for _, f in self.calls if f) < 2


@pytest.mark.parametrize("split", [True, False])
async def test_lines_docker_sends_again_after_a_log_rotation_are_published_once(split):
    source = RotatingSource(split)
    broadcaster = TaskLogBroadcaster("task-123456", source, retry_delays=(0.0,))
    await asyncio.wait_for(broadcaster.run(), 5)
    lines = broadcaster.hub.store.recent(100)
    assert [ln.content for ln in lines] == [f"seq={i}" for i in range(1, 16)]
    assert [ln.seq for ln in lines] == list(range(1, 16))
    assert broadcaster.rereads == 1
    follows = [since for since, follow in source.calls if follow]
    assert len(follows) == 2 and follows[1] is not None  # followed again after the re-read


class InterleavedSource:
    """stdout and stderr reach Docker's log slightly out of timestamp order."""

    tty = False

    async def chunks(self, since, *, follow=True, tail=None):
        from tests.dockerfmt import multiplexed
        from tests.fakes.logsource import ts

        if follow:
            records = [
                (1, ts(1), b"out 1\n"),
                (1, ts(5), b"out 2\n"),
                (2, ts(3), b"err 1\n"),
                (1, ts(6), b"out 3\n"),
                (2, ts(4), b"err 2\n"),
                (2, ts(7), b"err 3\n"),
            ]
            yield multiplexed(records)

    async def still_running(self) -> bool:
        return False


async def test_stdout_and_stderr_out_of_timestamp_order_are_new_lines_not_a_rotation():
    broadcaster = TaskLogBroadcaster("task-123456", InterleavedSource(), retry_delays=(0.0,))
    await asyncio.wait_for(broadcaster.run(), 5)
    contents = [ln.content for ln in broadcaster.hub.store.recent(100)]
    assert contents == ["out 1", "out 2", "err 1", "out 3", "err 2", "err 3"]
    assert broadcaster.rereads == 0


def ts_ms(i: int) -> str:
    """A Docker timestamp ``i`` ms after a minute began (any ``i`` below 60,000)."""
    secs, ms = divmod(i, 1000)
    return f"2026-11-23T10:00:{secs:02d}.{ms * 1_000_000:09d}Z"


def index_from(records: list[tuple[int, str, bytes]], since: str | None) -> int:
    """The index of the first record Docker sends for ``since`` (inclusive)."""
    if since is None:
        return 0
    secs, _, nanos = since.partition(".")
    since_ns = int(secs) * 1_000_000_000 + int(nanos)
    return next(i for i, r in enumerate(records) if timestamp_ns(r[1]) >= since_ns)


class DeepRotatingSource:
    """Docker 20.10 at a rotation, as measured with small files: the follow goes back
    further than the lines the broadcaster remembers (it re-sends a whole rotated file), and
    so does the next follow from a ``since``. Reads without follow are exact."""

    tty = False

    def __init__(self) -> None:
        self.follows = 0
        self.rec = [(1 + i % 2, ts_ms(i), f"seq={i}\n".encode()) for i in range(1, 4001)]

    async def chunks(self, since, *, follow=True, tail=None):
        from tests.dockerfmt import multiplexed

        rec = self.rec
        yield b""
        if not follow:
            yield multiplexed(rec[index_from(rec, since) : 3500])
            return
        self.follows += 1
        if self.follows == 1:
            yield multiplexed(rec[:3000])
            yield multiplexed(rec[499:3500])  # back 2,500 lines
        else:
            yield multiplexed(rec[1199:])  # from long before `since`, to the end

    async def still_running(self) -> bool:
        return self.follows < 2


async def test_a_rotation_re_sending_more_than_the_remembered_lines_repeats_nothing():
    broadcaster, got = await play(DeepRotatingSource())
    assert got.numbers() == list(range(1, 4001))  # each line once, in order
    assert got.check(published=4000) == []
    assert broadcaster.rereads == 1


class EarlyEndSource:
    """Docker rotating its file under a burst: the follow stream ends 2,000 lines before
    the (stopped) container's last line; a tail read gives the last ``tail`` lines, a read
    from a ``since`` everything after it."""

    tty = False

    def __init__(self) -> None:
        self.rec = [(1 + i % 2, ts_ms(i), f"seq={i}\n".encode()) for i in range(1, 5001)]
        self.reads: list[tuple[str | None, bool, int | None]] = []

    async def chunks(self, since, *, follow=True, tail=None):
        from tests.dockerfmt import multiplexed

        self.reads.append((since, follow, tail))
        yield b""
        if follow:
            yield multiplexed(self.rec[:3000])
        elif tail is not None:
            yield multiplexed(self.rec[-tail:])
        else:
            yield multiplexed(self.rec[index_from(self.rec, since) :])

    async def still_running(self) -> bool:
        return False


async def test_a_follow_stream_ending_long_before_the_log_does_is_read_to_the_end():
    source = EarlyEndSource()
    _, got = await play(source)
    assert got.numbers() == list(range(1, 5001))
    assert got.check(published=5000) == []
    # the tail did not reach the last published line: one exact read from there
    assert [(follow, tail) for _, follow, tail in source.reads] == [
        (True, None),
        (False, 1000),
        (False, None),
    ]


async def test_a_live_line_reaches_its_subscriber_before_the_store_and_the_store_gets_every_line():
    """The store encodes a live batch after its subscribers took it (their latency does not
    wait for it), and each line is still stored once, in order (a ring of 20 lines: more
    than that are never held back)."""
    stored: list[int] = []
    order: list[str] = []
    records = numbered(30) + [(1, f"big={i}\n".encode()) for i in range(50)]
    source = ScriptedLogSource(records)

    def store(lines: list[LogLine]) -> None:
        stored.extend(ln.seq for ln in lines)
        order.append("store")

    broadcaster = TaskLogBroadcaster(
        "task-123456",
        source,
        retry_delays=(0.0,),
        limits=HubLimits(history=20),
        sink=store,
    )
    got = Received()

    async def subscriber() -> None:
        async with broadcaster.subscribe(after=0, lossless=True) as sub:
            async for batch in sub:
                got.add(batch)
                order.extend("read" for _ in batch.lines)

    reader = asyncio.create_task(subscriber())
    await asyncio.wait_for(broadcaster.run(), 5)
    broadcaster.finish(TaskEnd(TaskStatus.SUCCESS, 0))
    await asyncio.wait_for(reader, 5)
    assert stored == list(range(1, 81))  # every line once, in order
    assert got.numbers()[:30] == list(range(1, 31))
    # the one-line live batches: read first, then stored
    assert order[:6] == ["read", "store"] * 3


async def test_a_reader_stopped_while_it_yields_still_stores_the_lines_it_published():
    stored: list[int] = []
    source = ScriptedLogSource(numbered(5), reads=[FollowRead(), FollowRead()])
    broadcaster = TaskLogBroadcaster(
        "task-123456",
        source,
        retry_delays=(0.0,),
        sink=lambda lines: stored.extend(ln.seq for ln in lines),
    )
    reader = asyncio.create_task(broadcaster.run())
    for _ in range(12):  # some lines published, some not yet
        await asyncio.sleep(0)
    assert 1 < broadcaster.hub.next_seq <= 6
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert stored == list(range(1, broadcaster.hub.next_seq))  # none published unstored


class RotatingDuringReReadSource:
    """Docker rotating its file again while the broadcaster re-reads after a rotation: the
    read without follow goes back too, to lines already published in it, the newest of them
    included (as old as the newest published line: a tie only a comparison can tell)."""

    tty = False

    def __init__(self, one_chunk: bool) -> None:
        self.one_chunk = one_chunk
        self.follows = 0
        self.rec = [(1, ts_ms(i), f"seq={i}\n".encode()) for i in range(1, 4001)]

    async def chunks(self, since, *, follow=True, tail=None):
        from tests.dockerfmt import multiplexed

        rec = self.rec
        yield b""
        if not follow:
            read = rec[index_from(rec, since) : 3300]
            again = rec[3250:3300]  # back again, to its own newest line
            if self.one_chunk:
                yield multiplexed(read + again)
            else:
                yield multiplexed(read)
                yield multiplexed(again)
            return
        self.follows += 1
        if self.follows == 1:
            yield multiplexed(rec[:3000])
            yield multiplexed(rec[2500:3200])  # back 500 lines: a rotation
        else:
            yield multiplexed(rec[index_from(rec, since) :])

    async def still_running(self) -> bool:
        return self.follows < 2


@pytest.mark.parametrize("one_chunk", [True, False])
async def test_a_rotation_during_the_re_read_repeats_nothing(one_chunk):
    broadcaster, got = await play(RotatingDuringReReadSource(one_chunk))
    assert got.numbers() == list(range(1, 4001))  # each line once, in order
    assert got.check(published=4000) == []
    assert broadcaster.rereads == 1
