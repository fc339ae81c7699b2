"""TaskLogBroadcaster: read one container's log once, number its lines, fan them out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from shared.errors import DockerUnavailable
from shared.hub import HubLimits, LogHub
from shared.model import LogLine, TaskEnd
from shared.subscription import Subscription
from worker.docker_logs import ContainerGone
from worker.frames import DEFAULT_MAX_LINE_BYTES, DockerLogDecoder
from worker.resume import RECENT, ResumePoint

log = logging.getLogger(__name__)


class LogSource(Protocol):
    """Where a broadcaster reads a container's log from (Docker, or a script in tests)."""

    tty: bool

    def chunks(
        self, since: str | None, *, follow: bool = True, tail: int | None = None
    ) -> AsyncIterator[bytes]:
        """The raw log stream from ``since`` (None: the beginning), or only its last ``tail``
        lines, until Docker ends it (``follow``: when the container stops; otherwise at the
        end of what is logged)."""
        ...

    async def still_running(self) -> bool:
        """Whether the container still runs (its log may go on after the stream ended)."""
        ...


class TaskLogBroadcaster:
    """One per task container: the only reader of its log, and the hub all viewers share.

    :meth:`run` reads the log with one follow request (more only when a stream broke while
    the container was still running), decodes it and publishes each decoded chunk as one
    batch. When the container has stopped it makes one short catch-up read (see
    :meth:`_catch_up`). Subscribers never slow the reader: the hub drops a slow subscriber's
    oldest lines instead.
    Subscribers never slow the reader: the hub drops a slow subscriber's oldest lines instead.
    """

    def __init__(
        self,
        task_id: str,
        source: LogSource,
        *,
        limits: HubLimits | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        retry_delays: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
        on_problem: Callable[[str], Awaitable[None] | None] | None = None,
    ) -> None:
        self.task_id = task_id
        self.source = source
        self.hub = LogHub(limits)
        self._decoder = DockerLogDecoder(tty=source.tty, max_line_bytes=max_line_bytes)
        self._resume = ResumePoint()
        self._retry_delays = retry_delays
        self._on_problem = on_problem
        self.reads = 0  # log streams opened
        self.problem = ""  # the last read error, "" once reading works again

    @property
    def lines_read(self) -> int:
        """Lines published so far."""
        return self.hub.next_seq - 1

    def subscribe(
        self, *, tail: int | None = None, after: int | None = None, follow: bool = True
    ) -> Subscription:
        """A subscription: history (or ``tail``/``after``), then live lines, then the end."""
        return Subscription(self.hub, tail=tail, after=after, follow=follow)

    def finish(self, end: TaskEnd) -> None:
        """Every subscriber gets ``end`` after its last line."""
        self.hub.finish(end)

    async def run(self) -> None:
        """Read the container's log to its end. Returns when the container stopped and every
        line was published; retries with backoff while Docker is unreachable."""
        failures = 0
        since: str | None = None
        while True:
            self.reads += 1
            try:
                async for chunk in self.source.chunks(since):
                    lines = self._decoder.feed(chunk)
                    if lines:
                        self._publish(lines)
                        failures = 0
                        await asyncio.sleep(0)  # let subscribers take the batch
                if self.problem:
                    self.problem = ""
                if not await self.source.still_running():
                    self._publish(self._decoder.feed_eof())
                    await self._catch_up()
                    return
                log.info("%s: log stream ended while the container runs; resuming", self.task_id)
            except ContainerGone as exc:
                self._publish(self._decoder.feed_eof())
                self.problem = str(exc)
                return
            except Exception as exc:
                self.problem = str(exc) or type(exc).__name__
                if isinstance(exc, DockerUnavailable):
                    log.warning("%s: %s", self.task_id, exc)
                else:
                    log.exception("%s: reading the log failed", self.task_id)
                if self._on_problem is not None:
                    result = self._on_problem(str(exc))
                    if result is not None:
                        await result
            delay = self._retry_delays[min(failures, len(self._retry_delays) - 1)]
            failures += 1
            self._decoder.reset()
            since = self._resume.since(self.hub.store.recent(RECENT))
            await asyncio.sleep(delay)

    async def _catch_up(self) -> None:
        """Read what the follow stream may have missed, once the container has stopped.

        Docker's follow stream can end before the container's very last output: measured with
        Docker 20.10 under load, a TTY task's final line without newline was in the log but
        not in the stream. So read the log's last lines once more, without follow, and keep
        only those not published yet. (``tail``, not ``since``: Docker reads a tail from the
        end of the file, but scans the whole file for ``since`` -- 0.25 s for 100k lines.)
        """
        recent = self.hub.store.recent(RECENT)
        self._resume.expect_tail(recent)
        tail = len(recent) or None  # nothing published yet: read it all
        decoder = DockerLogDecoder(tty=self.source.tty, max_line_bytes=self._decoder.max_line_bytes)
        try:
            async for chunk in self.source.chunks(None, follow=False, tail=tail):
                self._publish(decoder.feed(chunk))
        except DockerUnavailable as exc:
            log.warning("%s: final catch-up read failed: %s", self.task_id, exc)
            return
        self._publish(decoder.feed_eof())

    def _publish(self, lines: list[LogLine]) -> None:
        lines = self._resume.filter(lines)
        if lines:
            self.hub.publish(lines)
