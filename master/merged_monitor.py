"""``master monitor A B C`` and ``master monitor --label K=V``: several tasks in one view.

The CLI merges on its side: one gRPC log stream per task, each opened as ``master monitor``
opens one (:func:`master.monitor.log_stream`: reconnecting and resuming by itself), merged by
Docker timestamp within the reorder window (:mod:`shared.merge_driver`). ``--label`` watches
the tasks with those labels as the master lists them when the command starts. Plain lines
(:mod:`master.merged_plain`, lossless) or the TUI (:mod:`master.tui.merged_app`); exit code 0
only when every task ended in success.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, field

from master.master_client import MasterClient
from master.monitor import CONNECT_TIMEOUT, MonitorConfig, log_stream
from master.presentation import exit_code_for_all
from shared.addresses import DEFAULT_MASTER
from shared.errors import InvalidRequest
from shared.linefilter import LineFilter
from shared.merge import MAX_TASKS, parse_task_ids
from shared.merge_driver import Feed, Source

LABEL_LIMIT = MAX_TASKS


@dataclass(frozen=True, slots=True)
class MergedMonitorConfig:
    """One ``master monitor`` of several tasks (or of a label). Validates itself: a bad value
    raises InvalidRequest."""

    task_ids: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # --label K=V: the tasks having all of them
    master: str = DEFAULT_MASTER
    user: str = ""
    tail: int | None = None  # each task's history lines (default: the master's, 1000)
    after: tuple[tuple[str, int], ...] = ()  # --after A:N,B:M: resume these tasks after seq N, M
    follow: bool = True
    timestamps: bool = False
    max_lines: int = 10_000  # lines the TUI keeps
    lossless: bool = False  # --plain: never `dropped`
    raw: bool = False
    line_filter: LineFilter = field(default_factory=LineFilter)

    def __post_init__(self) -> None:
        if not self.task_ids and not self.labels:
            raise InvalidRequest("give a task id, several, or --label K=V")
        if self.task_ids:
            parse_task_ids(self.task_ids)  # each valid, at most MAX_TASKS
        if self.tail is not None and self.tail < 0:
            raise InvalidRequest("--tail must be >= 0")
        if self.max_lines < 1:
            raise InvalidRequest("--max-lines must be >= 1")

    def for_task(self, task_id: str) -> MonitorConfig:
        """The stream request of one of the tasks (its place in ``after``, or its history)."""
        after = dict(self.after).get(task_id)
        return MonitorConfig(
            task_id,
            master=self.master,
            user=self.user,
            tail=self.tail if after is None else None,
            after=after,
            follow=self.follow,
            lossless=self.lossless,
            line_filter=self.line_filter,
        )


async def resolve_tasks(client: MasterClient, config: MergedMonitorConfig) -> tuple[str, ...]:
    """The tasks to watch: those named, then (``--label``) those the master lists now with
    every one of the labels, oldest first. InvalidRequest when a label matches no task or more
    than the view takes, or ``--after`` names a task not watched."""
    ids = list(config.task_ids)
    if config.labels:
        found, more = await client.tasks(labels=config.labels, limit=LABEL_LIMIT)
        said = ",".join(f"{k}={v}" for k, v in config.labels)
        if not found:
            raise InvalidRequest(f"no task has the label(s) {said}")
        if more:
            raise InvalidRequest(
                f"more than {LABEL_LIMIT} tasks have the label(s) {said}: at most {MAX_TASKS} "
                "in one view (add a label, or name the tasks)"
            )
        ids += [info.task_id for info in reversed(found)]
    task_ids = parse_task_ids(ids)
    for task_id, _ in config.after:
        if task_id not in task_ids:
            raise InvalidRequest(f"--after names {task_id}, which is not one of the tasks")
    return task_ids


def task_sources(
    client: MasterClient, config: MergedMonitorConfig, task_ids: tuple[str, ...]
) -> dict[str, Source]:
    """One source per task: its gRPC log stream, fed batch by batch."""

    def source(task_id: str) -> Source:
        async def run(feed: Feed) -> None:
            request = config.for_task(task_id)
            async with contextlib.aclosing(log_stream(client, request)) as batches:
                async for batch in batches:
                    await feed(batch)

        return run

    return {task_id: source(task_id) for task_id in task_ids}


def run_merged_monitor(config: MergedMonitorConfig, *, plain: bool) -> int:
    """Watch the tasks: plain lines on stdout, or the TUI; returns the exit code."""
    if plain:
        return asyncio.run(_plain(config))
    from master.tui.merged_app import run_merged_tui  # Textual: only for the terminal view

    return run_merged_tui(config)


async def _plain(config: MergedMonitorConfig) -> int:
    from master.merged_plain import TaggedPrinter
    from master.plain import is_terminal
    from shared.merge_driver import merge_sources

    async with MasterClient(config.master) as client:
        await client.wait_connected(CONNECT_TIMEOUT)
        task_ids = await resolve_tasks(client, config)
        terminal = is_terminal(sys.stdout)
        printer = TaggedPrinter(
            task_ids,
            sys.stdout,
            sys.stderr,
            timestamps=config.timestamps,
            clean=not config.raw and terminal,
            colour=terminal,
        )
        ends = await merge_sources(task_sources(client, config, task_ids), printer.take)
    return exit_code_for_all(ends.values())
