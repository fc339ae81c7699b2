"""The TUI's `/` filter runs on the worker when the view lacks older lines, and Ctrl+S saves
the filtered view or the whole log. Textual's pilot with scripted sources (what the app asks
of the master is recorded); the save over a real master is in tests/integration/test_filters.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Input

from master.tui.app import MonitorApp, save_path, server_filter
from shared.linefilter import LineFilter
from shared.model import STDERR, Batch, ConnectionState, TaskEnd, TaskStatus
from tests.tui.test_monitor import CONFIG, Script, info, line, screen_text, settle

pytestmark = pytest.mark.asyncio


class Filtered:
    """The filtered source: records each filter asked for, answers with scripted lines."""

    def __init__(self) -> None:
        self.asked: list[LineFilter] = []
        self.lines = [line(5, "ERROR long ago"), line(1990, "ERROR recent")]

    async def __call__(self, line_filter: LineFilter):
        self.asked.append(line_filter)
        yield Batch(state=ConnectionState.STREAMING, lines=self.lines)
        await asyncio.Event().wait()  # (then live: nothing more here)


class Unfiltered:
    """The normal source: the last lines of a long log (seqs 1001..2000), every time."""

    def __init__(self) -> None:
        self.opened = 0

    async def __call__(self):
        self.opened += 1
        lines = [line(i, f"ERROR {i}" if i % 100 == 0 else f"info {i}") for i in range(1001, 2001)]
        yield Batch(state=ConnectionState.STREAMING, lines=lines)
        await asyncio.Event().wait()


async def type_filter(pilot, text: str) -> None:
    """`/`, the old text deleted, ``text`` typed, Enter."""
    await pilot.press("slash")
    box = pilot.app.query_one("#filter", Input)
    await pilot.press(*["backspace"] * len(box.value), *text, "enter")


async def test_a_filter_on_a_partial_view_asks_the_worker_for_the_whole_log():
    normal, filtered = Unfiltered(), Filtered()
    app = MonitorApp(CONFIG, normal, info, filtered=filtered)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot, app, lambda: app.lowest_seq == 1001, "the last 1000 lines")
        assert not app.holds_whole_log
        await type_filter(pilot, "error")
        await settle(pilot, app, lambda: "ERROR long ago" in screen_text(app), "the old match")
        # only the worker's lines, each with its own seq; none of the view's own lines left
        assert [e.line.seq for e in app.log_view.shown if e.line] == [5, 1990]
        assert filtered.asked == [LineFilter(pattern="error", regex=True, ignore_case=True)]
        assert "whole log (server)" in str(app.query_one("#status").render())
        # clearing it: the normal live view again
        await type_filter(pilot, "")
        await settle(pilot, app, lambda: normal.opened == 2, "the normal view")
        await settle(pilot, app, lambda: app.lowest_seq == 1001, "its lines")
        assert app.server_filter is None
        assert len([e for e in app.log_view.shown if e.line]) == 1000


async def test_a_view_that_holds_the_whole_log_filters_by_itself():
    script, filtered = Script(), Filtered()
    app = MonitorApp(CONFIG, script.batches, info, filtered=filtered)
    async with app.run_test(size=(100, 20)) as pilot:
        script.push(Batch(lines=[line(1, "ERROR a"), line(2, "ok"), line(3, "ERROR b")]))
        await settle(pilot, app, lambda: app.lowest_seq == 1, "lines")
        assert app.holds_whole_log
        await type_filter(pilot, "ERROR")
        await settle(pilot, app, lambda: "ok" not in screen_text(app), "the filter")
        assert [e.line.seq for e in app.log_view.shown if e.line] == [1, 3]
        assert filtered.asked == []


async def test_the_filter_box_is_read_by_the_server_as_the_view_reads_it():
    assert server_filter("a.c") == LineFilter(pattern="a.c", regex=True, ignore_case=True)
    # not a pattern (to Python or to RE2): the literal text
    assert server_filter("a(") == LineFilter(pattern="a(", ignore_case=True)
    assert server_filter("(?=x)") == LineFilter(pattern="(?=x)", ignore_case=True)  # RE2: no
    assert server_filter("", STDERR) == LineFilter(stream=STDERR)


async def test_ctrl_s_saves_the_filtered_view_or_the_whole_log(tmp_path: Path):
    saved: list[tuple[LineFilter, Path]] = []

    async def save(line_filter: LineFilter, path: Path) -> int:
        saved.append((line_filter, path))
        await asyncio.to_thread(path.write_text, "x\n")
        return 1

    script = Script()
    app = MonitorApp(CONFIG, script.batches, info, save=save, save_dir=tmp_path)
    async with app.run_test(size=(100, 20)) as pilot:
        script.push(Batch(lines=[line(1, "hello")], end=TaskEnd(TaskStatus.SUCCESS, 0)))
        await settle(pilot, app, lambda: app.end is not None, "the end")
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: app.saved is not None, "the save")
        assert saved[-1] == (LineFilter(), tmp_path / "task-123456.log")
        await type_filter(pilot, "hel")
        await pilot.press("s", "s")  # stdout, then stderr only
        await pilot.press("ctrl+s")
        await settle(pilot, app, lambda: len(saved) == 2, "the filtered save")
        expected = LineFilter(pattern="hel", regex=True, ignore_case=True, stream=STDERR)
        assert saved[-1] == (expected, tmp_path / "task-123456-filtered.log")
        await pilot.press("ctrl+s")  # a file is never overwritten
        await settle(pilot, app, lambda: len(saved) == 3, "another save")
        assert saved[-1][1] == tmp_path / "task-123456-filtered-1.log"
    assert save_path("task-123456", False, tmp_path) == tmp_path / "task-123456-1.log"
