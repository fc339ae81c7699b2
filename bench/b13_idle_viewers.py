"""13. Idle audience at scale: 10,000 WebSocket viewers across 100 quiet tasks.

100 tasks each print 100 lines and wait; 100 viewers follow each (10,000 in all, connected in
waves of 500; each has its history before the next wave). Measured on the master: RSS growth
per viewer (the first viewer of each task is connected before, so the tasks' relays are not
counted), its CPU while the 10,000 sit idle (5 s), and a new viewer's time to its first line
(connect to the history frame, 20 viewers one after another, on random tasks) with the 10,000
connected against the same with only the first 100. Own cluster: the master allows 10,100
WebSocket connections (its default cap is 10,000 in all).
Targets: <= 16 KiB per viewer; a new viewer's first line no slower than 2x with 10,000 idle
viewers connected than with 100.
"""

from __future__ import annotations

import asyncio
import random
import time

from websockets.asyncio.client import ClientConnection

from bench.clients import viewer
from bench.harness import (
    Cluster,
    Result,
    cpu_seconds,
    median,
    percentile,
    rss_bytes,
    start_cluster,
    start_tasks,
)
from master.master_client import MasterClient

TASKS = 100
VIEWERS = 10_000
WAVE = 500
PROBES = 20
# stops at once when stopped (the shell, PID 1 in its container, would ignore SIGTERM)
SCRIPT = "trap 'exit 0' TERM; seq 1 100 | sed 's/^/seq=/'; while :; do sleep 1; done"


async def _first_line_s(http: str, task: str) -> float:
    """Connect to the first frame with lines, closed afterwards."""
    t0 = time.perf_counter()
    ws = await viewer(http, task)
    took = time.perf_counter() - t0
    await ws.close()
    return took


async def _probe(http: str, tasks: list[str]) -> list[float]:
    return [await _first_line_s(http, random.choice(tasks)) for _ in range(PROBES)]


async def _measure(cluster: Cluster) -> dict:
    http = cluster.master.http
    tasks = await start_tasks(cluster, SCRIPT, TASKS)
    async with MasterClient(cluster.master.address) as client:
        viewers: list[ClientConnection] = []
        try:
            viewers += await asyncio.gather(*(viewer(http, t) for t in tasks))  # relays
            await asyncio.sleep(1)
            few = await _probe(http, tasks)
            rss0 = rss_bytes(cluster.master.pid)
            t0 = time.monotonic()
            print(f"    {len(viewers)} viewers; connecting the rest", flush=True)
            while len(viewers) < VIEWERS:
                n = min(WAVE, VIEWERS - len(viewers))
                wave = [tasks[(len(viewers) + i) % TASKS] for i in range(n)]
                viewers += await asyncio.gather(*(viewer(http, t) for t in wave))
            connect_s = time.monotonic() - t0
            print(f"    {len(viewers)} viewers in {connect_s:.0f} s", flush=True)
            await asyncio.sleep(2)
            rss1 = rss_bytes(cluster.master.pid)
            cpu0, w0 = cpu_seconds(cluster.master.pid), time.monotonic()
            await asyncio.sleep(5)
            idle_cores = (cpu_seconds(cluster.master.pid) - cpu0) / (time.monotonic() - w0)
            many = await _probe(http, tasks)
            open_now = sum(1 for ws in viewers if ws.close_code is None)
        finally:
            for i in range(0, len(viewers), WAVE):
                await asyncio.gather(*(ws.close() for ws in viewers[i : i + WAVE]))
            await asyncio.gather(*(client.stop(t) for t in tasks), return_exceptions=True)
    added = VIEWERS - TASKS
    return {
        "viewers": len(viewers),
        "still_open": open_now,
        "bytes_per_viewer": (rss1 - rss0) / added,
        "connect_s": connect_s,
        "idle_cores": idle_cores,
        "first_line_ms_100": [s * 1000 for s in few],
        "first_line_ms_10000": [s * 1000 for s in many],
    }


def run(cluster: object = None, rounds: int = 1) -> Result:
    own = start_cluster(master_args=("--max-websockets", str(VIEWERS + TASKS)))
    try:
        got = asyncio.run(_measure(own))
    finally:
        own.stop()
    per_viewer = got["bytes_per_viewer"]
    few, many = got["first_line_ms_100"], got["first_line_ms_10000"]
    ratio = median(many) / median(few)
    met = got["still_open"] == VIEWERS and per_viewer <= 16 * 1024 and ratio <= 2
    return Result(
        13,
        "idle audience: 10,000 WebSocket viewers across 100 tasks",
        f"{per_viewer / 1024:.1f} KiB per viewer (master RSS); {got['still_open']:,} of "
        f"{VIEWERS:,} open after connecting in {got['connect_s']:.0f} s; master "
        f"{got['idle_cores']:.3f} cores while they idle; a new viewer's first line "
        f"{median(many):.1f} ms (p95 {percentile(many, 95):.1f})",
        f"a new viewer's first line with 100 viewers: {median(few):.1f} ms "
        f"(p95 {percentile(few, 95):.1f})",
        ratio,
        "<= 16 KiB per viewer; first line <= 2x",
        met,
        spread=f"first line {min(many):.1f}-{max(many):.1f} ms vs {min(few):.1f}-{max(few):.1f}",
        raw=got,
    )
