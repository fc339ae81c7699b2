"""web/ansi.js, the page's one ANSI SGR mapping, run in Chromium; cross-checked with Python's."""

from __future__ import annotations

import json

import pytest

from master.tui.sanitize import plain_text
from tests.browser import goto

pytestmark = [pytest.mark.browser, pytest.mark.asyncio]

CASES = [
    "plain",
    "\x1b[31mred\x1b[0m normal",
    "\x1b[1;4;32mbold underline green\x1b[22m not bold\x1b[0m",
    "\x1b[38;5;208morange\x1b[39m \x1b[48;2;10;20;30mtruecolor bg\x1b[0m",
    "\x1b[7minverse\x1b[27m",
    "\x1b]0;title\x07after OSC",
    "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    "clear\x1b[2J\x1b[H screen",
    "C1\x9b31m csi",
    "a\rb",
    "progress 10%\rprogress 99%\r",
    "nul\x00 bel\x07 del\x7f",
    "\x1bPdcs\x1b\\ after",
    "lone\x1b",
    "tab\tkept",
    "<b>html</b> &amp;",
]


async def segments(page, text: str) -> list[dict]:
    return await page.evaluate(
        "async (t) => (await import('/static/ansi.js')).parseAnsi(t)"
        ".map(s => ({text: s.text, ...s.style}))",
        text,
    )


async def test_sgr_segments_and_control_removal(browser, web_only):
    page = await browser.new_page()
    await goto(page, f"http://{web_only}/")
    red = await segments(page, CASES[1])
    assert [(s["text"], s["fg"]) for s in red] == [("red", 1), (" normal", None)]
    bold = await segments(page, CASES[2])
    assert (bold[0]["bold"], bold[0]["underline"], bold[0]["fg"]) == (True, True, 2)
    assert (bold[1]["text"], bold[1]["bold"], bold[1]["underline"]) == (
        " not bold",
        False,
        True,
    )
    colours = await segments(page, CASES[3])
    assert colours[0]["fg"] == "rgb(255, 135, 0)"  # xterm 208
    assert colours[2]["bg"] == "rgb(10, 20, 30)"
    inverse = await segments(page, CASES[4])
    assert inverse[0]["inverse"] is True
    classes = await page.evaluate(
        "async () => { const m = await import('/static/ansi.js');"
        " return m.styleClasses(m.parseAnsi('\\x1b[1;31mx')[0].style); }"
    )
    assert classes == {"classes": ["fg-1", "b"], "color": None, "background": None}


async def test_plain_text_matches_the_python_sanitizer(browser, web_only):
    page = await browser.new_page()
    await goto(page, f"http://{web_only}/")
    got = await page.evaluate(
        "async (cases) => { const m = await import('/static/ansi.js');"
        " return cases.map(c => m.plainText(c)); }",
        CASES,
    )
    assert got == [plain_text(c) for c in CASES], json.dumps(got)
