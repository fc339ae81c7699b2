"""1. Burst: 200,000 lines as fast as a task can write them, followed from the start.

logcast: a WebSocket client (batch=1) follows the task from its first line.
direct: `docker run -d` + `docker logs -f` of the identical command.
Figure: lines/s from the first line's Docker timestamp to the final message (EOF), every line
received in order. Ratio: logcast / direct; target >= 0.8.

Row 1s (when bench/run has a second cluster whose worker runs with `--no-store`): the same
logcast case with the worker's store off, in the same rounds (store on, store off, direct, ...);
ratio: store on / store off, per round; target >= 0.95.
"""

from __future__ import annotations

import asyncio

from bench.clients import docker_rm, docker_run, follow_docker, follow_ws
from bench.harness import Cluster, Result, interleave, median, run_task, spread, store_ab

LINES = 200_000
SCRIPT = f'sleep 1; seq 1 {LINES} | sed "s/^/seq=/"'


def logcast(cluster: Cluster) -> dict[str, float]:
    task = run_task(cluster, SCRIPT)
    got = asyncio.run(follow_ws(cluster.master.http, task, expect=LINES))
    assert got.in_order and got.status == "success", got
    return {"lines_per_s": LINES / (got.done_at - got.first_ts)}


def direct() -> dict[str, float]:
    container = docker_run(SCRIPT)
    try:
        got = asyncio.run(follow_docker(container))
    finally:
        docker_rm(container)
    assert got.lines == LINES, got.lines
    return {"lines_per_s": LINES / (got.done_at - got.first_ts)}


def run(cluster: Cluster, rounds: int = 3, nostore: Cluster | None = None) -> list[Result]:
    cases = {"logcast": lambda: logcast(cluster)}
    if nostore is not None:
        cases["logcast (no store)"] = lambda: logcast(nostore)
    runs = interleave(rounds, {**cases, "direct": direct})
    ours = median([r["lines_per_s"] for r in runs["logcast"]])
    theirs = median([r["lines_per_s"] for r in runs["direct"]])
    ratio = ours / theirs
    result = Result(
        1,
        "burst: 200k lines, WebSocket client from the start",
        f"{ours:,.0f} lines/s",
        f"{theirs:,.0f} lines/s (docker logs -f)",
        ratio,
        ">= 0.8x",
        ratio >= 0.8,
        raw=runs,
        spread=f"{spread([r['lines_per_s'] for r in runs['logcast']])} vs "
        f"{spread([r['lines_per_s'] for r in runs['direct']])} lines/s",
    )
    if nostore is None:
        return [result]
    return [
        result,
        store_ab(
            "1s",
            "burst with the store on vs off",
            [r["lines_per_s"] for r in runs["logcast"]],
            [r["lines_per_s"] for r in runs["logcast (no store)"]],
            unit="lines/s",
        ),
    ]
