"""10. Many tasks: 150 tasks on one worker, each writing a line every 100 ms, all followed.

Latency (Docker's timestamp -> WebSocket client) of the first task started against the last.
Target: last <= 2x first. dockerd follows each log with one inotify instance; past the host's
fs.inotify.max_user_instances (128 by default) it polls, which the worker reports at start-up.
The benchmark raises the limit to 1024 as the worker advises when it is lower and we are root
(restored afterwards); otherwise it runs at the host's limit. (At 128, on this machine, the
last task's p50 was 128-137 ms against the first's 5-20 ms: bench/PROFILES.md.)
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from websockets.asyncio.client import connect

from bench.clients import auth_headers
from bench.harness import Result, median, percentile, start_cluster, ts_seconds
from master.master_client import MasterClient
from shared.model import TaskSpec
from worker.hostcheck import INOTIFY_INSTANCES, read_inotify_limit

TASKS = 150
WINDOW = 6.0  # seconds of output measured once every task runs and is followed
RAISED = 1024
SCRIPT = 'i=1; while [ $i -le 1200 ]; do echo "seq=$i"; usleep 100000; i=$((i+1)); done'


def measure() -> dict[str, float]:
    cluster = start_cluster()
    try:
        return asyncio.run(_measure(cluster))
    finally:
        cluster.stop()


async def _measure(cluster) -> dict[str, float]:
    """Start the tasks in order (10 at a time), follow each as soon as it runs, then compare the
    latency of lines written in a common window after the last task started."""
    followers = []
    async with MasterClient(cluster.master.address) as client:
        started = time.monotonic()
        for i in range(0, TASKS, 10):
            infos = await asyncio.gather(
                *(
                    client.run(
                        TaskSpec(f"task-bench{j:04d}", "logcast/busybox:test", ("sh", "-c", SCRIPT))
                    )
                    for j in range(i, i + 10)
                )
            )
            followers += [
                asyncio.create_task(_timed(cluster.master.http, info.task_id)) for info in infos
            ]
        spawn = time.monotonic() - started
    window_start = time.time() + 2.0
    await asyncio.sleep(2.0 + WINDOW)
    for f in followers:
        f.cancel()
    samples = await asyncio.gather(*followers, return_exceptions=True)
    lags = []
    for timed in samples:
        assert isinstance(timed, list), timed
        lags.append([lag for ts, lag in timed if window_start <= ts < window_start + WINDOW])
    first, last = percentile(lags[0], 50) * 1000, percentile(lags[-1], 50) * 1000
    per_task = [percentile(x, 50) * 1000 for x in lags]
    return {
        "first_task_p50_ms": first,
        "last_task_p50_ms": last,
        "median_task_p50_ms": median(per_task),
        "worst_task_p50_ms": max(per_task),
        "lines_in_window": float(sum(len(x) for x in lags)),
        "start_150_tasks_s": spawn,
    }


async def _timed(http: str, task_id: str) -> list[tuple[float, float]]:
    """(Docker timestamp, receive time - timestamp) of every line until cancelled."""
    out: list[tuple[float, float]] = []
    try:
        async with connect(
            f"ws://{http}/logs/{task_id}?batch=1", max_size=None, additional_headers=auth_headers()
        ) as ws:
            async for message in ws:
                now = time.time()
                frame = json.loads(message)
                if frame["type"] == "batch":
                    for ln in frame["lines"]:
                        ts = ts_seconds(ln["timestamp"])
                        out.append((ts, now - ts))
    except asyncio.CancelledError:
        pass
    return out


def run(cluster: object = None, rounds: int = 1) -> Result:
    limit = read_inotify_limit()
    raise_it = limit is not None and limit < RAISED and os.geteuid() == 0
    if raise_it:  # as the worker advises at start-up
        INOTIFY_INSTANCES.write_text(f"{RAISED}\n")
    try:
        at = measure()
    finally:
        if raise_it:
            INOTIFY_INSTANCES.write_text(f"{limit}\n")
    used = RAISED if raise_it else limit
    print(f"    limit {used}: {at}", flush=True)
    ratio = at["last_task_p50_ms"] / at["first_task_p50_ms"]
    return Result(
        10,
        "many tasks: 150 followed on one worker",
        f"last task p50 {at['last_task_p50_ms']:.1f} ms"
        + (f" (inotify limit raised from {limit} to {RAISED})" if raise_it else ""),
        f"first task p50 {at['first_task_p50_ms']:.1f} ms",
        ratio,
        "last <= 2x first",
        ratio <= 2.0,
        raw={f"inotify limit {used}": at},
    )
