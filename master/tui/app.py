"""``master monitor TASK_ID``: the live log of one task in a Textual app.

The app takes what to show (a :class:`~master.monitor.MonitorConfig`) and its data source as
constructor arguments (a factory of batch streams and a task info loader), so tests drive it
with a scripted source through ``App.run_test()``. Network I/O happens in one exclusive
worker; keys are ``action_*`` methods listed in the footer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from master.master_client import MasterClient

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from master.logs import line_text
from master.monitor import CONNECT_TIMEOUT, MonitorConfig, log_stream
from master.presentation import EXIT_USAGE, exit_code_for, labels_column, state_notice
from master.tui.base import LogPaneApp
from master.tui.logview import LogView
from master.tui.render import banner_text
from shared.errors import InvalidRequest, LogcastError, TaskNotFound
from shared.linefilter import LineFilter
from shared.model import Batch, ConnectionState, Stream, TaskEnd, TaskInfo, TaskStatus
from shared.terminal import escape_controls

BatchSource = Callable[[], AsyncIterator[Batch]]
InfoLoader = Callable[[], Awaitable[TaskInfo]]
FilteredSource = Callable[[LineFilter], AsyncIterator[Batch]]
"""The task's log filtered on the worker (the lines that pass, the last 1000 then live)."""
Saver = Callable[[LineFilter, Path], Awaitable[int]]
"""Writes the task's whole stored log (the lines that pass the filter) to a file; how many."""

_TROUBLE = {
    "reconnecting",
    "worker unreachable",
    "docker unreachable",
    "master restarting",
    "error",
}
_STREAM_CYCLE: list[Stream | None] = [None, Stream.STDOUT, Stream.STDERR]


def server_filter(text: str, stream: Stream | None = None) -> LineFilter:
    """What the filter box asks of the server, read as :func:`compile_filter` reads it: a
    case-insensitive pattern (RE2) when it is one to both engines, else the literal text."""
    if text:
        with contextlib.suppress(re.error, InvalidRequest):
            re.compile(text)
            regex = LineFilter(pattern=text, regex=True, ignore_case=True, stream=stream)
            regex.selector()
            return regex
    return LineFilter(pattern=text, ignore_case=bool(text), stream=stream)


def save_path(task_id: str, filtered: bool, directory: Path) -> Path:
    """``<task_id>.log`` (``-filtered``) in ``directory``, numbered past files that exist."""
    stem = f"{task_id}{'-filtered' if filtered else ''}"
    path = directory / f"{stem}.log"
    n = 1
    while path.exists():
        path = directory / f"{stem}-{n}.log"
        n += 1
    return path


def compile_filter(text: str) -> tuple[re.Pattern[str] | None, str]:
    """A filter from what the user typed: a case-insensitive regex, or the literal text when
    it is not a valid regex. Returns the pattern (None: no filter) and how it was read."""
    if not text:
        return None, ""
    try:
        return re.compile(text, re.IGNORECASE), f"regex /{text}/"
    except re.error:
        return re.compile(re.escape(text), re.IGNORECASE), f"text {text!r}"


