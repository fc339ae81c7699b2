"""Searching chunks of a log: substrings, RE2 patterns, context, limits, direction. Pure."""

from __future__ import annotations

import time

import pytest

from shared.errors import InvalidRequest
from shared.search import Matcher, Query, scan


def chunks(lines: list[str], size: int) -> list[tuple[int, list[str]]]:
    return [(1 + i, lines[i : i + size]) for i in range(0, len(lines), size)]


def found(lines: list[str], query: Query, size: int = 4) -> list[tuple[int, str, bool]]:
    parts = chunks(lines, size)
    if query.reverse:
        parts.reverse()
    out = []
    for state in scan(parts, query):
        out += [(h.seq, h.content, h.match) for h in state.take()]
    return out


LINES = ["alpha", "beta error", "gamma", "delta", "ERROR eps", "zeta", "eta error error", "theta"]


def test_a_substring_finds_each_matching_line_once_with_its_seq():
    assert found(LINES, Query("error")) == [(2, "beta error", True), (7, "eta error error", True)]
    assert [s for s, _, _ in found(LINES, Query("error", ignore_case=True))] == [2, 5, 7]
    assert found(LINES, Query("nothing")) == []
    assert Matcher(Query("a")).matching(["", "a", "", "ba"]) == [1, 3]


def test_a_regex_is_re2_multiline_and_a_bad_one_is_a_clear_error():
    assert [s for s, _, _ in found(LINES, Query(r"^[dz]e", regex=True))] == [4, 6]
    assert [s for s, _, _ in found(LINES, Query(r"a$", regex=True))] == [1, 3, 4, 6, 8]
    with pytest.raises(InvalidRequest, match="invalid regular expression"):
        Matcher(Query("(unclosed", regex=True))
    # not a regex: special characters are literal
    assert found(["a.c", "abc"], Query("a.c")) == [(1, "a.c", True)]
    assert found(["a.c", "ABC"], Query("a.c", ignore_case=True)) == [(1, "a.c", True)]


def test_a_catastrophic_pattern_runs_in_linear_time():
    line = "a" * 40 + "!"
    started = time.perf_counter()
    assert found([line] * 1000, Query("(a+)+$", regex=True), size=500) == []
    assert time.perf_counter() - started < 1.0  # backtracking engines take years here


def test_context_lines_cross_chunks_and_never_repeat():
    got = found(LINES, Query("error", context=1))
    assert got == [
        (1, "alpha", False),
        (2, "beta error", True),
        (3, "gamma", False),
        (6, "zeta", False),
        (7, "eta error error", True),
        (8, "theta", False),
    ]
    # the match is the first line of the second chunk: its "before" line is in the first one
    got = found(LINES, Query("ERROR", context=2), size=4)
    assert got == [(3, "gamma", False), (4, "delta", False), (5, "ERROR eps", True),
                   (6, "zeta", False), (7, "eta error error", False)]  # fmt: skip
    # overlapping windows: each line once, a match stays a match
    got = found(LINES, Query("a", context=3), size=3)
    assert [s for s, _, _ in got] == list(range(1, 9))


def test_the_limit_caps_the_scan_and_reverse_goes_newest_first():
    states = list(scan(chunks(LINES, 2), Query("e", limit=2)))
    assert states[-1].capped and states[-1].matches == 2
    got = found(LINES, Query("error", ignore_case=True, reverse=True, limit=2))
    assert [s for s, _, _ in got] == [7, 5]
    with pytest.raises(InvalidRequest):
        Query("x", reverse=True, context=1)
    for kwargs in ({"pattern": ""}, {"pattern": "x" * 5000}, {"pattern": "x", "context": 101}):
        with pytest.raises(InvalidRequest):
            Query(**kwargs)


def test_the_scan_reports_how_far_it_got():
    progress = [(s.scanned, s.lowest, s.highest) for s in scan(chunks(LINES, 3), Query("x"))]
    assert progress == [(3, 1, 3), (6, 1, 6), (8, 1, 8)]
    newest_first = reversed(chunks(LINES, 3))
    progress = [(s.scanned, s.lowest, s.highest) for s in scan(newest_first, Query("x"))]
    assert progress == [(2, 7, 8), (5, 4, 8), (8, 1, 8)]
