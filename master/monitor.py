"""``master monitor``: what to watch and how (a frozen :class:`MonitorConfig` the CLI builds),
and the wiring that feeds one task's log stream to either front end: plain lines
(:mod:`master.plain`, lossless) or the Textual TUI (:mod:`master.tui.app`, imported only when
used; it keeps up by skipping). ``master logs`` (:mod:`master.logs`) opens its stream through
the same :func:`consume_log`."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from master.master_client import MasterClient
from shared.addresses import DEFAULT_MASTER
from shared.errors import InvalidRequest
from shared.ids import validate_task_id
from shared.linefilter import LineFilter
from shared.model import Batch

CONNECT_TIMEOUT = 10.0


class StreamRequest(Protocol):
    """What a printing command asks of a task's log (:class:`MonitorConfig`,
    :class:`master.logs.LogsConfig`)."""

    @property
    def task_id(self) -> str: ...
    @property
    def master(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def tail(self) -> int | None: ...
    @property
    def after(self) -> int | None: ...
    @property
    def follow(self) -> bool: ...
    @property
    def lossless(self) -> bool: ...
    @property
    def line_filter(self) -> LineFilter: ...


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """One ``master monitor`` run. Validates itself: a bad value raises InvalidRequest."""

    task_id: str
    master: str = DEFAULT_MASTER
    user: str = ""  # who watches (sent to the master)
    tail: int | None = None  # history lines (default: the master's, 1000)
    after: int | None = None  # resume after this seq (wins over tail)
    follow: bool = True  # False: the history, then exit
    timestamps: bool = False
    max_lines: int = 10_000  # lines the TUI keeps
    lossless: bool = False  # never `dropped` (--plain); the TUI keeps up by skipping
    raw: bool = False  # --plain: the task's bytes on a terminal too (control characters obeyed)
    # --grep, --stream, --level: filtered on the worker
    line_filter: LineFilter = field(default_factory=LineFilter)

    def __post_init__(self) -> None:
        validate_task_id(self.task_id)
        if (self.tail is not None and self.tail < 0) or (self.after is not None and self.after < 0):
            raise InvalidRequest("--tail and --since-seq must be >= 0")
        if self.max_lines < 1:
            raise InvalidRequest("--max-lines must be >= 1")


def log_stream(client: MasterClient, request: StreamRequest) -> AsyncGenerator[Batch, None]:
    """The task's log as ``request`` asks for it (reconnecting and resuming by itself)."""
    return client.stream(
        request.task_id,
        tail=request.tail,
        after=request.after,
        follow=request.follow,
        user=request.user,
        lossless=request.lossless,
        line_filter=request.line_filter,
    )


async def consume_log(
    request: StreamRequest, consume: Callable[[AsyncIterator[Batch]], Awaitable[int]]
) -> int:
    """Connect to the master, open the task's log stream and hand it to ``consume``; return
    what ``consume`` returns. The stream is closed when ``consume`` returns or raises."""
    async with MasterClient(request.master) as client:
        await client.wait_connected(CONNECT_TIMEOUT)
        async with contextlib.aclosing(log_stream(client, request)) as batches:
            return await consume(batches)


def run_monitor(config: MonitorConfig, *, plain: bool) -> int:
    """Watch the task: plain lines on stdout, or the TUI; returns the exit code."""
    if plain:
        return asyncio.run(_plain(config))
    from master.tui.app import run_monitor_tui  # Textual: only for the terminal view

    return run_monitor_tui(config)


async def _plain(config: MonitorConfig) -> int:
    from master.plain import is_terminal, print_stream

    return await consume_log(
        config,
        lambda batches: print_stream(
            config.task_id,
            batches,
            sys.stdout,
            sys.stderr,
            timestamps=config.timestamps,
            clean=not config.raw and is_terminal(sys.stdout),
        ),
    )