class MonitorApp(LogPaneApp):
    """Header (task, worker, status, connection), log pane, footer with key bindings."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "cycle_stream", "Streams"),
        Binding("t", "toggle_timestamps", "Timestamps"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("j", "toggle_pretty", "Pretty JSON"),
        Binding("ctrl+s", "save", "Save"),
        Binding("q", "quit_monitor", "Quit"),
    ]

    def __init__(
        self,
        config: MonitorConfig,
        source: BatchSource,
        info: InfoLoader | None = None,
        *,
        filtered: FilteredSource | None = None,
        save: Saver | None = None,
        save_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.task_id = config.task_id
        self.timestamps_at_start = config.timestamps
        self._source = source
        self._info = info
        self._filtered = filtered
        self._save = save
        self.save_dir = save_dir or Path.cwd()
        self.server_filter: LineFilter | None = None  # the `/` filter runs on the worker
        self.lowest_seq = 0  # the oldest line the view got (0: none yet)
        self.incomplete = False  # lines were lost (gap, dropped) or trimmed (--max-lines)
        self.received = 0
        self.filter_text = ""  # the `/` filter as typed
        self.saved: Path | None = None  # the last file Ctrl+S wrote
        self.worker_name = ""
        self.labels: dict[str, str] = {}
        self.status: TaskStatus = TaskStatus.PENDING
        self.end: TaskEnd | None = None
        self.filter_label = ""

    def compose(self) -> ComposeResult:
        # markup=False: what these show is data (Text objects), never Textual markup
        yield Static(id="status", markup=False)
        yield LogView(max_lines=self.config.max_lines, id="log")
        yield Static(id="banner", markup=False)
        yield Input(placeholder="filter: text or regex, Enter to apply, Esc to cancel", id="filter")
        yield Footer()

    @property
    def subject(self) -> str:
        return self.task_id

    def _start(self) -> None:
        self._consume(self._source)

    # ------------------------------------------------------------------ data

    @property
    def holds_whole_log(self) -> bool:
        """The view has every line of the task from seq 1 (its own filter can do)."""
        return self.server_filter is None and self.lowest_seq == 1 and not self.incomplete

    @work(exclusive=True, group="stream")
    async def _consume(self, source: BatchSource) -> None:
        if self._info is not None:
            try:
                info = await self._info()
                self.worker_name, self.status = info.worker, info.status
                self.labels = dict(info.labels)
            except TaskNotFound as exc:
                self._fail(str(exc))
                return
            except LogcastError:
                pass  # the stream below reports connection problems
            self._show_status()
        try:
            async for batch in source():
                self.apply(batch)
        except LogcastError as exc:
            self._fail(str(exc))
            return
        if self.end is None and not self.error:
            self.connection = "ended"
            self._show_status()

    def apply(self, batch: Batch) -> None:
        """Show one batch: connection state, notices, lines, the end."""
        view = self.log_view
        if batch.state is not None:
            self.connection = batch.state.value
            if batch.state is not ConnectionState.STREAMING:
                view.add_notice(state_notice(batch.state))
        if batch.gap is not None:
            view.add_notice(batch.gap)
            self.incomplete = True
        if batch.dropped is not None:
            view.add_notice(batch.dropped)
            self.incomplete = True
        if batch.lines:
            if not self.lowest_seq:
                self.lowest_seq = batch.lines[0].seq
            self.received += len(batch.lines)
            if self.received > view.max_lines:
                self.incomplete = True  # the view trimmed its oldest lines
            view.add_lines(batch.lines)
            if self.status is TaskStatus.PENDING:
                self.status = TaskStatus.RUNNING
        if batch.end is not None:
            self.end = batch.end
            self.status = batch.end.status
            self.connection = ConnectionState.FINISHED.value
            banner = self.query_one("#banner", Static)
            banner.update(banner_text(batch.end))
            banner.add_class("visible")
            banner.set_class(batch.end.status is not TaskStatus.SUCCESS, "bad")
        self._show_status()

    def _show_status(self) -> None:
        view = self.log_view
        # built from Text, never from markup: names, labels and filters are data ("[/]" is
        # text), and their control characters are shown (^[), never sent to the terminal
        header = Text.assemble(
            (self.task_id, "bold"),
            f" · worker {escape_controls(self.worker_name or '?')} · status ",
            (self.status.value, "bold"),
            f" · {self.connection} · follow {'on' if view.follow else 'off'}",
        )
        if self.labels:
            header.append(f" · labels {escape_controls(labels_column(self.labels))}")
        if view.stream_filter is not None:
            header.append(f" · {view.stream_filter.value} only")
        if self.filter_label:
            header.append(f" · filter {escape_controls(self.filter_label)}")
        status = self.query_one("#status", Static)
        status.update(header)
        status.set_class(self.connection in _TROUBLE, "trouble")
        status.set_class(self.end is not None, "finished")

    # ------------------------------------------------------------------ keys

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    @on(Input.Submitted, "#filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        text = self.filter_text = event.value
        pattern, self.filter_label = compile_filter(text)
        self.log_view.set_filter(pattern)
        if self._filtered is not None and (self.server_filter or not self.holds_whole_log):
            # the view lacks older lines: the worker filters the whole log instead
            self._restart(server_filter(text) if text else None)
            if text:
                self.filter_label += " · whole log (server)"
        self._close_filter()

    def _restart(self, line_filter: LineFilter | None) -> None:
        """Replace the view's content with a new stream: filtered on the worker, or not."""
        filtered = self._filtered
        self.server_filter = line_filter
        self.log_view.clear()
        self.lowest_seq = self.received = 0
        self.incomplete = False
        if line_filter is not None and filtered is not None:
            self._consume(lambda: filtered(line_filter))
        else:
            self._consume(self._source)

    def action_save(self) -> None:
        """Ctrl+S: the whole stored log, or the lines that pass the filters, to a file."""
        if self._save is None:
            return
        line_filter = server_filter(self.filter_text, self.log_view.stream_filter)
        self._save_to(line_filter, save_path(self.task_id, line_filter.active, self.save_dir))

    @work(group="save")
    async def _save_to(self, line_filter: LineFilter, path: Path) -> None:
        assert self._save is not None
        what = f"lines ({line_filter.describe()})" if line_filter.active else "lines"
        self.notify(f"saving to {escape_controls(str(path))}…")
        try:
            count = await self._save(line_filter, path)
        except (LogcastError, OSError) as exc:
            self.notify(f"not saved: {escape_controls(str(exc))}", severity="error")
            return
        self.saved = path
        self.notify(f"saved {count:,} {escape_controls(what)} to {escape_controls(str(path))}")

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        box = self.query_one("#filter", Input)
        if key == "escape" and box.has_class("visible"):
            self._close_filter()

    def _close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("visible")
        self.log_view.focus()
        self._show_status()

    def action_cycle_stream(self) -> None:
        view = self.log_view
        nxt = _STREAM_CYCLE[(_STREAM_CYCLE.index(view.stream_filter) + 1) % len(_STREAM_CYCLE)]
        view.set_stream(nxt)
        self._show_status()

    def action_toggle_pretty(self) -> None:
        self.log_view.set_pretty(not self.log_view.pretty)

    def exit_code(self) -> int:
        """The contract's exit code for what was seen so far."""
        return EXIT_USAGE if self.error else exit_code_for(self.end)


