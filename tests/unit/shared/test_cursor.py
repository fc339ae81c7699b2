"""Where a broken log stream resumes: after the last seq accounted for. Pure."""

from __future__ import annotations

from shared.cursor import ResumeCursor
from shared.model import STDOUT, Batch, Dropped, Gap, LogLine


def lines(*seqs: int) -> list[LogLine]:
    return [LogLine(s, "t", STDOUT, f"line {s}") for s in seqs]


def test_before_anything_arrived_a_stream_asks_for_its_history_again():
    assert ResumeCursor(tail=1000).request() == (1000, None)
    assert ResumeCursor().request() == (None, None)
    cursor = ResumeCursor(tail=50)
    cursor.advance(Batch())  # the empty acknowledgement accounts for nothing
    assert cursor.request() == (50, None)


def test_it_resumes_after_the_newest_line_received():
    cursor = ResumeCursor(tail=1000)
    cursor.advance(Batch(lines=lines(1, 2, 3)))
    assert cursor.request() == (None, 3)
    cursor.advance(Batch(lines=lines(4)))
    assert cursor.request() == (None, 4)


def test_lines_announced_missing_are_never_asked_for_again():
    cursor = ResumeCursor(after=10)
    cursor.advance(Batch(gap=Gap(11, 40)))
    assert cursor.request() == (None, 40)
    cursor.advance(Batch(dropped=Dropped(20, 41, 60), lines=lines(61, 62)))
    assert cursor.request() == (None, 62)
    cursor.advance(Batch(dropped=Dropped(5, 63, 67)))
    assert cursor.request() == (None, 67)


def test_an_explicit_start_after_zero_is_kept():
    """``--since-seq 0`` means everything, not "the default history"."""
    assert ResumeCursor(after=0, tail=5).request() == (None, 0)
