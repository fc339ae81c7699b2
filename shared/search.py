"""Searching a task's log: the matcher and the scan over stored chunks (pure: no I/O).

Patterns run on RE2 (``google-re2``), a linear-time engine: no pattern, however written
(``(a+)+$``), can make a search run away; a substring is a plain ``str.find``. The scan works
a chunk at a time (a few hundred consecutive lines joined by newlines, one engine call per
chunk), so its Python cost is per chunk and per match, not per line. The caller bounds it in
time and matches (:class:`Scan` says how far it got).
"""

from __future__ import annotations

import bisect
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from shared.errors import InvalidRequest

MAX_PATTERN = 4096
DEFAULT_LIMIT = 10_000
MAX_CONTEXT = 100


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for."""

    pattern: str
    regex: bool = False
    ignore_case: bool = False
    context: int = 0  # lines before and after each match (forward scans only)
    limit: int = DEFAULT_LIMIT  # matches; the scan stops (capped) when it has this many
    reverse: bool = False  # newest first

    def __post_init__(self) -> None:
        if not self.pattern:
            raise InvalidRequest("empty search pattern")
        if len(self.pattern) > MAX_PATTERN:
            raise InvalidRequest(f"search pattern over {MAX_PATTERN} characters")
        if not 0 <= self.context <= MAX_CONTEXT:
            raise InvalidRequest(f"context must be 0-{MAX_CONTEXT} lines")
        if self.limit < 1:
            raise InvalidRequest("the match limit must be at least 1")
        if self.reverse and self.context:
            raise InvalidRequest("context lines come with a forward search only")


class Matcher:
    """Finds which lines of a chunk match a :class:`Query`."""

    def __init__(self, query: Query) -> None:
        self.query = query
        self._needle = ""
        self._regex: Any = None
        if query.regex or query.ignore_case:
            options = re2.Options()
            options.case_sensitive = not query.ignore_case
            options.log_errors = False
            options.literal = not query.regex
            options.never_nl = True  # a match never spans lines (nor swallows the next ones)
            try:
                self._regex = re2.compile(
                    f"(?m){query.pattern}" if query.regex else query.pattern, options
                )
            except re2.error as exc:
                why = exc.args[0] if exc.args else exc
                why = why.decode(errors="replace") if isinstance(why, bytes) else str(why)
                raise InvalidRequest(
                    f"invalid regular expression: {why.replace('(?m)', '', 1)}"
                ) from None
        else:
            self._needle = query.pattern
        self._none = "\n" in query.pattern and not query.regex  # no line holds a newline

    def matching(self, contents: Sequence[str]) -> list[int]:
        """Indices of the lines of ``contents`` that match, in order."""
        if not contents or self._none:
            return []
        text = "\n".join(contents)
        starts: list[int] = []  # each line's offset in text, made at the first hit

        def line_of(offset: int) -> int:
            if not starts:
                at = 0
                for content in contents:
                    starts.append(at)
                    at += len(content) + 1
            return bisect.bisect_right(starts, offset) - 1

        found: list[int] = []
        if self._regex is None:
            at = text.find(self._needle)
            while at >= 0:
                i = line_of(at)
                found.append(i)
                if i + 1 >= len(contents):
                    break
                at = text.find(self._needle, starts[i + 1])  # one hit per line
            return found
        for match in self._regex.finditer(text):
            i = line_of(match.start())
            if not found or found[-1] != i:
                found.append(i)
        return found


@dataclass(slots=True)
class Hit:
    """A line found: a match, or a context line around one."""

    seq: int
    content: str
    match: bool


@dataclass(slots=True)
class Scan:
    """How far a scan got."""

    matches: int = 0
    scanned: int = 0  # lines looked at
    lowest: int = 0  # the lowest / highest seq looked at (0: none yet)
    highest: int = 0
    capped: bool = False  # stopped at the match limit
    hits: list[Hit] = field(default_factory=list)  # found since the caller last took them

    def take(self) -> list[Hit]:
        hits, self.hits = self.hits, []
        return hits


Chunk = tuple[int, Sequence[str]]  # (seq of its first line, its lines' contents)


def scan(
    chunks: Iterable[Chunk], query: Query, matcher: Matcher | None = None
) -> Generator[Scan, None, None]:
    """Search ``chunks`` (ascending seqs, or descending for a reverse query); yields the
    :class:`Scan` after each chunk (its ``hits`` are what that chunk added: take them), and
    stops at the match limit. Context lines after a match may come from the next chunk."""
    matcher = matcher or Matcher(query)
    state = Scan()
    context = query.context
    before: list[tuple[int, str]] = []  # the last lines of the chunks so far (context)
    after_left = 0  # context lines still owed after the last match
    printed = 0  # the highest seq emitted (forward scans): no line twice
    for first, contents in chunks:
        n = len(contents)
        if not n:
            continue
        state.scanned += n
        last = first + n - 1
        state.lowest = first if not state.lowest else min(state.lowest, first)
        state.highest = max(state.highest, last)
        found = matcher.matching(contents)
        if query.reverse:
            found.reverse()
            for i in found:
                state.hits.append(Hit(first + i, contents[i], True))
                state.matches += 1
                if state.matches >= query.limit:
                    state.capped = True
                    break
            yield state
            if state.capped:
                return
            continue
        emit: dict[int, bool] = {}
        if after_left:
            for i in range(min(after_left, n)):
                emit[i] = False
            after_left -= min(after_left, n)
        for i in found:
            if state.matches >= query.limit:
                state.capped = True
                break
            state.matches += 1
            for j in range(i - context, i + context + 1):
                if j < 0:
                    seq = first + j
                    if seq > printed:
                        for s, c in before:
                            if s == seq:
                                state.hits.append(Hit(s, c, False))
                                printed = s
                elif j < n:
                    emit[j] = emit.get(j, False) or j == i
            after_left = max(0, i + context - (n - 1))
        for i in sorted(emit):
            seq = first + i
            if seq > printed:
                state.hits.append(Hit(seq, contents[i], emit[i]))
                printed = seq
        if context:
            # the last `context` lines seen, whatever the chunks' sizes (a slow task's
            # store has chunks of a line or two: one chunk's tail is not enough)
            before += [(first + i, contents[i]) for i in range(max(0, n - context), n)]
            del before[:-context]
        yield state
        if state.capped:
            return
