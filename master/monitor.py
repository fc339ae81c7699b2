"""``master monitor``: what to watch and how (a frozen :class:`MonitorConfig` the CLI builds),
and the wiring that feeds one task's log stream to either front end: plain lines
(:mod:`master.plain`) or the Textual TUI (:mod:`master.tui.app`, imported only when used)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from master.master_client import MasterClient
from shared.addresses import DEFAULT_MASTER
from shared.errors import InvalidRequest
from shared.ids import validate_task_id
from shared.model import Batch

CONNECT_TIMEOUT = 10.0


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

    def __post_init__(self) -> None:
        validate_task_id(self.task_id)
        if (self.tail is not None and self.tail < 0) or (self.after is not None and self.after < 0):
            raise InvalidRequest("--tail and --since-seq must be >= 0")
        if self.max_lines < 1:
            raise InvalidRequest("--max-lines must be >= 1")


def log_stream(client: MasterClient, config: MonitorConfig) -> AsyncIterator[Batch]:
    """The task's log as ``config`` asks for it (reconnecting and resuming by itself)."""
    return client.stream(
        config.task_id,
        tail=config.tail,
        after=config.after,
        follow=config.follow,
        user=config.user,
    )


def run_monitor(config: MonitorConfig, *, plain: bool) -> int:
    """Watch the task: plain lines on stdout, or the TUI; returns the exit code."""
    if plain:
        return asyncio.run(_plain(config))
    from master.tui.app import run_monitor_tui  # Textual: only for the terminal view

    return run_monitor_tui(config)


async def _plain(config: MonitorConfig) -> int:
    from master.plain import print_stream

    async with MasterClient(config.master) as client:
        await client.wait_connected(CONNECT_TIMEOUT)
        return await print_stream(
            config.task_id,
            log_stream(client, config),
            sys.stdout,
            sys.stderr,
            timestamps=config.timestamps,
        )
