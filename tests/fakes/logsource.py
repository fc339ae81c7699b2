"""ScriptedLogSource: a container's log played the way Docker serves it, breaks included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.errors import ContainerGone, DockerUnavailable
from tests.dockerfmt import multiplexed, raw
from worker.resume import timestamp_ns

BASE = "2026-11-23T10:00:00"
_BASE_TIME = datetime.strptime(BASE, "%Y-%m-%dT%H:%M:%S")


def ts(i: int) -> str:
    """The timestamp of record ``i`` (1 ms apart, in order for any number of records)."""
    seconds, ms = divmod(i, 1000)
    stamp = (_BASE_TIME + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms * 1_000_000:09d}Z"


@dataclass
class FollowRead:
    """What one follow request does: serve ``records`` records from its ``since`` (None:
    all there are), then ``then``: ``"stop"`` (the stream ends), ``"break"`` (the engine goes
    away: DockerUnavailable), ``"gone"`` (the container was removed: ContainerGone) or
    ``"refuse"`` (the request itself fails, before any record)."""

    records: int | None = None
    then: str = "stop"


@dataclass
class ScriptedLogSource:
    """A :class:`worker.logsource.LogSource` over a list of log records.

    ``records`` is the container's whole log, ``(stream, text)`` pairs (stream 1 stdout, 2
    stderr; ``text`` with its newline, if any), record i stamped :func:`ts(i + 1)`. Follow
    reads play ``reads`` in order; after the last one, :meth:`still_running` says the container
    stopped. A tail read (``follow=False``) serves the last ``tail`` records, as Docker does.
    Every call is recorded in ``calls``.
    """

    records: list[tuple[int, bytes]]
    reads: list[FollowRead] = field(default_factory=lambda: [FollowRead()])
    tty: bool = False
    calls: list[dict[str, object]] = field(default_factory=list)

    def _encode(self, first: int, last: int) -> bytes:
        chosen = [
            (s, ts(i + 1), text)
            for i, (s, text) in enumerate(self.records[first:last], start=first)
        ]
        if self.tty:
            return raw([(t, text.replace(b"\n", b"\r\n")) for _, t, text in chosen])
        return multiplexed(chosen)

    async def chunks(
        self, since: str | None, *, follow: bool = True, tail: int | None = None
    ) -> AsyncIterator[bytes]:
        self.calls.append({"since": since, "follow": follow, "tail": tail})
        await asyncio.sleep(0)
        if not follow:
            first = 0 if tail is None else max(0, len(self.records) - tail)
            yield self._encode(first, len(self.records))
            return
        follows = sum(1 for c in self.calls if c["follow"])
        read = self.reads[min(follows, len(self.reads)) - 1]
        if read.then == "refuse":
            raise DockerUnavailable("cannot reach Docker (scripted)")
        first = 0
        if since is not None:
            secs, _, nanos = since.partition(".")
            since_ns = int(secs) * 1_000_000_000 + int(nanos or 0)
            first = next(
                (i for i in range(len(self.records)) if timestamp_ns(ts(i + 1)) >= since_ns),
                len(self.records),
            )
        last = (
            len(self.records)
            if read.records is None
            else min(len(self.records), first + read.records)
        )
        yield b""  # open
        for i in range(first, last):  # one chunk per record: a batch each
            yield self._encode(i, i + 1)
        if read.then == "break":
            raise DockerUnavailable("lost the Docker log stream (scripted)")
        if read.then == "gone":
            raise ContainerGone("container no longer exists (scripted)")

    async def still_running(self) -> bool:
        return sum(1 for c in self.calls if c["follow"]) < len(self.reads)
