"""`master monitor`'s TUI, driven by Textual's pilot with a scripted log source."""

from __future__ import annotations

import asyncio
import re

import pytest
from textual.widgets import Input

from master.monitor import MonitorConfig
from master.tui.app import MonitorApp, compile_filter
from shared.errors import TaskNotFound
from shared.model import (
    STDERR,
    STDOUT,
    Batch,
    ConnectionState,
    Dropped,
    LogLine,
    TaskEnd,
    TaskInfo,
    TaskStatus,
)

pytestmark = pytest.mark.asyncio
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
TS = "2026-11-22T19:41:43.606115068Z"
CONFIG = MonitorConfig("task-123456")


def line(seq: int, content: str, stream=STDOUT) -> LogLine:
    return LogLine(seq, TS, stream, content)


class Script:
    """A scripted log source: the test pushes batches, the app reads them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Batch | None] = asyncio.Queue()

    def push(self, batch: Batch | None) -> None:
        self.queue.put_nowait(batch)

    async def batches(self):
        while (batch := await self.queue.get()) is not None:
            yield batch


async def info() -> TaskInfo:
    return TaskInfo(task_id="task-123456", status=TaskStatus.RUNNING, worker="w1")


def screen_text(app: MonitorApp) -> str:
    return "\n".join(app.log_view.visible_text())


async def settle(pilot, app, predicate, what: str) -> None:
    for _ in range(200):
        await pilot.pause()
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_lines_appear_and_the_banner_shows_the_final_status():
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    async with app.run_test(size=(100, 20)) as pilot:
        script.push(
            Batch(state=ConnectionState.STREAMING, lines=[line(1, "hello"), line(2, "world")])
        )
        await settle(pilot, app, lambda: "world" in screen_text(app), "lines")
        status = str(app.query_one("#status").render())
        assert "task-123456" in status and "w1" in status and "streaming" in status
        script.push(Batch(lines=[line(3, "bye", STDERR)], end=TaskEnd(TaskStatus.FAILED, 3)))
        await settle(pilot, app, lambda: app.end is not None, "the end")
        banner = str(app.query_one("#banner").render())
        assert "Task Completed - Status: failed (exit code 3)" in banner
        assert "▌bye" in screen_text(app)  # stderr is marked
        await pilot.press("q")
    assert app.return_value == 1


async def test_success_exits_zero_and_unknown_task_exits_two():
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    async with app.run_test() as pilot:
        script.push(Batch(lines=[line(1, "ok")], end=TaskEnd(TaskStatus.SUCCESS, 0)))
        await settle(pilot, app, lambda: app.end is not None, "the end")
        await pilot.press("q")
    assert app.return_value == 0

    async def missing() -> TaskInfo:
        raise TaskNotFound("no task task-123456")

    app = MonitorApp(CONFIG, script.batches, missing)
    async with app.run_test() as pilot:
        await settle(pilot, app, lambda: app.error, "the error")
        assert "no task task-123456" in str(app.query_one("#banner").render())
        await pilot.press("q")
    assert app.return_value == 2


async def test_filter_hides_and_restores_lines():
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    async with app.run_test(size=(100, 30)) as pilot:
        script.push(
            Batch(
                lines=[line(i, f"item {i} {'ERROR' if i % 3 == 0 else 'ok'}") for i in range(1, 13)]
            )
        )
        await settle(pilot, app, lambda: len(app.log_view.shown) == 12, "12 lines")
        await pilot.press("slash")
        await pilot.press(*"error")
        await pilot.press("enter")
        await settle(pilot, app, lambda: len(app.log_view.shown) == 4, "the filter")
        assert all("ERROR" in e.line.content for e in app.log_view.shown)
        assert "item 1 ok" not in screen_text(app)
        # new lines are filtered too
        script.push(Batch(lines=[line(13, "late ERROR"), line(14, "late ok")]))
        await settle(pilot, app, lambda: len(app.log_view.shown) == 5, "a late match")
        await pilot.press("slash")
        assert app.query_one("#filter", Input).value == "error"  # the current filter, to edit
        await pilot.press(*["backspace"] * 5, "enter")  # emptied: everything back
        await settle(pilot, app, lambda: len(app.log_view.shown) == 14, "all lines back")
        await pilot.press("slash")
        await pilot.press(*"item [")  # not a valid regex: taken literally
        await pilot.press("escape")  # cancelled: nothing changes
        await pilot.pause()
        assert len(app.log_view.shown) == 14


async def test_keys_toggle_follow_streams_timestamps_and_wrap():
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    async with app.run_test(size=(60, 12)) as pilot:
        lines = [line(i, f"out {i}") for i in range(1, 40)] + [line(40, "err 40", STDERR)]
        lines.append(line(41, "x" * 150))
        script.push(Batch(lines=lines))
        await settle(pilot, app, lambda: len(app.log_view.shown) == 41, "lines")
        view = app.log_view
        assert view.scroll_offset.y == view.max_scroll_y  # following the end
        await pilot.press("f")
        assert not view.follow
        view.scroll_home(animate=False)
        script.push(Batch(lines=[line(42, "more")]))
        await settle(pilot, app, lambda: len(view.shown) == 42, "another line")
        assert view.scroll_offset.y == 0  # not following: stays where the user is
        await pilot.press("f")
        assert view.follow
        await pilot.press("s")
        assert [e.line.content for e in view.shown] == [f"out {i}" for i in range(1, 40)] + [
            "x" * 150,
            "more",
        ]
        await pilot.press("s")
        assert [e.line.content for e in view.shown] == ["err 40"]
        await pilot.press("s")
        assert len(view.shown) == 42
        await pilot.press("t")
        await pilot.pause()
        assert TS in screen_text(app)
        await pilot.press("t")
        rows_before = view.virtual_size.height
        await pilot.press("w")
        await pilot.pause()
        assert view.virtual_size.height > rows_before  # the long line now takes several rows
        await pilot.press("w")
        await pilot.pause()
        assert view.virtual_size.height == rows_before


async def test_a_full_pane_lets_its_oldest_lines_go_and_shows_what_a_fresh_layout_would():
    """Past ``max_lines`` the oldest lines go batch by batch (the pane is not laid out anew
    each time): what it keeps and shows equals a fresh layout of the same lines, wrapped or
    not, filtered or not."""
    script = Script()
    app = MonitorApp(MonitorConfig("task-123456", max_lines=20), script.batches, info)
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.log_view

        def text(i: int) -> str:  # every fourth line wraps over three rows
            return f"line {i} " + ("w" * 140 if i % 4 == 0 else "") + ("E" if i % 3 == 0 else "")

        seq = 0

        async def push(n: int) -> None:
            nonlocal seq
            lines = [line(seq + k + 1, text(seq + k + 1)) for k in range(n)]
            seq += n
            script.push(Batch(lines=lines))
            await settle(pilot, app, lambda: view._entries[-1].line.seq == seq, f"line {seq}")

        async def same_as_fresh_layout() -> None:
            await pilot.pause()
            screen, size = view.visible_text(), view.virtual_size
            view._relayout()  # what every setting change does: everything measured again
            await pilot.pause()
            assert (view.visible_text(), view.virtual_size.height) == (screen, size.height)

        for _ in range(4):
            await push(7)
        assert [e.line.seq for e in view.shown] == list(range(9, 29))  # the newest 20
        assert f"line {seq}" in screen_text(app)  # following: the newest on screen
        await same_as_fresh_layout()
        await pilot.press("w")  # wrapped: some lines take several rows
        for _ in range(3):
            await push(6)
        assert [e.line.seq for e in view.shown] == list(range(27, 47))
        await same_as_fresh_layout()
        view.set_filter(re.compile("E$"))  # only every third line shown
        for _ in range(3):
            await push(5)
        assert [e.line.seq for e in view.shown] == [s for s in range(42, 62) if s % 3 == 0]
        await same_as_fresh_layout()
        await push(45)  # more than the pane keeps, in one batch
        assert [e.line.seq for e in view.shown] == [s for s in range(87, 107) if s % 3 == 0]
        await same_as_fresh_layout()


async def test_control_sequences_never_reach_the_screen_but_colours_do():
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    evil = "\x1b]0;x\x07\x1b[2J\x9b\x1b[31mred\x1b[0m a\rb"
    async with app.run_test(size=(80, 10)) as pilot:
        script.push(Batch(lines=[line(1, evil), line(2, "\x1b[32mgreen\x1b[0m fine")]))
        await settle(pilot, app, lambda: len(app.log_view.shown) == 2, "lines")
        strips = [app.log_view.render_line(y) for y in range(2)]
        for strip in strips:
            for segment in strip:
                assert not CONTROL.search(segment.text), repr(segment.text)
        text = screen_text(app)
        assert "b" in text.splitlines()[0] and "green fine" in text
        green = [s for s in strips[1] if s.text == "green"]
        assert green and green[0].style.color.number == 2  # ANSI green kept


async def test_notices_and_connection_changes_are_shown_inline():
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    async with app.run_test(size=(100, 10)) as pilot:
        script.push(Batch(state=ConnectionState.RECONNECTING))
        await settle(pilot, app, lambda: app.connection == "reconnecting", "reconnecting")
        assert "trouble" in app.query_one("#status").classes
        script.push(
            Batch(state=ConnectionState.STREAMING, dropped=Dropped(5, 1, 5), lines=[line(6, "six")])
        )
        await settle(pilot, app, lambda: "six" in screen_text(app), "the line")
        text = screen_text(app)
        assert "connection: reconnecting" in text
        assert "5 lines dropped (seq 1-5): this viewer fell behind" in text


async def test_filter_text_is_a_regex_when_it_compiles():
    assert compile_filter("")[0] is None
    assert compile_filter("err.r")[0].search("ERROR")
    pattern, how = compile_filter("a[")
    assert pattern.search("xa[y") and how == "text 'a['"


def composed_screen(app: MonitorApp) -> list[str]:
    """The rows of the terminal as the user sees them: the whole screen composed by Textual
    (what ``App.export_screenshot`` renders), as plain text."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text().splitlines()