def run_monitor_tui(config: MonitorConfig) -> int:
    """``master monitor`` on a terminal."""
    from master.master_client import MasterClient

    async def main() -> int:
        async with MasterClient(config.master) as client:
            await client.wait_connected(CONNECT_TIMEOUT)

            def filtered(line_filter: LineFilter) -> AsyncIterator[Batch]:
                return log_stream(
                    client, replace(config, tail=None, after=None, line_filter=line_filter)
                )

            async def save(line_filter: LineFilter, path: Path) -> int:
                return await save_log(client, config.task_id, line_filter, path)

            app = MonitorApp(
                config,
                lambda: log_stream(client, config),
                lambda: client.get(config.task_id),
                filtered=filtered,
                save=save,
            )
            result = await app.run_async()
            return app.exit_code() if result is None else result

    return asyncio.run(main())


async def save_log(client: MasterClient, task_id: str, line_filter: LineFilter, path: Path) -> int:
    """The task's whole stored log (the lines that pass ``line_filter``) written to ``path`` as
    ``master logs`` prints it (stdout and stderr lines together); the number of lines. The file
    is written in a thread, a batch at a time."""
    count = 0
    stream = client.stream(task_id, after=0, follow=False, lossless=True, line_filter=line_filter)
    with await asyncio.to_thread(path.open, "x", encoding="utf-8", errors="replace") as out:
        async with contextlib.aclosing(stream) as batches:
            async for batch in batches:
                if batch.lines:
                    text = "".join(line_text(line, timestamps=False) for line in batch.lines)
                    await asyncio.to_thread(out.write, text)
                    count += len(batch.lines)
    return count
