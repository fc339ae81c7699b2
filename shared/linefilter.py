"""Server-side line filters: which lines of a task's log a filtered view shows. Pure, no I/O.

A :class:`LineFilter` (``grep=``/``regex=1``/``stream=``/``level=`` on the WebSocket, the
same on gRPC, ``--grep``/``--regex``/``-i``/``--stream``/``--level`` on the CLI) keeps the
lines that pass every criterion given, each with its own ``seq``: a filtered view resumes
exactly with ``after=N`` like any other. The pattern is matched as :mod:`shared.search` does
(a substring, or an RE2 pattern: linear time, whatever the pattern), a whole batch per engine
call. ``tail=N`` of a filtered view means the last N lines that pass
(:class:`BackScan` finds where they start, scanning back from the newest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from shared.errors import InvalidRequest
from shared.levels import Level, detect_level, parse_level_spec
from shared.model import Batch, LogLine, Stream
from shared.search import Matcher, Query


@dataclass(frozen=True, slots=True)
class LineFilter:
    """What a filtered view keeps (an empty filter keeps everything: :attr:`active` is False)."""

    pattern: str = ""  # a substring, or an RE2 pattern with ``regex``
    regex: bool = False
    ignore_case: bool = False
    stream: Stream | None = None  # None: both
    min_level: Level | None = None  # lines that say this level or a higher one

    def __post_init__(self) -> None:
        if (self.regex or self.ignore_case) and not self.pattern:
            raise InvalidRequest("regex and ignore-case need a pattern (grep=)")

    @classmethod
    def parse(
        cls,
        pattern: str = "",
        *,
        regex: bool = False,
        ignore_case: bool = False,
        stream: str = "",
        level: str = "",
    ) -> LineFilter:
        """A filter from its words as users give them (``stream``: ``stdout``/``stderr`` or
        empty; ``level``: ``warn+`` or empty), checked whole: a bad stream, level or pattern
        raises InvalidRequest before anything is asked of a worker."""
        if stream not in ("", *(s.value for s in Stream)):
            raise InvalidRequest("stream must be stdout or stderr")
        line_filter = cls(
            pattern=pattern,
            regex=regex,
            ignore_case=ignore_case,
            stream=Stream(stream) if stream else None,
            min_level=parse_level_spec(level) if level else None,
        )
        line_filter.selector()
        return line_filter

    @property
    def active(self) -> bool:
        """Whether the filter leaves anything out."""
        return bool(self.pattern) or self.stream is not None or self.min_level is not None

    def selector(self) -> Selector:
        """The compiled filter; InvalidRequest for a pattern that is no pattern."""
        return Selector(self)

    def describe(self) -> str:
        """The filter in words, for a view's header (``grep "x" (regex), stderr, warn+``)."""
        parts = []
        if self.pattern:
            flags = [
                f for f, on in (("regex", self.regex), ("ignore case", self.ignore_case)) if on
            ]
            parts.append(f"grep {self.pattern!r}" + (f" ({', '.join(flags)})" if flags else ""))
        if self.stream is not None:
            parts.append(self.stream.value)
        if self.min_level is not None:
            parts.append(f"{self.min_level.name.lower()}+")
        return ", ".join(parts) or "no filter"


class Selector:
    """A :class:`LineFilter` ready to apply: the pattern compiled once."""

    def __init__(self, line_filter: LineFilter) -> None:
        self.filter = line_filter
        self._matcher = (
            Matcher(
                Query(
                    line_filter.pattern,
                    regex=line_filter.regex,
                    ignore_case=line_filter.ignore_case,
                )
            )
            if line_filter.pattern
            else None
        )

    def select(self, lines: Sequence[LogLine]) -> list[LogLine]:
        """The lines that pass, in order (cheapest criteria first)."""
        f = self.filter
        kept = list(lines)
        if f.stream is not None:
            stream = f.stream
            kept = [ln for ln in kept if ln.stream is stream]
        if self._matcher is not None and kept:
            kept = [kept[i] for i in self._matcher.matching([ln.content for ln in kept])]
        if f.min_level is not None and kept:
            least = f.min_level
            kept = [
                ln for ln in kept if (lv := detect_level(ln.content)) is not None and lv >= least
            ]
        return kept

    def apply(self, batch: Batch) -> Batch:
        """``batch`` with only the lines that pass; its notices (gap, dropped, state, end)
        unchanged."""
        if not batch.lines:
            return batch
        return replace(batch, lines=self.select(batch.lines))


class BackScan:
    """Where the last ``count`` lines that pass start: fed runs of consecutive lines, the
    newest run first (a caller stops feeding at a hole it cannot read past). :attr:`start`
    is the seq of the oldest of them so far (None: no line passed yet)."""

    def __init__(self, selector: Selector, count: int) -> None:
        self._selector = selector
        self._left = count
        self.start: int | None = None

    @property
    def done(self) -> bool:
        """``count`` lines passed: older lines cannot change :attr:`start`."""
        return self._left <= 0

    def feed(self, window: Sequence[LogLine]) -> bool:
        """Scan the next (older) run; True once :attr:`done`."""
        if self.done:
            return True
        passed = self._selector.select(window)
        if passed:
            take = passed[-self._left :]
            self.start = take[0].seq
            self._left -= len(take)
        return self.done
