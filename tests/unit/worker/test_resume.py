"""Resuming a broken Docker log stream: where to start again, what to drop."""

from __future__ import annotations

from shared.model import STDERR, STDOUT, LogLine
from worker.resume import ResumePoint, docker_since, timestamp_ns


def test_timestamps_convert_to_docker_since_values():
    ns = timestamp_ns("2026-11-22T19:41:43.606115068Z")
    assert ns % 1_000_000_000 == 606_115_068
    assert docker_since(ns) == f"{ns // 1_000_000_000}.606115068"
    assert timestamp_ns("2026-11-22T19:41:43.7Z") % 1_000_000_000 == 700_000_000
    assert timestamp_ns("2026-11-22T19:41:43Z") % 1_000_000_000 == 0


def test_resume_starts_a_millisecond_early_and_drops_re_sent_lines():
    published = [
        LogLine(1, "2026-11-22T19:41:43.100000000Z", STDOUT, "a"),
        LogLine(2, "2026-11-22T19:41:43.100500000Z", STDERR, "b"),
        LogLine(3, "2026-11-22T19:41:43.100900000Z", STDOUT, "c"),
    ]
    point = ResumePoint()
    since = point.since(published)
    assert since.endswith(".099900000")
    resent = [LogLine(0, ln.timestamp, ln.stream, ln.content) for ln in published[1:]]
    new = LogLine(0, "2026-11-22T19:41:43.200000000Z", STDOUT, "d")
    assert point.filter([*resent, new]) == [new]
    # past the resume point nothing is filtered, even a repeat of an old line
    again = LogLine(0, published[2].timestamp, STDOUT, "c")
    assert point.filter([again]) == [again]


def test_identical_lines_at_one_instant_are_dropped_only_as_often_as_published():
    ts = "2026-11-22T19:41:43.1Z"
    point = ResumePoint()
    point.since([LogLine(1, ts, STDOUT, "x")])
    twice = [LogLine(0, ts, STDOUT, "x"), LogLine(0, ts, STDOUT, "x")]
    assert len(point.filter(twice)) == 1


def test_nothing_published_resumes_from_the_beginning():
    assert ResumePoint().since([]) is None


def test_a_tail_read_keeps_only_lines_after_the_last_published_one():
    published = [
        LogLine(1, "2026-11-22T19:41:43.1Z", STDOUT, "a"),
        LogLine(2, "2026-11-22T19:41:43.25Z", STDOUT, "b"),
    ]
    point = ResumePoint()
    point.expect_tail(published)
    fragment = LogLine(0, "2026-11-22T19:41:43.05Z", STDOUT, "…end of an older long line")
    rest = LogLine(0, published[1].timestamp, STDOUT, "…rest of b (b was split)")
    again = LogLine(0, published[1].timestamp, STDOUT, "b")
    missed = LogLine(0, "2026-11-22T19:41:43.251Z", STDOUT, "the last output")
    assert point.filter([fragment, rest, again, missed]) == [missed]


def test_timestamps_compare_as_times_not_strings():
    # "…43.25Z" sorts after "…43.251Z" as a string, but is earlier in time
    point = ResumePoint()
    point.expect_tail([LogLine(1, "2026-11-22T19:41:43.251Z", STDOUT, "x")])
    earlier = LogLine(0, "2026-11-22T19:41:43.25Z", STDOUT, "older fragment")
    assert point.filter([earlier]) == []


def test_a_tail_read_keeps_a_stdout_line_older_than_the_last_stderr_line():
    """At a task's end Docker flushes each stream's last partial line; the file can hold the
    stderr one (newer timestamp) before the stdout one. A follow stream that ended between
    them must not lose the stdout line in the catch-up tail read (seen in CI)."""
    red = LogLine(1, "2026-11-26T03:36:56.874823497Z", STDOUT, "red")
    last_err = LogLine(2, "2026-11-26T03:36:56.928912848Z", STDERR, "last err")
    point = ResumePoint()
    point.expect_tail([red, last_err])
    no_newline = LogLine(0, "2026-11-26T03:36:56.928862434Z", STDOUT, "no newline")
    again = [LogLine(0, ln.timestamp, ln.stream, ln.content) for ln in (red, last_err)]
    assert point.filter([*again, no_newline]) == [no_newline]
