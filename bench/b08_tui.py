"""8. TUI: `master monitor` (headless, `App.run_test()`) applying a 10,000 lines/s stream, against
Textual's own `Log.write_lines` in batches of 100.

Both run in this process for 3 s; CPU is this process's CPU time (time.process_time).
Target: CPU per line <= 2x.
"""

from __future__ import annotations

import asyncio
import time

from textual.app import App, ComposeResult
from textual.widgets import Log

from bench.harness import Result, interleave, median
from master.monitor import MonitorConfig
from master.tui.app import MonitorApp
from shared.model import STDERR, STDOUT, Batch, LogLine, TaskInfo, TaskStatus

SECONDS = 3.0
BATCH = 100
TICK = 0.01  # 100 lines every 10 ms: 10,000 lines/s
TS = "2026-11-22T19:41:43.606115068Z"


def _batches(n: int) -> list[list[LogLine]]:
    out = []
    for b in range(n):
        out.append(
            [
                LogLine(
                    b * BATCH + i + 1,
                    TS,
                    STDERR if i % 10 == 0 else STDOUT,
                    f"\x1b[32m[ok]\x1b[0m processing record {b * BATCH + i + 1}: some text",
                )
                for i in range(BATCH)
            ]
        )
    return out


async def _drive(push) -> tuple[int, float]:
    """Call push(lines) every TICK for SECONDS; return (lines, CPU seconds)."""
    batches = _batches(int(SECONDS / TICK))
    cpu = time.process_time()
    start = time.monotonic()
    for i, lines in enumerate(batches):
        push(lines)
        delay = start + (i + 1) * TICK - time.monotonic()
        await asyncio.sleep(max(0.0, delay))
    await asyncio.sleep(0.2)  # let the last refresh happen
    return sum(len(b) for b in batches), time.process_time() - cpu


def monitor() -> dict[str, float]:
    queue: asyncio.Queue[Batch | None] = asyncio.Queue()

    async def source():
        while (batch := await queue.get()) is not None:
            yield batch

    async def info() -> TaskInfo:
        return TaskInfo("task-123456", TaskStatus.RUNNING, worker="bench")

    async def go() -> tuple[int, float]:
        app = MonitorApp(MonitorConfig("task-123456"), source, info)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            lines, cpu = await _drive(lambda ls: queue.put_nowait(Batch(lines=ls)))
            queue.put_nowait(None)
            assert app.log_view.shown  # the monitor applied the stream
        return lines, cpu

    lines, cpu = asyncio.run(go())
    return {"us_per_line": cpu / lines * 1e6}


class _LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Log(max_lines=10_000)


def textual_log() -> dict[str, float]:
    async def go() -> tuple[int, float]:
        app = _LogApp()
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            log = app.query_one(Log)
            return await _drive(lambda ls: log.write_lines([ln.content for ln in ls]))

    lines, cpu = asyncio.run(go())
    return {"us_per_line": cpu / lines * 1e6}


def run(cluster: object = None, rounds: int = 3) -> Result:
    runs = interleave(rounds, {"monitor": monitor, "Log.write_lines": textual_log})
    ours = median([r["us_per_line"] for r in runs["monitor"]])
    theirs = median([r["us_per_line"] for r in runs["Log.write_lines"]])
    ratio = ours / theirs
    return Result(
        8,
        "TUI: master monitor at 10,000 lines/s",
        f"{ours:.2f} us/line",
        f"{theirs:.2f} us/line (Textual Log.write_lines, 100/batch)",
        ratio,
        "<= 2x",
        ratio <= 2.0,
        raw=runs,
    )
