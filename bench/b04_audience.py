"""4. Audience: dockerd CPU seconds while viewers follow one task through a 100,000-line burst.

Cases: 1 WebSocket monitor and 100 WebSocket monitors (interleaved rounds), and once 20 direct
`docker logs -f` followers (what a one-stream-per-viewer viewer costs). dockerd's CPU is read
from /proc from the task's start until every viewer has the end. Target: 100 monitors <= 1.1x
of 1 monitor.

Every logcast monitor must see every line in order. The direct followers are only a
comparison: Docker (20.10 here) ends a `docker logs -f` stream when the container exits, even
while its reader is behind, so they may stop short of the last line; the row says how many
lines the slowest of them saw, and its dockerd figure is for that much.
"""

from __future__ import annotations

import asyncio

from bench.clients import docker_rm, docker_run, follow_docker, follow_ws_light
from bench.harness import Cluster, Result, cpu_seconds, dockerd_pid, interleave, median, run_task

LINES = 100_000
SCRIPT = f'sleep 2; seq 1 {LINES} | sed "s/^/seq=/"'


def monitors(cluster: Cluster, n: int) -> dict[str, float]:
    pid = dockerd_pid()
    before = cpu_seconds(pid)
    task = run_task(cluster, SCRIPT)

    async def all_of_them() -> list:
        return await asyncio.gather(*(follow_ws_light(cluster.master.http, task) for _ in range(n)))

    results = asyncio.run(all_of_them())
    assert all(r.lines == LINES and r.in_order for r in results), [r.lines for r in results]
    return {"dockerd_cpu_s": cpu_seconds(pid) - before}


def direct(n: int) -> dict[str, float]:
    pid = dockerd_pid()
    before = cpu_seconds(pid)
    container = docker_run(SCRIPT)

    async def all_of_them() -> list:
        return await asyncio.gather(*(follow_docker(container) for _ in range(n)))

    try:
        results = asyncio.run(all_of_them())
    finally:
        docker_rm(container)
    return {"dockerd_cpu_s": cpu_seconds(pid) - before, "lines_min": min(r.lines for r in results)}


def run(cluster: Cluster, rounds: int = 3) -> Result:
    runs = interleave(
        rounds,
        {
            "1 monitor": lambda: monitors(cluster, 1),
            "100 monitors": lambda: monitors(cluster, 100),
        },
    )
    # the comparison (not the target) once: it costs dockerd ~30 s of CPU a round, and its
    # figure varies little (31-36 s over three rounds in the full run of 03:53)
    runs["20 docker logs -f"] = [direct(20)]
    print(f"    20 docker logs -f: {runs['20 docker logs -f'][0]}", flush=True)
    one, hundred, twenty = (
        median([r["dockerd_cpu_s"] for r in runs[k]])
        for k in ("1 monitor", "100 monitors", "20 docker logs -f")
    )
    ratio = hundred / one
    return Result(
        4,
        "audience: dockerd CPU through a 100k-line burst",
        f"100 monitors: {hundred:.2f} s dockerd CPU",
        f"1 monitor: {one:.2f} s; 20 docker logs -f: {twenty:.2f} s",
        ratio,
        "100 monitors <= 1.1x of 1 monitor",
        ratio <= 1.1,
        raw=runs,
        notes=(
            f"20 direct followers cost dockerd {twenty / one:.1f}x one logcast monitor; the"
            f" slowest of them saw {min(r['lines_min'] for r in runs['20 docker logs -f']):,.0f}"
            f" of {LINES:,} lines (Docker ends a follow when the container exits)"
        ),
    )
