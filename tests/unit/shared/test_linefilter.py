"""Server-side line filters (pure): which lines pass, notices kept, where the last N start."""

from __future__ import annotations

import pytest

from shared.errors import InvalidRequest
from shared.levels import Level
from shared.linefilter import BackScan, LineFilter
from shared.model import Batch, Dropped, Gap, LogLine, Stream, TaskEnd, TaskStatus


def lines(*contents: str, first: int = 1, stream: Stream = Stream.STDOUT) -> list[LogLine]:
    return [LogLine(first + i, "t", stream, c) for i, c in enumerate(contents)]


def seqs(kept: list[LogLine]) -> list[int]:
    return [ln.seq for ln in kept]


def test_an_empty_filter_is_inactive_and_a_criterion_makes_it_active():
    assert not LineFilter().active
    assert LineFilter(pattern="x").active
    assert LineFilter(stream=Stream.STDERR).active
    assert LineFilter(min_level=Level.WARN).active


def test_a_substring_keeps_matching_lines_with_their_seqs():
    got = LineFilter(pattern="err").selector().select(lines("ok", "an err", "fine", "err again"))
    assert seqs(got) == [2, 4]


def test_regex_and_ignore_case():
    batch = lines("ERROR one", "error two", "terror", "Error")
    assert seqs(LineFilter(pattern="^error", regex=True).selector().select(batch)) == [2]
    assert seqs(LineFilter(pattern="error", ignore_case=True).selector().select(batch)) == [
        1,
        2,
        3,
        4,
    ]
    assert seqs(
        LineFilter(pattern="^error$", regex=True, ignore_case=True).selector().select(batch)
    ) == [4]


def test_a_runaway_pattern_is_linear_time():
    line = "a" * 40 + "!"
    assert LineFilter(pattern="(a+)+$", regex=True).selector().select(lines(line)) == []


def test_stream_and_level_and_pattern_all_must_hold():
    mixed = [
        LogLine(1, "t", Stream.STDOUT, "ERROR: out"),
        LogLine(2, "t", Stream.STDERR, "ERROR: db down"),
        LogLine(3, "t", Stream.STDERR, "INFO: db up"),
        LogLine(4, "t", Stream.STDERR, "WARN: db slow"),
        LogLine(5, "t", Stream.STDERR, "no level db"),
    ]
    assert seqs(LineFilter(stream=Stream.STDERR).selector().select(mixed)) == [2, 3, 4, 5]
    assert seqs(LineFilter(min_level=Level.WARN).selector().select(mixed)) == [1, 2, 4]
    f = LineFilter(pattern="db", stream=Stream.STDERR, min_level=Level.WARN)
    assert seqs(f.selector().select(mixed)) == [2, 4]


def test_apply_keeps_every_notice_even_when_no_line_passes():
    end = TaskEnd(TaskStatus.SUCCESS, 0)
    batch = Batch(lines=lines("a", "b", first=10), gap=Gap(1, 9), dropped=Dropped(1, 9, 9), end=end)
    out = LineFilter(pattern="zzz").selector().apply(batch)
    assert out.lines == [] and out.gap == Gap(1, 9) and out.dropped == Dropped(1, 9, 9)
    assert out.end == end
    assert batch.lines and len(batch.lines) == 2  # the original is untouched


def test_bad_filters_are_refused_clearly():
    with pytest.raises(InvalidRequest, match="invalid regular expression"):
        LineFilter(pattern="(", regex=True).selector()
    with pytest.raises(InvalidRequest, match="need a pattern"):
        LineFilter(regex=True)
    with pytest.raises(InvalidRequest, match="4096"):
        LineFilter(pattern="x" * 5000).selector()


def test_describe_says_what_is_filtered():
    f = LineFilter(pattern="db", regex=True, stream=Stream.STDERR, min_level=Level.WARN)
    assert f.describe() == "grep 'db' (regex), stderr, warn+"
    assert LineFilter().describe() == "no filter"


def test_back_scan_finds_where_the_last_n_matches_start_across_windows():
    selector = LineFilter(pattern="x").selector()
    newest = lines("x", "-", "x", first=8)  # seqs 8..10: x at 8 and 10
    older = lines("x", "-", "-", "x", "-", "-", "-", first=1)  # x at 1 and 4
    scan = BackScan(selector, 3)
    assert not scan.feed(newest)
    assert scan.start == 8
    assert scan.feed(older)  # done: three found
    assert scan.start == 4
    assert scan.feed(lines("x", first=0))  # (done: more input changes nothing)
    assert scan.start == 4


def test_back_scan_with_fewer_matches_than_asked_starts_at_the_oldest():
    scan = BackScan(LineFilter(pattern="x").selector(), 10)
    scan.feed(lines("x", "-", first=5))
    scan.feed(lines("-", "x", first=1))
    assert not scan.done and scan.start == 2
    assert BackScan(LineFilter(pattern="x").selector(), 10).start is None
    zero = BackScan(LineFilter(pattern="x").selector(), 0)
    assert zero.done and zero.feed(lines("x")) and zero.start is None


def test_parse_reads_a_filter_as_users_give_it_and_checks_it_whole():
    assert LineFilter.parse("db", regex=True, stream="stderr", level="warn+") == LineFilter(
        pattern="db", regex=True, stream=Stream.STDERR, min_level=Level.WARN
    )
    assert LineFilter.parse() == LineFilter()
    for kwargs, says in (
        ({"stream": "both"}, "stream must be stdout or stderr"),
        ({"level": "loud"}, "unknown level"),
        ({"pattern": "(", "regex": True}, "invalid regular expression"),
    ):
        with pytest.raises(InvalidRequest, match=says):
            LineFilter.parse(**kwargs)
