"""``master monitor --plain``: one line per log line on stdout, like ``docker logs -f``.

Log lines go to stdout exactly as the task wrote them; notices and the final status go to
stderr, worded by :mod:`master.presentation`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TextIO

from master.presentation import (
    dropped_notice,
    end_summary,
    exit_code_for,
    gap_notice,
    state_notice,
    truncated_note,
)
from shared.model import Batch, ConnectionState, LogLine

PREFIX = "logcast: "


def format_line(line: LogLine, *, timestamps: bool) -> str:
    """A log line as printed: its content (with a note if truncated), timestamp first on
    request. Content is printed as the task wrote it (colour codes included), like
    ``docker logs``."""
    text = line.content
    if line.truncated:
        text += " " + truncated_note(line.truncated)
    return f"{line.timestamp} {text}" if timestamps else text


def notices(batch: Batch, *, troubled: bool) -> list[str]:
    """What a batch says besides its lines, for stderr. A ``streaming`` state is only worth
    saying after trouble (``troubled``: a reconnect or an unreachable worker was reported)."""
    out = []
    if batch.state is not None and (troubled or batch.state is not ConnectionState.STREAMING):
        out.append(PREFIX + state_notice(batch.state))
    if batch.gap is not None:
        out.append(PREFIX + gap_notice(batch.gap))
    if batch.dropped is not None:
        out.append(PREFIX + dropped_notice(batch.dropped))
    return out


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
            err.write(f"{PREFIX}{task_id}: {end_summary(end)}\n")
    err.flush()
    return exit_code_for(end)
