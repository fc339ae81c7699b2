"""What reaches the terminal: colours yes, any other control byte no. Pure."""

from __future__ import annotations

import re

import pytest

from master.tui.render import render_line
from master.tui.sanitize import plain_text, sanitize
from shared.model import STDERR, STDOUT, LogLine

CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;evil title\x07after", "after"),  # OSC window title
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC hyperlink
        ("before\x1b[2Jafter", "beforeafter"),  # clear screen
        ("\x1b[10;10Hmoved", "moved"),  # cursor position
        ("x\x9b31my", "x31my"),  # C1 CSI
        ("a\rb", "b"),  # carriage return: what a terminal shows last
        ("progress 10%\rprogress 99%\r", "progress 99%"),
        ("bell\x07 nul\x00 del\x7f", "bell nul del"),
        ("\x1bPq#0;2;0;0;0\x1b\\sixel", "sixel"),  # DCS
        ("\x1b_apc\x1b\\x", "x"),  # APC
        ("lone\x1b", "lone"),
        ("tab\tkept", "tab\tkept"),
        ("unterminated \x1b]0;title", "unterminated "),
    ],
)
def test_sanitize_removes_every_control_sequence(raw, shown):
    assert sanitize(raw) == shown
    assert plain_text(raw) == shown


def test_sgr_colours_are_kept():
    assert sanitize("\x1b[1;31mred\x1b[0m plain") == "\x1b[1;31mred\x1b[0m plain"
    assert plain_text("\x1b[1;31mred\x1b[0m plain") == "red plain"


def test_rendered_line_has_colour_and_no_control_character():
    evil = "\x1b]0;x\x07\x1b[2J\x9b\x1b[31mred\x1b[0m a\rb"
    text = render_line(LogLine(1, "2026-11-22T19:41:43.6Z", STDOUT, evil), timestamps=False)
    assert not CONTROL.search(text.plain)
    assert text.plain == "b"  # the carriage return wins: a terminal would show "b"
    colored = render_line(LogLine(1, "t", STDOUT, "\x1b[31mred\x1b[0m ok"), timestamps=False)
    assert colored.plain == "red ok"
    (span,) = colored.spans
    assert (span.start, span.end, span.style.color.number) == (0, 3, 1)  # ANSI red


def test_stderr_timestamps_and_truncation_are_shown():
    line = LogLine(1, "2026-11-22T19:41:43.6Z", STDERR, "oops\tx", truncated=99)
    text = render_line(line, timestamps=True)
    assert text.plain.startswith("2026-11-22T19:41:43.6Z ▌oops")
    assert "[logcast: 99 more bytes truncated]" in text.plain
    assert "\t" not in text.plain
