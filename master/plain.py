"""``master monitor --plain``: one line per log line on stdout, like ``docker logs -f``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TextIO

from shared.model import Batch, ConnectionState, LogLine, TaskEnd, TaskStatus


def format_line(line: LogLine, *, timestamps: bool) -> str:
    """A log line as printed: its content (with a marker if truncated), timestamp first on
    request. Content is printed as the task wrote it (colour codes included), like
    ``docker logs``."""
    text = line.content
    if line.truncated:
        text += f" [logcast: {line.truncated} more bytes truncated]"
    return f"{line.timestamp} {text}" if timestamps else text


def notices(batch: Batch, *, troubled: bool) -> list[str]:
    """What a batch says besides its lines, for stderr. A ``streaming`` state is only worth
    saying after trouble (``troubled``: a reconnect or an unreachable worker was reported)."""
    out = []
    if batch.state is not None and (troubled or batch.state is not ConnectionState.STREAMING):
        out.append(f"logcast: {batch.state.value}")
    if batch.gap is not None:
        g = batch.gap
        out.append(f"logcast: lines {g.from_seq}-{g.to_seq} are no longer available ({g.reason})")
    if batch.dropped is not None:
        d = batch.dropped
        out.append(f"logcast: {d.count} lines dropped (seq {d.from_seq}-{d.to_seq}): too slow")
    return out


def describe_end(task_id: str, end: TaskEnd) -> str:
    """``task-1 finished: failed (exit code 3): reason``."""
    text = f"logcast: {task_id} finished: {end.status.value}"
    if end.exit_code is not None:
        text += f" (exit code {end.exit_code})"
    if end.error and end.status is not TaskStatus.SUCCESS:
        text += f": {end.error}"
    return text


def exit_code_for(end: TaskEnd | None) -> int:
    """The contract's exit code: 0 if the task ended in success, 1 otherwise."""
    return 0 if end is not None and end.status is TaskStatus.SUCCESS else 1


async def print_stream(
    task_id: str,
    batches: AsyncIterator[Batch],
    out: TextIO,
    err: TextIO,
    *,
    timestamps: bool = False,
) -> int:
    """Print every batch; return the contract's exit code."""
    end = None
    troubled = False
    async for batch in batches:
        for notice in notices(batch, troubled=troubled):
            err.write(notice + "\n")
        if batch.state is not None:
            troubled = batch.state is not ConnectionState.STREAMING
        if batch.lines:
            out.write("\n".join(format_line(ln, timestamps=timestamps) for ln in batch.lines))
            out.write("\n")
            out.flush()
        if batch.end is not None:
            end = batch.end
            err.write(describe_end(task_id, end) + "\n")
    err.flush()
    return exit_code_for(end)
