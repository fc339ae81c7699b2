"""The monitor colours a line by the level it says it has, and ``j`` shows JSON lines indented.
The rendering is tested as a pure function, the keys with Textual's pilot and a scripted
log source."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from rich.style import Style
from rich.text import Text

from master.tui.app import MonitorApp
from master.tui.render import LEVEL_STYLES, render_line
from shared.levels import Level, pretty_json
from shared.model import STDERR, STDOUT, Batch, ConnectionState, LogLine
from tests.tui.test_monitor import (
    CONFIG,
    TS,
    Script,
    composed_screen,
    info,
    line,
    screen_text,
    settle,
)

CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
JSON_LINE = json.dumps({"level": "error", "msg": "payment failed", "order": {"id": 4711}})
LINES = [
    "2026-11-23 10:00:01 INFO starting",
    "DEBUG | config loaded",
    "[warn] disk 91% full",
    "ERROR: card declined",
    "fatal: cannot reach the database",
    "no errors found",
    JSON_LINE,
]


def style_of(text: Text, word: str) -> Style:
    """The style a word is drawn in (its line's level's, and its own colours over it)."""
    console = Console(file=io.StringIO())
    return text.get_style_at_offset(console, text.plain.index(word))


def test_a_line_is_drawn_in_its_levels_colour_under_its_own_colours():
    plain = LogLine(1, TS, STDOUT, "ERROR: card declined")
    text = render_line(plain, timestamps=False, level=Level.ERROR)
    assert text.plain == "ERROR: card declined"
    assert style_of(text, "card").color.name == "red"
    coloured = LogLine(1, TS, STDOUT, "ERROR: \x1b[32mgreen\x1b[0m stays")
    text = render_line(coloured, timestamps=False, level=Level.ERROR)
    assert style_of(text, "green").color.number == 2  # the line's own colour wins
    assert style_of(text, "stays").color.name == "red"
    assert not render_line(plain, timestamps=False).spans  # no level: as before
    assert render_line(plain, timestamps=False, level=Level.INFO).spans == []
    assert set(LEVEL_STYLES) == set(Level)


def test_indented_json_rows_line_up_under_the_first_and_stay_text():
    raw = '{"level":"info","msg":"[bold]x[/bold] \\u001b[2J \x9b","n":[1]}'
    pretty = pretty_json(raw)
    assert pretty is not None
    line_ = LogLine(1, TS, STDERR, raw)
    text = render_line(line_, timestamps=True, level=Level.INFO, pretty=pretty)
    rows = text.plain.split("\n")
    assert rows[0] == f"{TS} ▌{{"
    indent = " " * len(f"{TS} ▌")
    assert rows[1:] == [indent + row.replace("\x9b", "") for row in pretty.split("\n")[1:]]
    # "[bold]" is text, never markup; ESC stays escaped by JSON; a C1 control is removed
    assert '"msg": "[bold]x[/bold] \\u001b[2J "' in text.plain


@pytest.mark.asyncio
async def test_levels_colour_the_lines_and_j_indents_json():
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    async with app.run_test(size=(120, 30)) as pilot:
        lines = [line(i, content) for i, content in enumerate(LINES, 1)]
        script.push(Batch(state=ConnectionState.STREAMING, lines=lines))
        await settle(pilot, app, lambda: "payment failed" in screen_text(app), "the lines")
        view = app.log_view
        assert [e.level for e in view.shown] == [
            Level.INFO, Level.DEBUG, Level.WARN, Level.ERROR, Level.FATAL, None, Level.ERROR
        ]  # fmt: skip

        def colour(row: int, word: str):
            segment = next(s for s in view.render_line(row) if word in s.text)
            return segment.style.color if segment.style else None

        assert colour(2, "disk").name == "yellow"
        assert colour(3, "card").name == "red"
        assert colour(4, "cannot").name == "bright_white"
        assert colour(4, "cannot") != colour(5, "errors")
        assert colour(5, "errors") is None or colour(5, "errors") == colour(0, "starting")

        footer = composed_screen(app)[-1]
        assert "j" in footer and "Pretty JSON" in footer

        # j: the JSON line over several rows, the others as they are
        rows_before = view.virtual_size.height
        await pilot.press("j")
        await pilot.pause()
        assert view.pretty
        pretty = pretty_json(JSON_LINE)
        assert view.virtual_size.height == rows_before + pretty.count("\n")
        shown = screen_text(app).splitlines()
        assert shown[:6] == LINES[:6]
        assert shown[6 : 6 + pretty.count("\n") + 1] == pretty.split("\n")
        assert colour(7, "level").name == "red"  # every row in the line's colour
        assert [e.line.content for e in view.shown] == LINES  # the data is the line as it came

        # with wrap too; and lines that arrive later are indented as well
        await pilot.press("w")
        script.push(Batch(lines=[line(8, '{"level":"warn","late":true}'), line(9, "x" * 300)]))
        await settle(pilot, app, lambda: len(view.shown) == 9, "later lines")
        await pilot.pause()
        text = screen_text(app)
        assert '  "late": true' in text and "x" * 100 in text
        for y in range(view.size.height):
            for segment in view.render_line(y):
                assert not CONTROL.search(segment.text), repr(segment.text)

        await pilot.press("w", "j")
        await pilot.pause()
        assert not view.pretty and view.virtual_size.height == 9
        assert JSON_LINE in screen_text(app)