async def test_the_last_line_stays_on_screen_when_the_banner_appears():
    """Following a task to its end: the completion banner takes rows from the log pane, and
    the pane still shows the task's last line (often the error that explains a failure)."""
    script = Script()
    app = MonitorApp(CONFIG, script.batches, info)
    async with app.run_test(size=(100, 45)) as pilot:
        lines = [line(i, f"tui line {i}") for i in range(1, 61)]
        script.push(Batch(state=ConnectionState.STREAMING, lines=lines))
        await settle(pilot, app, lambda: "tui line 60" in "\n".join(composed_screen(app)), "60")
        script.push(
            Batch(
                lines=[line(61, "final: the error that explains it")],
                end=TaskEnd(TaskStatus.FAILED, 1),
            )
        )
        await settle(pilot, app, lambda: app.end is not None, "the end")
        await pilot.pause()
        screen = composed_screen(app)
        banner_row = next(i for i, row in enumerate(screen) if "Task Completed" in row)
        log_rows = screen[:banner_row]
        assert any("final: the error that explains it" in row for row in log_rows), screen
        assert any("tui line 60" in row for row in log_rows), screen


async def test_names_and_filters_are_shown_as_text_never_as_markup():
    """A worker named ``[/]`` (or a filter typed as ``[/]``) is data, not Rich markup."""

    async def odd_info() -> TaskInfo:
        return TaskInfo(task_id="task-123456", status=TaskStatus.RUNNING, worker="[/]")

    script = Script()
    app = MonitorApp(MonitorConfig("task-123456", timestamps=True), script.batches, odd_info)
    async with app.run_test(size=(100, 12)) as pilot:
        script.push(Batch(lines=[line(1, "a [/] line")]))
        await settle(pilot, app, lambda: app.worker_name == "[/]", "the info")
        await pilot.press("slash", *"[/]", "enter")
        await settle(pilot, app, lambda: app.filter_label, "the filter")
        header = composed_screen(app)[0]
        assert "worker [/]" in header and "filter regex /[/]/" in header
        assert TS in screen_text(app)  # --timestamps: shown from the start
        await pilot.press("q")
    assert app.return_value == 1
