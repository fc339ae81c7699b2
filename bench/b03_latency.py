"""3. Latency: one line every 10 ms; Docker's timestamp -> client receive time.

logcast: a WebSocket client via worker -> master. direct: a Python follower of the Docker API
(aiohttp, the same frame decoder), in the benchmark process. Interleaved rounds of 300 lines.
Targets: p50 <= direct + 1 ms, p99 <= direct + 2 ms.

Row 3e (when bench/run has an embedded master, `master serve --local-worker`, the quick
start's shape: its master calls its worker in process, no gRPC hop): the same client through
it, in the same rounds. Targets (issue 12's): p50 <= direct + 0.5 ms, p99 <= direct + 1.5 ms.
"""

from __future__ import annotations

import asyncio
import time

from bench.clients import docker_rm, docker_run, follow_ws
from bench.harness import (
    Cluster,
    Result,
    interleave,
    median,
    percentile,
    run_task,
    spread,
    ts_seconds,
)
from worker.docker_logs import DockerLogAPI
from worker.frames import DockerLogDecoder

LINES = 300
SCRIPT = f'sleep 1; i=1; while [ $i -le {LINES} ]; do echo "seq=$i"; usleep 10000; i=$((i+1)); done'


def logcast(cluster: Cluster) -> dict:
    task = run_task(cluster, SCRIPT)
    got = asyncio.run(follow_ws(cluster.master.http, task, expect=LINES, lags=True))
    assert got.in_order
    return figures(got.lags[10:])  # skip the first lines (connection warm-up)


def direct() -> dict:
    container = docker_run(SCRIPT)

    async def follow() -> list[float]:
        api = DockerLogAPI()
        decoder = DockerLogDecoder(tty=False)
        lags = []
        try:
            async for chunk in api.chunks(container):
                now = time.time()
                lags += [now - ts_seconds(ln.timestamp) for ln in decoder.feed(chunk)]
        finally:
            await api.close()
        return lags

    try:
        lags = asyncio.run(follow())[10:]
    finally:
        docker_rm(container)
    return figures(lags)


def figures(lags: list[float]) -> dict:
    """p50 and p99 in ms, and every sample (ms; bench/chart.py draws their distribution)."""
    return {
        "p50_ms": percentile(lags, 50) * 1000,
        "p99_ms": percentile(lags, 99) * 1000,
        "lags_ms": [round(lag * 1000, 3) for lag in lags],
    }


def run(cluster: Cluster, rounds: int = 3, embedded: Cluster | None = None) -> list[Result]:
    cases = {"logcast": lambda: logcast(cluster)}
    if embedded is not None:
        cases["logcast (embedded)"] = lambda: logcast(embedded)
    runs = interleave(rounds, {**cases, "direct": direct})
    ours = {k: median([r[k] for r in runs["logcast"]]) for k in ("p50_ms", "p99_ms")}
    theirs = {k: median([r[k] for r in runs["direct"]]) for k in ("p50_ms", "p99_ms")}
    met = ours["p50_ms"] <= theirs["p50_ms"] + 1 and ours["p99_ms"] <= theirs["p99_ms"] + 2
    result = Result(
        3,
        "latency: one line per 10 ms",
        f"p50 {ours['p50_ms']:.2f} ms, p99 {ours['p99_ms']:.2f} ms",
        f"p50 {theirs['p50_ms']:.2f} ms, p99 {theirs['p99_ms']:.2f} ms (Docker API follower)",
        None,
        "p50 <= direct + 1 ms; p99 <= direct + 2 ms",
        met,
        raw=runs,
        notes=f"added: p50 +{ours['p50_ms'] - theirs['p50_ms']:.2f} ms, "
        f"p99 +{ours['p99_ms'] - theirs['p99_ms']:.2f} ms",
    )
    if embedded is None:
        return [result]
    mine = {k: median([r[k] for r in runs["logcast (embedded)"]]) for k in ("p50_ms", "p99_ms")}
    added = {k: mine[k] - theirs[k] for k in mine}
    return [
        result,
        Result(
            "3e",
            "latency through the embedded default (master --local-worker: one process, its "
            "worker called in process), same rounds",
            f"p50 {mine['p50_ms']:.2f} ms, p99 {mine['p99_ms']:.2f} ms",
            f"p50 {theirs['p50_ms']:.2f} ms, p99 {theirs['p99_ms']:.2f} ms (Docker API follower)",
            None,
            "p50 <= direct + 0.5 ms; p99 <= direct + 1.5 ms",
            added["p50_ms"] <= 0.5 and added["p99_ms"] <= 1.5,
            raw={"logcast (embedded)": runs["logcast (embedded)"]},
            notes=f"added: p50 +{added['p50_ms']:.2f} ms, p99 +{added['p99_ms']:.2f} ms",
            spread="p50 "
            + spread([r["p50_ms"] for r in runs["logcast (embedded)"]], "{:.2f}")
            + " ms vs "
            + spread([r["p50_ms"] for r in runs["direct"]], "{:.2f}")
            + " ms",
        ),
    ]
