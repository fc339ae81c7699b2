"""TaskLogBroadcaster: read one container's log once, number its lines, fan them out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from shared.errors import ContainerGone, DockerUnavailable
from shared.flowstats import FlowStats
from shared.hub import History, HubLimits, LogHub
from shared.model import ConnectionState, LogLine, Stream, TaskEnd
from shared.subscription import Subscription
from worker.frames import DEFAULT_MAX_LINE_BYTES, DockerLogDecoder
from worker.logsource import LogSource
from worker.resume import RECENT, ResumePoint, ns_or_zero

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
FEW_LINES = 16  # a live batch this small is stored after its readers have passed it on


class _Rewound(Exception):
    """Docker's follow stream went back in time: it rotated the container's log file."""


class TaskLogBroadcaster:
    """One per task container: the only reader of its log, and the hub all viewers share.

    :meth:`run` reads the log with one follow request (more only when a stream broke while
    the container was still running), decodes it and publishes each decoded chunk as one
    batch. While Docker cannot be reached, every subscriber is told (a ``docker unreachable``
    state, then ``streaming`` once the log flows again) and the reader retries with backoff,
    resuming without duplicates. When the container has stopped it makes one short catch-up
    read (see :meth:`_catch_up`). Subscribers never slow the reader: the hub drops a slow
    subscriber's oldest lines instead.

    With a ``history`` (the worker's store), every published line also goes to ``sink`` (the
    store's queue, which the history reads until the lines are written), and a reader
    that resumes a container after a restart starts at ``first_seq`` (the store's last seq +
    1) with ``recent`` (the last stored lines) to skip what Docker sends again. Unless
    ``pack_sent`` is False, the ring then keeps the lines every subscriber has taken as the
    store's encoding of them (:meth:`LogHub.pack_taken`), not as line objects.
    """

    def __init__(
        self,
        task_id: str,
        source: LogSource,
        *,
        limits: HubLimits | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        history: History | None = None,
        sink: Callable[[list[LogLine]], None] | None = None,
        first_seq: int = 1,
        recent: list[LogLine] | None = None,
        stats: FlowStats | None = None,
        pack_sent: bool = True,
    ) -> None:
        self.task_id = task_id
        self._stats = stats  # lines read and reconnects, per batch (for /metrics)
        self.source = source
        self.hub = LogHub(
            limits, history=history, first_seq=first_seq, pack_sent=pack_sent and sink is not None
        )
        self._sink = sink
        self._stored_recent = recent or []  # the last stored lines of a resumed task
        self._decoder = DockerLogDecoder(tty=source.tty, max_line_bytes=max_line_bytes)
        self._resume = ResumePoint()
        # timestamp of the newest published line of each stream
        self._last_ts: dict[Stream, str] = _newest_by_stream(self._stored_recent)
        self.rereads = 0  # times Docker's stream went back (log rotation) and was filtered
        self._retry_delays = retry_delays
        self.reads = 0  # log streams opened

    @property
    def lines_read(self) -> int:
        """Lines published so far."""
        return self.hub.next_seq - 1

    def subscribe(
        self,
        *,
        tail: int | None = None,
        after: int | None = None,
        follow: bool = True,
        lossless: bool = False,
    ) -> Subscription:
        """A subscription: history (or ``tail``/``after``), then live lines, then the end."""
        return Subscription(self.hub, tail=tail, after=after, follow=follow, lossless=lossless)

    def finish(self, end: TaskEnd) -> None:
        """Every subscriber gets ``end`` after its last line."""
        self.hub.finish(end)

    async def run(self) -> None:
        """Read the container's log to its end. Returns when the container stopped and every
        line was published (or the container is gone); retries with backoff while Docker is
        unreachable."""
        failures = 0
        hub = self.hub
        since = self._resume.since(self._recent()) if self._stored_recent else None
        while True:
            self.reads += 1
            if self.reads > 1 and self._stats is not None:
                self._stats.reconnects["docker"] += 1
            try:
                async for chunk in self.source.chunks(since):
                    if hub.state is ConnectionState.DOCKER_UNREACHABLE:
                        hub.set_state(ConnectionState.STREAMING)  # the stream is open again
                    lines = self._decoder.feed(chunk)
                    if lines:
                        unstored = self._publish(lines, following=True, store_later=True)
                        failures = 0
                        try:
                            await asyncio.sleep(0)  # let subscribers take the batch
                            if 0 < len(unstored) < FEW_LINES:
                                # and, for a few live lines, their subscribers' (a master's
                                # relay in this process passes them on to its clients)
                                await asyncio.sleep(0)
                        finally:
                            if unstored:
                                self._sink_lines(unstored)
                if not await self.source.still_running():
                    self._publish(self._decoder.feed_eof())
                    await self._catch_up()
                    return
                log.info("%s: log stream ended while the container runs; resuming", self.task_id)
            except _Rewound:
                # Docker 20.10 re-sends and skips lines when it rotates a json-file log under a
                # follower (measured, with 100 KB files: both, thousands of lines at a time,
                # also when following again from a `since`). A read without follow goes
                # through the rotated files exactly: read what came after the last published
                # line that way, then follow again from there.
                self.rereads += 1
                log.info("%s: Docker rotated the log file; re-reading after it", self.task_id)
                self._decoder.reset()
                try:
                    await self._read_since(self._resume.since(self._recent()))
                except DockerUnavailable as exc:
                    log.warning("%s: %s", self.task_id, exc)
                since = self._resume.since(self._recent())
                continue
            except ContainerGone as exc:
                log.warning("%s: %s", self.task_id, exc)
                self._publish(self._decoder.feed_eof())
                return
            except DockerUnavailable as exc:
                log.warning("%s: %s", self.task_id, exc)
                hub.set_state(ConnectionState.DOCKER_UNREACHABLE)
            except Exception:
                log.exception("%s: reading the log failed", self.task_id)
            delay = self._retry_delays[min(failures, len(self._retry_delays) - 1)]
            failures += 1
            self._decoder.reset()
            since = self._resume.since(self._recent())
            await asyncio.sleep(delay)

    async def _read_since(self, since: str | None) -> None:
        """Publish the lines from ``since`` to the log's current end (no follow)."""
        decoder = DockerLogDecoder(tty=self.source.tty, max_line_bytes=self._decoder.max_line_bytes)
        async for chunk in self.source.chunks(since, follow=False):
            self._publish(decoder.feed(chunk))
            await asyncio.sleep(0)
        self._publish(decoder.feed_eof())

    async def _catch_up(self) -> None:
        """Read what the follow stream may have missed, once the container has stopped.

        Docker's follow stream can end before the container's very last output: measured with
        Docker 20.10 under load, a TTY task's final line without newline was in the log but
        not in the stream; and when Docker rotates its file under a burst, the stream can end
        hundreds of thousands of lines early. So read the log's last lines once more, without
        follow, and keep only those not published yet. (``tail`` first: Docker reads a tail
        from the end of the file, but scans the whole file for ``since`` -- 0.25 s for 100k
        lines.) When that tail does not reach back to the last published line, more is
        missing: read everything after that line (``since``, exact through rotated files).
        """
        recent = self._recent()
        self._resume.expect_tail(recent)
        tail = len(recent) or None  # nothing published yet: read it all
        decoder = DockerLogDecoder(tty=self.source.tty, max_line_bytes=self._decoder.max_line_bytes)
        lines: list[LogLine] = []
        try:
            async for chunk in self.source.chunks(None, follow=False, tail=tail):
                lines += decoder.feed(chunk)
        except DockerUnavailable as exc:
            log.warning("%s: final catch-up read failed: %s", self.task_id, exc)
            return
        lines += decoder.feed_eof()
        if recent and lines and _older(recent[-1].timestamp, lines[0].timestamp):
            log.info("%s: the log stream ended early; reading the rest of the log", self.task_id)
            self.rereads += 1
            try:
                await self._read_since(self._resume.since(recent))
            except DockerUnavailable as exc:
                log.warning("%s: final catch-up read failed: %s", self.task_id, exc)
            return
        self._publish(lines)

    def _recent(self) -> list[LogLine]:
        """The last published lines (up to RECENT), the stored ones of a resumed task first."""
        recent = self.hub.store.recent(RECENT)
        if len(recent) < RECENT and self._stored_recent:
            recent = (self._stored_recent + recent)[-RECENT:]
        return recent

    def _publish(
        self, lines: list[LogLine], *, following: bool = False, store_later: bool = False
    ) -> list[LogLine]:
        """Publish ``lines`` (what is new of them) and store them. ``store_later``: when the
        ring still holds every one of them, return them unstored instead: the caller stores
        them after the subscribers' turn (a live line's latency does not wait for its
        encoding; a read of them finds them in the ring meanwhile, which trims only on the
        next publish)."""
        resume = self._resume
        if following and lines and not resume.filtering:
            back = self._went_back(lines)
            if back >= 0:
                # not newer than the line before: Docker rotated the container's log file
                # during the follow and sends lines again (and may skip some): publish what
                # came before, then re-open the stream (see run)
                self._publish(lines[:back])
                raise _Rewound
        else:
            # a re-read, a re-opened follow, the catch-up: lines older than the newest
            # published line of their stream were published (Docker 20.10 re-sends whole
            # rotated files, deeper than the recent lines `resume` compares)
            lines = self._newer_only(lines)
        lines = resume.filter(lines)
        if not lines:
            return []
        self._last_ts.update(_newest_by_stream(lines))
        hub = self.hub
        hub.publish(lines)
        if self._stats is not None:
            self._stats.read(lines)
        if store_later and self._sink is not None and lines[0].seq >= hub.store.first_seq:
            return lines
        self._sink_lines(lines)
        return []

    def _sink_lines(self, lines: list[LogLine]) -> None:
        if self._sink is not None:
            self._sink(lines)
            if self.hub.pack_sent:  # what every subscriber took: kept as the sink's encoding
                self.hub.pack_taken()

    def _went_back(self, lines: list[LogLine]) -> int:
        """The index of the first line Docker sends again, or -1: a line older than the last
        one of its stream (within a stream Docker's order is strict; stdout and stderr
        interleave slightly out of timestamp order), or as old and equal to a line already
        published."""
        last = dict(self._last_ts)
        for i, line in enumerate(lines):
            ts = line.timestamp
            prev = last.get(line.stream, "")
            if prev and _not_newer(ts, prev):
                if self._sent_again(line, prev, lines[:i]):
                    return i
            else:
                last[line.stream] = ts
        return -1

    def _newer_only(self, lines: list[LogLine]) -> list[LogLine]:
        """``lines`` without those older than the newest published line of their stream, and
        without those as old and already published: Docker rotating its file during a read
        without follow can go back within the read, to that newest line among others (a tie
        on the timestamp: only the comparison tells). What is left :class:`ResumePoint`
        compares with the lines before a resume."""
        last = dict(self._last_ts)
        if not last:
            return lines
        kept: list[LogLine] = []
        for line in lines:
            ts = line.timestamp
            prev = last.get(line.stream, "")
            if prev and _not_newer(ts, prev) and self._sent_again(line, prev, kept):
                continue
            last[line.stream] = ts
            kept.append(line)
        return kept

    def _sent_again(self, line: LogLine, prev: str, before: list[LogLine]) -> bool:
        """Whether ``line``, not newer than ``prev`` (the newest line of its stream so far), is
        one Docker sends again: older than it, or as old and equal to a line already published
        or among ``before`` (the lines of its batch taken before it)."""
        return _older(line.timestamp, prev) or self._published(line, before)

    def _published(self, line: LogLine, before: list[LogLine]) -> bool:
        """Whether ``line`` (same timestamp, stream and content) is among the recently
        published lines or ``before`` it in its batch (looked for from the newest back, in its
        stream, until a line older than it)."""
        stream, ts = line.stream, line.timestamp
        for other in reversed(self._recent() + before):
            if other.stream is not stream:
                continue
            if other.timestamp == ts:
                if other.content == line.content:
                    return True
            elif _not_newer(other.timestamp, ts):
                return False  # older than it: in its stream, it cannot be further back
        return False


def _not_newer(ts: str, than: str) -> bool:
    """``ts <= than`` for Docker timestamps (strings compare when their lengths match)."""
    if len(ts) == len(than):
        return ts <= than
    a, b = ns_or_zero(ts), ns_or_zero(than)
    return 0 < a <= b


def _older(ts: str, than: str) -> bool:
    """``ts < than`` for Docker timestamps."""
    if len(ts) == len(than):
        return ts < than
    a, b = ns_or_zero(ts), ns_or_zero(than)
    return 0 < a < b


def _newest_by_stream(lines: list[LogLine]) -> dict[Stream, str]:
    """The timestamp of the last line of each stream in ``lines``."""
    newest: dict[Stream, str] = {}
    for line in reversed(lines):
        if line.stream not in newest:
            newest[line.stream] = line.timestamp
            if len(newest) == 2:
                break
    return newest
