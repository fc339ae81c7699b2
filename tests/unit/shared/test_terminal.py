"""Data shown on a terminal: every control character made visible, nothing else touched."""

from __future__ import annotations

import re

import pytest

from shared.terminal import escape_controls

# what a terminal would act on: C0 but TAB, DEL, C1
OBEYED = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ("\x1b]0;pwned\x07after", "^[]0;pwned^Gafter"),  # OSC: retitle the window
        ("\x1b]52;c;aGk=\x07", "^[]52;c;aGk=^G"),  # OSC 52: write the clipboard
        ("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "^[]8;;http://evil^[\\click^[]8;;^[\\"),
        ("before\x1b[2Jafter", "before^[[2Jafter"),  # clear the screen
        ("\x1b[31mred\x1b[0m", "^[[31mred^[[0m"),  # colours are shown, not obeyed
        ("x\x9b31my", "xM-^[31my"),  # C1 CSI on its own
        ("\x80\x9f", "M-^@M-^_"),
        ("ok\rfake", "ok^Mfake"),  # a carriage return cannot overwrite the line
        ("a\bb", "a^Hb"),
        ("nul\x00 del\x7f lf\n", "nul^@ del^? lf^J"),
    ],
)
def test_control_characters_are_replaced_by_their_caret_notation(data, shown):
    assert escape_controls(data) == shown
    assert not OBEYED.search(escape_controls(data))


def test_tabs_and_printable_text_are_kept_as_they_are():
    text = "tab\tkept, [/] [bold]x[/bold], ünïcödé ✓ \u00a0 \u00ff"
    assert escape_controls(text) is text  # no copy when there is nothing to escape


def test_every_code_point_below_0xa0_is_either_kept_or_made_visible():
    every = "".join(chr(c) for c in range(0xA0))
    shown = escape_controls(every)
    assert not OBEYED.search(shown)
    assert "\t" in shown and "".join(chr(c) for c in range(0x20, 0x7F)) in shown
    assert shown.startswith("^@^A^B") and "~^?M-^@" in shown and shown.endswith("M-^^M-^_")
