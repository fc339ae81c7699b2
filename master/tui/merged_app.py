"""``master monitor A B C`` on a terminal: several tasks' lines merged in one Textual app, each
line tagged with its task in the task's colour.

The app takes the tasks and its data source as constructor arguments (a function that runs
the merged stream, handing each :class:`~shared.merge.TaskBatch` to the app), so tests drive
it with a scripted source through ``App.run_test()``. The log pane is the one-task monitor's
(:class:`~master.tui.logview.LogView`), with a tag before each line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from master.merged_monitor import MergedMonitorConfig, resolve_tasks, task_sources
from master.monitor import CONNECT_TIMEOUT
from master.presentation import (
    EXIT_USAGE,
    dropped_notice,
    end_summary,
    exit_code_for_all,
    gap_notice,
    state_notice,
)
from master.tui.base import LogPaneApp
from master.tui.logview import Entry, LogView
from shared.errors import LogcastError
from shared.merge import TaskBatch, colour_index
from shared.merge_driver import Emit, merge_sources
from shared.model import ConnectionState, LogLine, TaskEnd, TaskStatus
from shared.terminal import escape_controls

MergedSource = Callable[[Emit], Awaitable[object]]
"""Runs the merged stream of the app's tasks, handing each batch to ``emit``; raises a
LogcastError when it cannot."""

TAG_STYLES = (
    "cyan",
    "magenta",
    "yellow",
    "blue",
    "green",
    "bright_cyan",
    "bright_magenta",
    "bright_blue",
)
"""The Rich style of each tag colour (:func:`~shared.merge.colour_index`), as on a terminal
with ``--plain``."""


def tag_text(task_id: str, width: int) -> Text:
    """A line's tag: the task id, padded, in the task's colour."""
    return Text(f"{task_id:<{width}} ", style=f"bold {TAG_STYLES[colour_index(task_id)]}")


class TaskLine(LogLine):
    """A log line with the task it came from."""

    __slots__ = ("task_id",)

    def __init__(self, task_id: str, line: LogLine) -> None:
        super().__init__(
            line.seq, line.timestamp, line.stream, line.content, line.truncated, line.unterminated
        )
        self.task_id = task_id


class TaggedLogView(LogView):
    """The log pane, each line tagged with its task."""

    tag_width = 0

    def _text(self, entry: Entry) -> Text:
        text = super()._text(entry)
        line = entry.line
        if isinstance(line, TaskLine):
            return tag_text(line.task_id, self.tag_width) + text
        return text

    def _approx_width(self, entry: Entry) -> int:
        return super()._approx_width(entry) + self.tag_width + 1


class MergedMonitorApp(LogPaneApp):
    """Header (each task and its status), the merged log pane, footer with key bindings."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("t", "toggle_timestamps", "Timestamps"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("q", "quit_monitor", "Quit"),
    ]

    def __init__(
        self,
        task_ids: Sequence[str],
        source: MergedSource,
        *,
        max_lines: int = 10_000,
        timestamps: bool = False,
    ) -> None:
        super().__init__()
        self.task_ids = list(task_ids)
        self._source = source
        self.max_lines = max_lines
        self.timestamps_at_start = timestamps
        self.statuses = dict.fromkeys(self.task_ids, TaskStatus.PENDING)
        self.ends: dict[str, TaskEnd | None] = dict.fromkeys(self.task_ids)

    def compose(self) -> ComposeResult:
        # markup=False: what these show is data (Text objects), never Textual markup
        yield Static(id="status", markup=False)
        view = TaggedLogView(max_lines=self.max_lines, id="log")
        view.tag_width = max(len(t) for t in self.task_ids)
        yield view
        yield Static(id="banner", markup=False)
        yield Footer()

    @property
    def subject(self) -> str:
        return ", ".join(self.task_ids)

    def _start(self) -> None:
        self._consume()

    @work(exclusive=True)
    async def _consume(self) -> None:
        try:
            await self._source(self.take)
        except LogcastError as exc:
            self._fail(str(exc))

    async def take(self, item: TaskBatch) -> None:
        """Show one batch of one task (an ``emit`` of the merged stream)."""
        self.apply(item)

    def apply(self, item: TaskBatch) -> None:
        """Show one batch: its task's notices (named), lines (tagged), end."""
        view, task_id, batch = self.log_view, item.task_id, item.batch
        if batch.state is not None:
            self.connection = batch.state.value
            if batch.state is not ConnectionState.STREAMING:
                view.add_notice(f"{task_id}: {state_notice(batch.state)}")
        if batch.gap is not None:
            view.add_notice(f"{task_id}: {gap_notice(batch.gap)}")
        if batch.dropped is not None:
            view.add_notice(f"{task_id}: {dropped_notice(batch.dropped)}")
        if batch.lines:
            view.add_lines([TaskLine(task_id, line) for line in batch.lines])
            if self.statuses[task_id] is TaskStatus.PENDING:
                self.statuses[task_id] = TaskStatus.RUNNING
        if batch.end is not None:
            self.ends[task_id] = batch.end
            self.statuses[task_id] = batch.end.status
            view.add_notice(f"{task_id}: {end_summary(batch.end)}")
            if all(end is not None for end in self.ends.values()):
                self._show_banner()
        self._show_status()

    def _show_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        text = Text()
        for task_id, end in self.ends.items():
            assert end is not None
            if text:
                text.append("\n")
            text.append_text(tag_text(task_id, 0))
            text.append(escape_controls(end_summary(end)))
        banner.update(text)
        banner.add_class("visible")
        failed = any(e is None or e.status is not TaskStatus.SUCCESS for e in self.ends.values())
        banner.set_class(failed, "bad")
        self.connection = ConnectionState.FINISHED.value

    def _show_status(self) -> None:
        # built from Text, never from markup
        header = Text.assemble((f"{len(self.task_ids)} tasks", "bold"))
        for task_id in self.task_ids:
            header.append(" · ")
            header.append_text(tag_text(task_id, 0))
            header.append(self.statuses[task_id].value)
        header.append(f" · {self.connection} · follow {'on' if self.log_view.follow else 'off'}")
        status = self.query_one("#status", Static)
        status.update(header)
        status.set_class(self.connection not in ("streaming", "finished", "connecting"), "trouble")

    def exit_code(self) -> int:
        """The contract's exit code for what was seen so far: 0 only when every task ended in
        success."""
        return EXIT_USAGE if self.error else exit_code_for_all(self.ends.values())


def run_merged_tui(config: MergedMonitorConfig) -> int:
    """``master monitor A B`` on a terminal."""
    from master.master_client import MasterClient

    async def main() -> int:
        async with MasterClient(config.master) as client:
            await client.wait_connected(CONNECT_TIMEOUT)
            task_ids = await resolve_tasks(client, config)
            sources = task_sources(client, config, task_ids)
            app = MergedMonitorApp(
                task_ids,
                lambda emit: merge_sources(sources, emit),
                max_lines=config.max_lines,
                timestamps=config.timestamps,
            )
            result = await app.run_async()
            return app.exit_code() if result is None else result

    return asyncio.run(main())
