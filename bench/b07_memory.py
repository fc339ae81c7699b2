"""7. Memory: worker RSS per followed task, and master RSS per idle WebSocket viewer.

Worker: 25 tasks each print 1,000 lines of 100 bytes and then wait; each is followed by one
WebSocket viewer (so the worker holds a full 1000-line ring and one subscription per task).
Per task = worker RSS growth / 25 (from after one task was followed and stopped: what a worker
allocates once, at its first task, is not counted), against the ring's payload (100 KB).
Master: 1,000 WebSocket viewers connect to one quiet task. Per viewer = RSS growth / 1000.
Targets (issue 12's): <= 2x payload per task; <= 16 KiB per viewer. (Benchmark 13 measures
viewers at scale: 10,000 across 100 tasks.)

Row 7r: the ring alone, in a fresh process of its own: 100 hubs each given 1,000 application
lines of ~100 bytes (benchmark 11's), RSS growth per hub with the lines packed and compressed
(what the worker's packer does to a quiet task's ring, shared/ring.py), packed only, and kept
as line objects. Reported, no target: the worker's figure above is measured 2 s after 25 tasks
filled at once, before the packer runs (the lines its viewers took are already kept as the
store's encoding: LogHub.pack_taken).
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys

from websockets.asyncio.client import connect

from bench.b11_store import realistic_lines
from bench.clients import auth_headers, viewer
from bench.harness import Cluster, Result, rss_bytes, run_task, start_tasks
from shared.hub import HubLimits, LogHub

RING_HUBS = 100

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


def ring_per_hub(case: str) -> float:
    """RSS bytes per hub of :data:`RING_HUBS` hubs of 1,000 ~100-byte application lines
    (benchmark 11's) in this process: kept as line objects (``objects``), packed as each hub
    fills (``packed``), or packed and then compressed (``compressed``: what the worker's
    packer does to a quiet task's ring, shared/ring.py). Row 7r."""
    hubs = []
    gc.collect()
    before = rss_bytes(os.getpid())
    for t in range(RING_HUBS):
        hub = LogHub(HubLimits())
        hub.publish(realistic_lines(1000, seed=t))
        if case == "packed":
            hub.store.pack_before(hub.next_seq)
        elif case == "compressed":
            hub.pack_unread()  # (the first call marks what is there)
            hub.pack_unread()
        hubs.append(hub)
    gc.collect()
    return (rss_bytes(os.getpid()) - before) / RING_HUBS


def ring_payload() -> float:
    """The content bytes of a ring of row 7r (the same lines in every case)."""
    return sum(len(x.content) for t in range(RING_HUBS) for x in realistic_lines(1000, t)) / (
        RING_HUBS
    )


def ring_row() -> Result:
    """Row 7r: each case in a fresh process (RSS growth is what that process's allocator did)."""
    per_hub = {}
    for case in ("objects", "packed", "compressed"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.b07_memory", case],
            capture_output=True,
            text=True,
            check=True,
        )
        per_hub[case] = float(out.stdout)
    payload = ring_payload()
    per_hub["payload"] = payload
    return Result(
        "7r",
        "a quiet task's ring alone (1,000 application lines of ~100 bytes, 100 rings in one "
        "process)",
        f"packed and compressed (the packer, after a quiet interval): "
        f"{per_hub['compressed'] / 1024:,.0f} KiB per ring; packed: "
        f"{per_hub['packed'] / 1024:,.0f} KiB",
        f"as line objects: {per_hub['objects'] / 1024:,.0f} KiB per ring (payload "
        f"{payload / 1024:,.0f} KiB)",
        per_hub["compressed"] / payload,
        "- (reported: what packing saves)",
        None,
        raw=per_hub,
    )


def run(cluster: Cluster, rounds: int = 1) -> list[Result]:
    per_task = worker_per_task(cluster)["bytes_per_task"]
    per_viewer = master_per_viewer(cluster)["bytes_per_viewer"]
    task_target = 2 * PAYLOAD
    met = per_task <= task_target and per_viewer <= 16 * 1024
    return [
        Result(
            7,
            "memory: worker per followed task; master per idle viewer",
            f"{per_task / 1024:,.0f} KiB per task; {per_viewer / 1024:,.1f} KiB per viewer",
            f"ring payload {PAYLOAD / 1024:,.0f} KiB per task",
            per_task / PAYLOAD,
            f"<= 2x payload ({task_target / 1024:,.0f} KiB) per task; <= 16 KiB per viewer",
            met,
            raw={"bytes_per_task": per_task, "bytes_per_viewer": per_viewer},
        ),
        ring_row(),
    ]


if __name__ == "__main__":  # one case of row 7r, in a process of its own
    print(ring_per_hub(sys.argv[1]))
