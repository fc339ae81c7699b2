"""7. Memory: worker RSS per followed task, and master RSS per idle WebSocket viewer.

Worker: 25 tasks each print 1,000 lines of 100 bytes and then wait; each is followed by one
WebSocket viewer (so the worker holds a full 1000-line ring and one subscription per task).
Per task = worker RSS growth / 25 (from after one task was followed and stopped: what a worker
allocates once, at its first task, is not counted), against the ring's payload (100 KB).
Master: 1,000 WebSocket viewers connect to one quiet task. Per viewer = RSS growth / 1000.
Targets (issue 12's): <= 2x payload per task; <= 16 KiB per viewer. (Benchmark 13 measures
viewers at scale: 10,000 across 100 tasks.)
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect

from bench.clients import auth_headers, viewer
from bench.harness import Cluster, Result, rss_bytes, run_task, start_tasks

TASKS = 25
VIEWERS = 1000
PAYLOAD = 1000 * 100
LINE = "x" * 94  # "seq=N " + padding: ~100 bytes
TASK = f"seq 1 1000 | sed 's/^/{LINE[:88]} /'; sleep 600"


async def _follow_until_quiet(http: str, task: str) -> object:
    ws = await connect(
        f"ws://{http}/logs/{task}?batch=1", max_size=None, additional_headers=auth_headers()
    )
    got = 0
    while got < 1000:
        message = await ws.recv()
        got += str(message).count('"seq":')
    return ws


def worker_per_task(cluster: Cluster) -> dict[str, float]:
    # one task followed and stopped first: what the worker loads and allocates once, at its
    # first task (modules imported on first use, its thread pool), is not a task's cost
    warm = asyncio.run(start_tasks(cluster, TASK, 1))

    async def follow_one() -> None:
        ws = await _follow_until_quiet(cluster.master.http, warm[0])
        await ws.close()  # type: ignore[attr-defined]

    asyncio.run(follow_one())
    _stop(cluster, warm)
    before = rss_bytes(cluster.worker.pid)
    tasks = asyncio.run(start_tasks(cluster, TASK, TASKS, at_once=TASKS))

    async def follow_all() -> float:
        viewers = await asyncio.gather(
            *(_follow_until_quiet(cluster.master.http, t) for t in tasks)
        )
        await asyncio.sleep(2)
        after = rss_bytes(cluster.worker.pid)
        for ws in viewers:
            await ws.close()  # type: ignore[attr-defined]
        return after

    after = asyncio.run(follow_all())
    _stop(cluster, tasks)
    return {"bytes_per_task": (after - before) / TASKS}


def master_per_viewer(cluster: Cluster) -> dict[str, float]:
    task = run_task(cluster, "echo ready; sleep 600")

    async def connect_all() -> tuple[int, int]:
        first = await viewer(cluster.master.http, task)  # the relay exists before measuring
        await asyncio.sleep(1)
        before = rss_bytes(cluster.master.pid)
        viewers = []
        for _ in range(VIEWERS // 100):
            viewers += await asyncio.gather(
                *(viewer(cluster.master.http, task) for _ in range(100))
            )
        await asyncio.sleep(2)
        after = rss_bytes(cluster.master.pid)
        for ws in [first, *viewers]:
            await ws.close()
        return before, after

    before, after = asyncio.run(connect_all())
    _stop(cluster, [task])
    return {"bytes_per_viewer": (after - before) / VIEWERS}


def _stop(cluster: Cluster, tasks: list[str]) -> None:
    import subprocess

    from bench.harness import BIN

    procs = [
        subprocess.Popen(
            [str(BIN / "master"), "stop", t, "--master", cluster.master.address],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for t in tasks
    ]
    for p in procs:
        p.wait()


def run(cluster: Cluster, rounds: int = 1) -> Result:
    per_task = worker_per_task(cluster)["bytes_per_task"]
    per_viewer = master_per_viewer(cluster)["bytes_per_viewer"]
    task_target = 2 * PAYLOAD
    met = per_task <= task_target and per_viewer <= 16 * 1024
    return Result(
        7,
        "memory: worker per followed task; master per idle viewer",
        f"{per_task / 1024:,.0f} KiB per task; {per_viewer / 1024:,.1f} KiB per viewer",
        f"ring payload {PAYLOAD / 1024:,.0f} KiB per task",
        per_task / PAYLOAD,
        f"<= 2x payload ({task_target / 1024:,.0f} KiB) per task; <= 16 KiB per viewer",
        met,
        raw={"bytes_per_task": per_task, "bytes_per_viewer": per_viewer},
    )
