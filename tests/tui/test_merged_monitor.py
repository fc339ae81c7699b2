"""`master monitor A B`'s TUI, driven by Textual's pilot with a scripted merged source."""

from __future__ import annotations

import asyncio

import pytest

from master.tui.merged_app import TAG_STYLES, MergedMonitorApp, tag_text
from shared.errors import TaskNotFound
from shared.merge import TaskBatch, colour_index
from shared.merge_driver import Emit
from shared.model import STDOUT, Batch, Gap, LogLine, TaskEnd, TaskStatus
from tests.tui.test_monitor import settle

pytestmark = pytest.mark.asyncio
A, B = "task-a", "task-bb"
TS = "2026-11-22T19:41:43.606115068Z"


def line(seq: int, content: str) -> LogLine:
    return LogLine(seq, TS, STDOUT, content)


class Script:
    """A scripted merged source: the test pushes task batches, the app shows them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[TaskBatch | None] = asyncio.Queue()

    def push(self, task_id: str, batch: Batch) -> None:
        self.queue.put_nowait(TaskBatch(task_id, batch))

    async def run(self, emit: Emit) -> None:
        while (item := await self.queue.get()) is not None:
            await emit(item)


def screen(app: MergedMonitorApp) -> list[str]:
    return app.log_view.visible_text()


async def test_lines_are_tagged_with_their_task_and_each_end_is_shown():
    script = Script()
    app = MergedMonitorApp([A, B], script.run)
    async with app.run_test(size=(100, 20)) as pilot:
        script.push(A, Batch(lines=[line(1, "alpha one")]))
        script.push(B, Batch(lines=[line(1, "beta one"), line(2, "[b]not markup[/b]")]))
        script.push(A, Batch(gap=Gap(2, 5), lines=[line(6, "alpha six")]))
        await settle(pilot, app, lambda: any("alpha six" in r for r in screen(app)), "lines")
        rows = [r for r in screen(app) if r]
        assert rows[:3] == ["task-a  alpha one", "task-bb beta one", "task-bb [b]not markup[/b]"]
        assert rows[3] == "── task-a: lines 2-5 are no longer available (evicted) ──"
        assert rows[4] == "task-a  alpha six"
        status = str(app.query_one("#status").render())
        assert "2 tasks" in status and "task-a running" in status and "task-bb running" in status
        # each end as it comes; the banner once both ended; exit 1: one failed
        script.push(A, Batch(end=TaskEnd(TaskStatus.SUCCESS, 0)))
        await settle(pilot, app, lambda: app.ends[A] is not None, "A's end")
        assert "task-a: Task Completed - Status: success (exit code 0)" in " ".join(screen(app))
        assert not app.query_one("#banner").has_class("visible")
        assert app.exit_code() == 1  # B has not ended
        script.push(B, Batch(end=TaskEnd(TaskStatus.FAILED, 3)))
        await settle(pilot, app, lambda: app.ends[B] is not None, "B's end")
        banner = str(app.query_one("#banner").render())
        assert "task-a Task Completed - Status: success (exit code 0)" in banner
        assert "task-bb Task Completed - Status: failed (exit code 3)" in banner
        assert app.query_one("#banner").has_class("bad")
        await pilot.press("q")
    assert app.return_value == 1


async def test_every_task_succeeded_exits_0_and_an_unknown_task_exits_2():
    script = Script()
    app = MergedMonitorApp([A, B], script.run)
    async with app.run_test(size=(100, 20)) as pilot:
        for task_id in (A, B):
            script.push(task_id, Batch(lines=[line(1, "x")], end=TaskEnd(TaskStatus.SUCCESS, 0)))
        await settle(pilot, app, lambda: None not in app.ends.values(), "both ends")
        assert not app.query_one("#banner").has_class("bad")
        await pilot.press("q")
    assert app.return_value == 0

    async def unknown(emit: Emit) -> None:
        raise TaskNotFound("no task task-bb")

    app = MergedMonitorApp([A, B], unknown)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot, app, lambda: app.error != "", "the error")
        assert "no task task-bb" in str(app.query_one("#banner").render())
        await pilot.press("q")
    assert app.return_value == 2


async def test_a_tags_colour_is_its_tasks_stable_colour():
    text = tag_text(A, 8)
    assert text.plain == "task-a   "
    assert str(text.style) == f"bold {TAG_STYLES[colour_index(A)]}"
