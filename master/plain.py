"""Log lines as text on stdout, notices on stderr: ``master monitor --plain`` and the shared
machinery of every printing command (``master logs``, :mod:`master.logs`).

A stream of batches is pumped into a *printer* (:func:`pump`): the printer decides where lines,
notices and the end go. :class:`PlainPrinter` (``monitor --plain``) prints every line on stdout
exactly as the task wrote it, like ``docker logs -f`` (on a terminal, control characters shown
as ``^[``..., unless ``--raw``: :mod:`shared.terminal`); notices and the final status go to
stderr, worded by :mod:`master.presentation`, their control characters always shown. Lines are
written one batch at a time (one ``write`` per batch, not per line) and flushed, so a reader of
a pipe sees them as they come.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from typing import Protocol, TextIO

from master.presentation import (
    dropped_notice,
    end_summary,
    exit_code_for,
    gap_notice,
    state_notice,
    truncated_note,
)
from shared.model import Batch, ConnectionState, LogLine, TaskEnd
from shared.terminal import escape_controls

PREFIX = "logcast: "

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""A printing command whose reader went away (``master logs X | head``) exits quietly with the
status a process killed by SIGPIPE reports in a shell (141), like ``docker logs`` or ``cat``."""


def format_line(line: LogLine, *, timestamps: bool, clean: bool = False) -> str:
    """A log line as printed: its content (with a note if truncated), timestamp first on
    request. Content is printed as the task wrote it (colour codes included), like
    ``docker logs``; ``clean`` (output to a terminal, without ``--raw``) shows its control
    characters instead (:func:`shared.terminal.escape_controls`: ESC as ``^[``), so task
    output cannot drive the terminal (retitle it, clear it, move the cursor, overwrite a
    line)."""
    text = line.content
    if line.truncated:
        text += " " + truncated_note(line.truncated)
    if timestamps:
        text = f"{line.timestamp} {text}"
    return escape_controls(text) if clean else text


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


class Printer(Protocol):
    """Where the parts of a log stream are printed."""

    def lines(self, lines: list[LogLine]) -> None:
        """Print one batch of lines (one write per destination)."""

    def notice(self, text: str) -> None:
        """Print a notice (a line of :func:`notices`)."""

    def end(self, task_id: str, end: TaskEnd) -> None:
        """The task ended."""


class PlainPrinter:
    """``monitor --plain``: every line on ``out``, notices and the end banner on ``err``."""

    def __init__(
        self, out: TextIO, err: TextIO, *, timestamps: bool = False, clean: bool = False
    ) -> None:
        self.out = out
        self.err = err
        self.timestamps = timestamps
        self.clean = clean

    def lines(self, lines: list[LogLine]) -> None:
        ts, clean = self.timestamps, self.clean
        self.out.write(
            "".join([format_line(ln, timestamps=ts, clean=clean) + "\n" for ln in lines])
        )
        self.out.flush()

    def notice(self, text: str) -> None:
        self.err.write(escape_controls(text) + "\n")  # reasons and errors are data too
        self.err.flush()

    def end(self, task_id: str, end: TaskEnd) -> None:
        self.notice(f"{PREFIX}{task_id}: {end_summary(end)}")


async def pump(task_id: str, batches: AsyncIterator[Batch], printer: Printer) -> TaskEnd | None:
    """Print every batch through ``printer``: notices first, then lines, then the end.
    Returns the task's end (None if the stream stopped before it: a no-follow stream)."""
    end = None
    troubled = False
    async for batch in batches:
        for notice in notices(batch, troubled=troubled):
            printer.notice(notice)
        if batch.state is not None:
            troubled = batch.state is not ConnectionState.STREAMING
        if batch.lines:
            printer.lines(batch.lines)
        if batch.end is not None:
            end = batch.end
            printer.end(task_id, end)
    return end


async def print_stream(
    task_id: str,
    batches: AsyncIterator[Batch],
    out: TextIO,
    err: TextIO,
    *,
    timestamps: bool = False,
    clean: bool = False,
) -> int:
    """Print every batch (``monitor --plain``); return the contract's exit code."""
    printer = PlainPrinter(out, err, timestamps=timestamps, clean=clean)
    return exit_code_for(await pump(task_id, batches, printer))


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (its lines then show their control characters, see
    :func:`format_line`)."""
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def same_destination(a: TextIO, b: TextIO) -> bool:
    """Whether ``a`` and ``b`` write to the same file, pipe or terminal (``2>&1``, or both
    on a terminal). A command that splits lines over stdout and stderr then writes both to
    ``a``, in order, one write per batch."""
    if a is b:
        return True
    try:
        return os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (OSError, ValueError, AttributeError):
        return False


def reader_gone() -> int:
    """Call on BrokenPipeError: point stdout and stderr at /dev/null (so that the interpreter's
    final flush of what is still buffered fails nowhere) and return :data:`EXIT_BROKEN_PIPE`.
    As the Python documentation recommends (``signal``: "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)
    return EXIT_BROKEN_PIPE
