"""What the monitor TUIs share (:class:`~master.tui.app.MonitorApp` for one task,
:class:`~master.tui.merged_app.MergedMonitorApp` for several): the log pane's keys (follow,
timestamps, wrap, quit), how a failure is shown, and the start: each app says what it shows
in its header (``_show_status``), which tasks a failure names (``subject``), how it starts
reading (``_start``) and its exit code."""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.widgets import Static

from master.tui.logview import LogView
from shared.terminal import escape_controls


class LogPaneApp(App[int]):
    """A header, the log pane (a :class:`LogView`), a banner and a footer of keys."""

    CSS_PATH = "app.tcss"
    TITLE = "logcast monitor"

    connection = "connecting"
    error = ""
    timestamps_at_start = False

    @property
    def subject(self) -> str:
        """What the app watches, as a failure names it."""
        raise NotImplementedError

    @property
    def log_view(self) -> LogView:
        """The log pane."""
        return self.query_one(LogView)

    def on_mount(self) -> None:
        if self.timestamps_at_start:
            self.log_view.set_timestamps(True)
        self._show_status()
        self.log_view.focus()
        self._start()

    def _start(self) -> None:
        raise NotImplementedError

    def _show_status(self) -> None:
        raise NotImplementedError

    def exit_code(self) -> int:
        """The contract's exit code for what was seen so far."""
        raise NotImplementedError

    def _fail(self, message: str) -> None:
        self.error = message
        self.connection = "error"
        banner = self.query_one("#banner", Static)
        why = escape_controls(message)  # errors quote data (names, Docker's words)
        banner.update(Text(f"Cannot monitor {self.subject}: {why}", style="bold red"))
        banner.add_class("visible", "bad")
        self._show_status()

    def action_toggle_follow(self) -> None:
        view = self.log_view
        view.follow = not view.follow
        if view.follow:
            view.scroll_end(animate=False)
        self._show_status()

    def action_toggle_timestamps(self) -> None:
        self.log_view.set_timestamps(not self.log_view.timestamps)

    def action_toggle_wrap(self) -> None:
        self.log_view.set_wrap(not self.log_view.wrap)

    def action_quit_monitor(self) -> None:
        self.exit(self.exit_code())
