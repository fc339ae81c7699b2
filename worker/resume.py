"""Re-opening a broken Docker log stream without duplicates. Pure, no I/O.

Docker's ``since`` is inclusive and works on timestamps, and stdout/stderr lines can reach the
log file slightly out of timestamp order. So a resumed stream starts a little before the last
line read (``MARGIN_NS``) and every re-sent line (same timestamp, stream and content as one of
the recently published lines) is dropped. Lines before the margin are not re-sent by Docker.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from shared.model import LogLine

MARGIN_NS = 1_000_000  # resume 1 ms before the last line read
RECENT = 1000  # recently published lines compared with a resumed stream


def timestamp_ns(ts: str) -> int:
    """Nanoseconds since the epoch of a Docker RFC 3339 timestamp (``...T19:41:43.6061Z``)."""
    head, _, frac = ts.rstrip("Z").partition(".")
    seconds = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return int(seconds) * 1_000_000_000 + int((frac + "000000000")[:9] or 0)


def docker_since(ns: int) -> str:
    """The ``since`` query value Docker accepts for a time in nanoseconds."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


class ResumePoint:
    """Says where to re-open a broken stream and filters the lines Docker sends again."""

    def __init__(self) -> None:
        self._seen: Counter[tuple[str, str, str]] | None = None
        self._last_ns = 0
        self._tail_mode = False
        self._last_ns_by_stream: dict[str, int] = {}

    def since(self, recent: list[LogLine]) -> str | None:
        """Where to re-open the stream, given the most recently published lines (oldest first;
        None: from the beginning). Lines re-sent from then on are dropped by :meth:`filter`."""
        self._expect(recent, tail_mode=False)
        if not recent or not self._last_ns:
            return None
        return docker_since(max(0, self._last_ns - MARGIN_NS))

    def expect_again(self, recent: list[LogLine]) -> None:
        """The stream itself went back (Docker re-reads lines when it rotates a json-file log
        during a follow): drop the re-sent ones among the next lines."""
        self._expect(recent, tail_mode=False)

    @property
    def filtering(self) -> bool:
        """Whether lines are still compared with the recently published ones."""
        return self._seen is not None

    def expect_tail(self, recent: list[LogLine]) -> None:
        """The next lines are the log's last ones (a ``tail`` read): drop those already
        published, and anything not newer than the last published line of its stream (a tail
        counts log messages, so it can begin with the rest of a split line, under that line's
        timestamp; across streams the file's order is not the timestamps' order: a stdout
        line can follow a newer stderr line)."""
        self._expect(recent, tail_mode=True)

    def _expect(self, recent: list[LogLine], *, tail_mode: bool) -> None:
        self._tail_mode = tail_mode
        self._seen = Counter((ln.timestamp, ln.stream.value, ln.content) for ln in recent)
        self._last_ns = ns_or_zero(recent[-1].timestamp) if recent else 0
        self._last_ns_by_stream = {}
        if tail_mode:
            for ln in reversed(recent):
                self._last_ns_by_stream.setdefault(ln.stream.value, ns_or_zero(ln.timestamp))
                if len(self._last_ns_by_stream) == 2:
                    break

    def filter(self, lines: list[LogLine]) -> list[LogLine]:
        """Drop the lines of a resumed stream that were published before it broke."""
        seen = self._seen
        if seen is None:
            return lines
        kept = []
        for line in lines:
            key = (line.timestamp, line.stream.value, line.content)
            if seen.get(key):
                seen[key] -= 1
            elif not (self._tail_mode and self._older_in_stream(line)):
                kept.append(line)
        if kept and ns_or_zero(kept[-1].timestamp) > self._last_ns:
            self._seen = None  # past the resume point: nothing more can be re-sent
        return kept

    def _older_in_stream(self, line: LogLine) -> bool:
        """Whether ``line`` is not newer than the last published line of its stream."""
        last = self._last_ns_by_stream.get(line.stream.value)
        return last is not None and ns_or_zero(line.timestamp) <= last


def ns_or_zero(ts: str) -> int:
    """:func:`timestamp_ns`, or 0 for a timestamp that is not Docker's."""
    try:
        return timestamp_ns(ts)
    except ValueError:
        return 0
