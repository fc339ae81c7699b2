"""``master logs``: a task's whole stored log, like ``docker logs``.

The task's stdout lines go to stdout and its stderr lines to stderr, each as the task wrote it
(a line the task ended without a newline is printed without one, as ``docker logs`` does; on a
terminal its control characters are shown, ``^[`` for ESC, unless ``--raw``); or,
with ``--output jsonl``, one JSON object per line on stdout. The stream is always *lossless*:
a reader slower than the task continues from the worker's store and never loses a line. By
default every stored line is printed, from seq 1 (``--tail N``: the last N; ``--since-seq N``:
the lines after N). Without ``--follow`` it prints what is stored now and exits 0; with it, it
follows the task to its end and exits as ``monitor`` does (0 success, 1 otherwise).

Notices (a reconnect, lines that are gone) go to stderr, worded by :mod:`master.presentation`;
the task's end is said only when logcast knows more than the exit code (the task was lost,
stopped, could not start, ...). The streaming machinery is :mod:`master.plain`'s.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TextIO

from master.monitor import consume_log
from master.plain import (
    PREFIX,
    format_line,
    is_terminal,
    pump,
    same_destination,
)
from master.presentation import EXIT_SUCCESS, end_summary, exit_code_for
from master.wsframes import line_json
from shared.addresses import DEFAULT_MASTER
from shared.errors import InvalidRequest
from shared.ids import validate_task_id
from shared.linefilter import LineFilter
from shared.model import STDERR, Batch, LogLine, TaskEnd, TaskStatus
from shared.terminal import escape_controls

OUTPUTS = ("text", "jsonl")


@dataclass(frozen=True, slots=True)
class LogsConfig:
    """One ``master logs`` run. Validates itself: a bad value raises InvalidRequest.

    Neither ``tail`` nor ``after`` given means the whole log (``after`` becomes 0)."""

    task_id: str
    master: str = DEFAULT_MASTER
    user: str = ""  # who reads (sent to the master)
    tail: int | None = None  # the last N lines
    after: int | None = None  # the lines after seq N
    follow: bool = False  # True: on to the task's end
    timestamps: bool = False
    output: str = "text"  # or "jsonl"
    raw: bool = False  # True: the task's bytes on a terminal too (control characters obeyed)
    # --grep, --stream, --level: filtered on the worker
    line_filter: LineFilter = field(default_factory=LineFilter)

    def __post_init__(self) -> None:
        validate_task_id(self.task_id)
        if (self.tail is not None and self.tail < 0) or (self.after is not None and self.after < 0):
            raise InvalidRequest("--tail and --since-seq must be >= 0")
        if self.tail is not None and self.after is not None:
            raise InvalidRequest("--tail and --since-seq cannot be used together")
        if self.output not in OUTPUTS:
            raise InvalidRequest(f"--output is one of {', '.join(OUTPUTS)}, not {self.output!r}")
        if self.tail is None and self.after is None:
            object.__setattr__(self, "after", 0)  # the whole log, not the last 1000 lines

    @property
    def lossless(self) -> bool:
        """Always: ``master logs`` never drops a line."""
        return True


def line_text(line: LogLine, *, timestamps: bool, clean: bool = False) -> str:
    """A line as ``docker logs`` prints it: with its newline, unless the task wrote none."""
    text = format_line(line, timestamps=timestamps, clean=clean)
    return text if line.unterminated else text + "\n"


def split_text(
    lines: list[LogLine], *, timestamps: bool, clean_out: bool = False, clean_err: bool = False
) -> tuple[str, str]:
    """``lines`` as the text for stdout and the text for stderr, by the stream of each line."""
    out: list[str] = []
    err: list[str] = []
    for line in lines:
        if line.stream is STDERR:
            err.append(line_text(line, timestamps=timestamps, clean=clean_err))
        else:
            out.append(line_text(line, timestamps=timestamps, clean=clean_out))
    return "".join(out), "".join(err)


def jsonl_text(lines: list[LogLine]) -> str:
    """One JSON object per line: ``{"seq","timestamp","stream","content"}`` (plus
    ``"truncated"``: the bytes cut off a line longer than the cap)."""
    return "".join([line_json(line) + "\n" for line in lines])


def worth_saying(end: TaskEnd) -> bool:
    """Whether the task's end is printed: only when it says more than an exit code does
    (``docker logs`` prints nothing at the end; the exit code of ``-f`` tells success)."""
    return end.status is not TaskStatus.SUCCESS and (end.exit_code is None or bool(end.error))


class TextPrinter:
    """stdout lines on ``out``, stderr lines and notices on ``err``. When both write to the
    same place (a terminal, ``2>&1``), pass the same stream twice: every batch is then one
    write, in the task's order."""

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        timestamps: bool = False,
        clean_out: bool = False,
        clean_err: bool = False,
    ) -> None:
        self.out = out
        self.err = err
        self.timestamps = timestamps
        self.clean_out = clean_out
        self.clean_err = clean_err

    def lines(self, lines: list[LogLine]) -> None:
        ts = self.timestamps
        if self.out is self.err:
            clean = self.clean_out
            self.out.write("".join([line_text(ln, timestamps=ts, clean=clean) for ln in lines]))
            self.out.flush()
            return
        out, err = split_text(
            lines, timestamps=ts, clean_out=self.clean_out, clean_err=self.clean_err
        )
        if out:
            self.out.write(out)
            self.out.flush()
        if err:
            self.err.write(err)
            self.err.flush()

    def notice(self, text: str) -> None:
        self.err.write(escape_controls(text) + "\n")  # reasons and errors are data too
        self.err.flush()

    def end(self, task_id: str, end: TaskEnd) -> None:
        if worth_saying(end):
            self.notice(f"{PREFIX}{task_id}: {end_summary(end)}")


class JsonlPrinter(TextPrinter):
    """Every line as JSON on ``out``; notices on ``err``."""

    def lines(self, lines: list[LogLine]) -> None:
        self.out.write(jsonl_text(lines))
        self.out.flush()


def printer_for(config: LogsConfig, out: TextIO, err: TextIO) -> TextPrinter:
    """The printer ``config`` asks for, writing to ``out`` and ``err`` (stdout and stderr):
    text whose control characters are shown (``^[``) where it reaches a terminal, unless
    ``config.raw``; both streams as one when they reach the same place."""
    if same_destination(out, err):
        err = out
    if config.output == "jsonl":
        return JsonlPrinter(out, err)
    return TextPrinter(
        out,
        err,
        timestamps=config.timestamps,
        clean_out=not config.raw and is_terminal(out),
        clean_err=not config.raw and is_terminal(err),
    )


async def print_log(config: LogsConfig, batches: AsyncIterator[Batch], printer: TextPrinter) -> int:
    """Print the log; the exit code: 0 (``follow``: 0 if the task succeeded, else 1)."""
    end = await pump(config.task_id, batches, printer)
    return exit_code_for(end) if config.follow else EXIT_SUCCESS


def run_logs(config: LogsConfig) -> int:
    """``master logs``: print the task's log to stdout and stderr; return the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            # the task's bytes as it wrote them (UTF-8), whatever the locale says
            stream.reconfigure(encoding="utf-8", errors="replace")
    printer = printer_for(config, sys.stdout, sys.stderr)
    return asyncio.run(consume_log(config, lambda batches: print_log(config, batches, printer)))
