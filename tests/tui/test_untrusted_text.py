"""The monitor TUI shows data as text: a worker name, labels, log lines, a gap's reason, a
task's error or a typed filter is never read as Textual/Rich markup (``[/]`` once crashed the
monitor; ``[link=...]`` would make a link) and never sends a control character to the
terminal. Driven by Textual's pilot with a scripted log source."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.segment import Segment

from master.monitor import MonitorConfig
from master.tui.app import MonitorApp
from shared.model import STDERR, Batch, ConnectionState, Gap, TaskEnd, TaskInfo, TaskStatus
from tests.tui.test_monitor import Script, line, screen_text, settle

pytestmark = pytest.mark.asyncio
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

WORKER = "[/]\x1b]0;w\x07"
LABELS = {"team": "[/]", "note": "\x1b]0;t\x07[link=http://evil]x"}
LINES = ["[/] closes nothing", "[bold]x[/bold] stays plain", "[link=http://evil]click[/link]"]
ERROR = "[/] [bold]boom[/bold] [link=http://evil]see[/link] \x1b[2J"


async def odd_info() -> TaskInfo:
    return TaskInfo(
        task_id="task-123456", status=TaskStatus.RUNNING, worker=WORKER, labels=dict(LABELS)
    )


def screen_segments(app: MonitorApp) -> list[Segment]:
    """Every segment of the whole screen as Textual composes it for the terminal."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), legacy_windows=False)
    update = app.screen._compositor.render_update(full=True)
    assert update is not None
    return list(console.render(update))


def screen_rows(app: MonitorApp) -> list[str]:
    text = "".join(s.text for s in screen_segments(app) if not s.control)
    return text.splitlines()


async def test_names_labels_lines_and_errors_are_shown_literally_never_as_markup():
    script = Script()
    app = MonitorApp(MonitorConfig("task-123456"), script.batches, odd_info)
    async with app.run_test(size=(160, 16)) as pilot:
        script.push(
            Batch(
                state=ConnectionState.STREAMING,
                lines=[line(1, LINES[0]), line(2, LINES[1], STDERR), line(3, LINES[2])],
            )
        )
        await settle(pilot, app, lambda: app.worker_name == WORKER, "the info")
        await settle(pilot, app, lambda: "click" in screen_text(app), "the lines")
        script.push(Batch(gap=Gap(4, 9, "[/] [bold]gone[/bold]\x1b[2J")))
        script.push(Batch(end=TaskEnd(TaskStatus.FAILED, 3, ERROR)))
        await settle(pilot, app, lambda: app.end is not None, "the end")
        await pilot.pause()

        rows = screen_rows(app)
        header = rows[0]
        assert "worker [/]^[]0;w^G · status failed" in header, header
        assert "labels note=^[]0;t^G[link=http://evil]x,team=[/]" in header, header
        shown = "\n".join(rows)
        for text in LINES:
            assert text in shown, shown
        assert "── lines 4-9 are no longer available ([/] [bold]gone[/bold]^[[2J) ──" in shown
        assert "Status: failed (exit code 3) — [/] [bold]boom[/bold] [link=http://evil]see" in (
            shown
        )
        # (markup read as markup would have left no "[bold]" to see); nothing was made a
        # link, and no control character is on the screen
        for segment in screen_segments(app):
            if segment.control or segment.text == "\n":  # the console's own line ends
                continue
            assert not CONTROL.search(segment.text), repr(segment.text)
            assert segment.style is None or segment.style.link is None, segment
        await pilot.press("q")
    assert app.return_value == 1


async def test_a_filter_typed_as_markup_filters_and_is_shown_as_typed():
    script = Script()
    app = MonitorApp(MonitorConfig("task-123456"), script.batches, odd_info)
    async with app.run_test(size=(160, 16)) as pilot:
        script.push(Batch(lines=[line(1, "a/b"), line(2, "plain"), line(3, LINES[0])]))
        await settle(pilot, app, lambda: len(app.log_view.shown) == 3, "the lines")
        for typed, label, kept in (
            ("[/]", "filter regex /[/]/", 2),  # a character class: lines with a "/"
            ("[/", "filter text '[/'", 1),  # not a regex: the text itself
            ("[bold]", "filter regex /[bold]/", 3),
        ):
            await pilot.press("slash", *["backspace"] * 10, *typed, "enter")
            await settle(
                pilot, app, lambda label=label: f"filter {app.filter_label}" == label, typed
            )
            await settle(pilot, app, lambda kept=kept: len(app.log_view.shown) == kept, typed)
            assert label in screen_rows(app)[0]
        await pilot.press("q")
