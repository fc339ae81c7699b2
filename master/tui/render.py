"""Log lines and notices as Rich ``Text`` for the monitor. Pure: no app, no terminal.

The words come from :mod:`master.presentation`; this module only styles them. A line that
says its level (:mod:`shared.levels`) is drawn in that level's colour, under its own ANSI
colours. Everything is
built as ``Text``, never parsed as markup (``[/]`` in a line or an error is text). A line's
control sequences are removed (colours kept: :mod:`master.tui.sanitize`); in notices and the
banner, which quote data (a gap's reason, a task's error), they are shown (``^[``:
:mod:`shared.terminal`).
"""

from __future__ import annotations

from rich.text import Span, Text

from master.presentation import dropped_notice, end_status, gap_notice, truncated_note
from master.tui.sanitize import sanitize
from shared.levels import Level
from shared.model import Dropped, Gap, LogLine, Stream, TaskEnd, TaskStatus
from shared.terminal import escape_controls

STDERR_MARK = "▌"
LEVEL_STYLES = {
    Level.TRACE: "dim",
    Level.DEBUG: "bright_black",
    Level.INFO: "",
    Level.WARN: "yellow",
    Level.ERROR: "red",
    Level.FATAL: "bold bright_white on red",
}
"""How a line of each level is drawn (info: as any line)."""
_STATUS_STYLE = {
    TaskStatus.SUCCESS: "bold green",
    TaskStatus.FAILED: "bold red",
    TaskStatus.CANCELLED: "bold yellow",
    TaskStatus.LOST: "bold magenta",
}


def render_line(
    line: LogLine, *, timestamps: bool, level: Level | None = None, pretty: str | None = None
) -> Text:
    """One log line: optional timestamp, a red mark for stderr, the sanitized content in its
    ANSI colours over its ``level``'s colour (:data:`LEVEL_STYLES`), and a note when it was
    truncated. With ``pretty`` (the line's JSON indented: :func:`shared.levels.pretty_json`)
    that is the content instead, its rows separated by ``\n`` and aligned under the first."""
    if pretty is None:
        text = Text.from_ansi(sanitize(line.content), no_wrap=True, end="")
    else:
        text = Text("\n".join(sanitize(row) for row in pretty.split("\n")), no_wrap=True, end="")
    text.expand_tabs(8)
    style = LEVEL_STYLES[level] if level is not None else ""
    if style:
        text.spans.insert(0, Span(0, len(text), style))  # (the line's own colours drawn over)
    prefix = Text(no_wrap=True, end="")
    if timestamps:
        prefix.append(line.timestamp + " ", style="dim")
    if line.stream is Stream.STDERR:
        prefix.append(STDERR_MARK, style="red")
    elif timestamps or line.truncated:
        prefix.append(" ")
    if prefix:
        if pretty is not None:
            text = Text("\n" + " " * prefix.cell_len).join(text.split("\n"))
        text = prefix + text
    if line.truncated:
        text.append(" " + truncated_note(line.truncated), style="italic dim")
    return text


def render_notice(notice: Gap | Dropped | str) -> Text:
    """An inline notice: lines that were dropped, a gap, a connection change."""
    if isinstance(notice, Dropped):
        body = dropped_notice(notice)
    elif isinstance(notice, Gap):
        body = gap_notice(notice)
    else:
        body = notice
    return Text(f"── {escape_controls(body)} ──", style="bold yellow", no_wrap=True, end="")


def banner_text(end: TaskEnd) -> Text:
    """The completion banner (:func:`master.presentation.end_summary`), the status coloured."""
    text = Text("Task Completed - Status: ", style="bold")
    text.append(end.status.value, style=_STATUS_STYLE.get(end.status, "bold"))
    text.append(end_status(end)[len(end.status.value) :])
    if end.error and end.status is not TaskStatus.SUCCESS:
        text.append(f" — {escape_controls(end.error)}", style="dim")
    return text
