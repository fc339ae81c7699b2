"""9. Scale: 1,000 concurrent WebSocket monitors of one task writing ~1,000 lines/s for 10 s.

Every monitor must get every line, in order, and the end; the master's CPU (from /proc) over
the run, divided by the wall time, must stay <= 1 core.
"""

from __future__ import annotations

import asyncio
import time

from bench.clients import follow_ws_light
from bench.harness import Cluster, Result, cpu_seconds, median, run_task

MONITORS = 1000
BLOCKS = 60  # 100 lines every 100 ms: ~1,000 lines/s for 6 s
LINES = BLOCKS * 100
SCRIPT = (
    f"sleep 5; i=0; while [ $i -lt {BLOCKS} ]; do "
    'seq $((i*100+1)) $(((i+1)*100)) | sed "s/^/seq=/"; usleep 98000; i=$((i+1)); done'
)


def one_round(cluster: Cluster) -> dict[str, float]:
    task = run_task(cluster, SCRIPT)

    async def go() -> tuple[list, float, float]:
        opened = [asyncio.Event() for _ in range(MONITORS)]
        followers = []
        for ev in opened:  # connect in waves, all before the first line (5 s)
            followers.append(asyncio.create_task(follow_ws_light(cluster.master.http, task, ev)))
            if len(followers) % 50 == 0:
                await asyncio.gather(
                    *(e.wait() for e in opened[len(followers) - 50 : len(followers)])
                )
        await asyncio.gather(*(e.wait() for e in opened))
        cpu0, t0 = cpu_seconds(cluster.master.pid), time.monotonic()
        results = await asyncio.gather(*followers)
        return results, cpu_seconds(cluster.master.pid) - cpu0, time.monotonic() - t0

    results, cpu, wall = asyncio.run(go())
    complete = sum(1 for r in results if r.lines == LINES and r.in_order and r.status == "success")
    return {"complete_monitors": complete, "master_cores": cpu / wall, "wall_s": wall}


def run(cluster: Cluster, rounds: int = 3) -> Result:
    runs = []
    for r in range(rounds):
        figures = one_round(cluster)
        print(f"    round {r + 1}: {figures}", flush=True)
        runs.append(figures)
    cores = median([x["master_cores"] for x in runs])
    complete = min(x["complete_monitors"] for x in runs)
    met = complete == MONITORS and cores <= 1.0
    return Result(
        9,
        "scale: 1,000 WebSocket monitors at ~1,000 lines/s",
        f"{complete}/{MONITORS} monitors got every line; master {cores:.2f} cores",
        "-",
        None,
        "every line to every monitor; master <= 1 core",
        met,
        raw={"rounds": runs},
    )
