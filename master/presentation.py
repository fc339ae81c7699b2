"""The contract's words and numbers for people: exit codes, notices, the end banner. Pure.

``master monitor --plain`` and the monitor TUI take every user-facing text from here, so they
say the same thing; the web page mirrors these functions in ``web/wording.js`` (a browser test
checks that both give the same text for the same events).
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.model import ConnectionState, Dropped, Gap, TaskEnd, TaskStatus

EXIT_SUCCESS = 0
"""``monitor``: the task ended in ``success``. Other commands: done."""
EXIT_NOT_SUCCESS = 1
"""``monitor``: the task ended otherwise (failed, cancelled, lost), or has not ended."""
EXIT_USAGE = 2
"""Usage or connection errors: malformed or unknown task id, master unreachable, ..."""


def exit_code_for(end: TaskEnd | None) -> int:
    """The exit code of a command that watched a task: 0 if it ended in success, else 1."""
    return (
        EXIT_SUCCESS if end is not None and end.status is TaskStatus.SUCCESS else EXIT_NOT_SUCCESS
    )


def exit_code_for_all(ends: Iterable[TaskEnd | None]) -> int:
    """The exit code of a command that watched several tasks: 0 only if every one succeeded."""
    return max((exit_code_for(end) for end in ends), default=EXIT_NOT_SUCCESS)


def state_notice(state: ConnectionState) -> str:
    """A change in how the stream flows: ``connection: reconnecting``."""
    return f"connection: {state.value}"


def gap_notice(gap: Gap) -> str:
    """Lines that can no longer be had: ``lines 1-80 are no longer available (evicted)``."""
    return f"lines {gap.from_seq}-{gap.to_seq} are no longer available ({gap.reason})"


def dropped_notice(dropped: Dropped) -> str:
    """Lines a slow viewer lost: ``120 lines dropped (seq 300-419): this viewer fell behind``."""
    return (
        f"{dropped.count} lines dropped (seq {dropped.from_seq}-{dropped.to_seq}): "
        "this viewer fell behind"
    )


def truncated_note(cut: int) -> str:
    """Appended to a line cut at the line cap: ``[logcast: 99 more bytes truncated]``."""
    return f"[logcast: {cut} more bytes truncated]"


def end_status(end: TaskEnd) -> str:
    """``failed (exit code 3)``."""
    text = end.status.value
    if end.exit_code is not None:
        text += f" (exit code {end.exit_code})"
    return text


def end_summary(end: TaskEnd) -> str:
    """The completion banner: ``Task Completed - Status: failed (exit code 3) — reason``."""
    text = f"Task Completed - Status: {end_status(end)}"
    if end.error and end.status is not TaskStatus.SUCCESS:
        text += f" — {end.error}"
    return text


LABELS_WIDTH = 40


def labels_column(labels: dict[str, str]) -> str:
    """Labels as a compact table cell, ``k=v,k2=v2`` (sorted by key; cut to LABELS_WIDTH)."""
    text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return text if len(text) <= LABELS_WIDTH else text[: LABELS_WIDTH - 3] + "..."
