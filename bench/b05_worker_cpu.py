"""5. Worker CPU per line, with one master subscribed (one WebSocket viewer), for a 200,000-line
burst, against a bare Python reader of the same kind of container (bench/bare_reader.py).

Both are separate processes; their CPU comes from /proc (worker) and the child's rusage
(bare reader). Target: worker <= 2x the bare reader's CPU per line. The worker's CPU is read
once it has settled after the task's end (the store's writer thread may still be committing).

Row 5s (when bench/run has a second cluster whose worker runs with `--no-store`): the same
worker case with the store off, in the same rounds (store on, store off, bare reader, ...);
ratio: store-off CPU / store-on CPU per round (>= 0.95: the store adds at most ~5%).

Row 5m (when bench/run has a cluster whose worker runs with `--metrics`, so it counts its log
flow for Prometheus): the same worker case with metrics on, in the same rounds; ratio:
metrics-off CPU / metrics-on CPU per round (>= 0.97: metrics add at most ~3%). Each metrics
round also checks the worker's `logcast_worker_docker_lines_total` grew by the burst's lines.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
import urllib.request

from bench.clients import docker_rm, docker_run, follow_ws_light
from bench.harness import (
    ROOT,
    Cluster,
    Result,
    cpu_seconds,
    interleave,
    median,
    paired_ab,
    run_task,
    spread,
    store_ab,
)

LINES = 200_000
SCRIPT = f'sleep 1; seq 1 {LINES} | sed "s/^/seq=/"'


def worker(cluster: Cluster) -> dict[str, float]:
    counted = docker_lines(cluster)
    before = cpu_seconds(cluster.worker.pid)
    task = run_task(cluster, SCRIPT)
    got = asyncio.run(follow_ws_light(cluster.master.http, task))
    assert got.lines == LINES and got.in_order
    cpu = settled_cpu(cluster.worker.pid) - before
    if cluster.metrics:
        assert docker_lines(cluster) - counted == LINES  # the counters count every line
    return {"us_per_line": cpu / LINES * 1e6}


def docker_lines(cluster: Cluster) -> float:
    """The worker's ``logcast_worker_docker_lines_total`` (all streams), 0 without metrics."""
    if not cluster.metrics:
        return 0.0
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://{cluster.metrics}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "logcast_worker_docker_lines_total"
    )


def settled_cpu(pid: int, timeout: float = 5.0) -> float:
    """The process's CPU seconds once it has (nearly) stopped using CPU: < 10 ms in 0.2 s."""
    last = cpu_seconds(pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return now
        last = now
    return last


def bare() -> dict[str, float]:
    container = docker_run(SCRIPT)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "bare_reader.py"), container],
            capture_output=True,
            text=True,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        docker_rm(container)
    assert int(out.stdout) == LINES, out.stdout
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"us_per_line": cpu / LINES * 1e6}


def run(
    cluster: Cluster,
    rounds: int = 3,
    nostore: Cluster | None = None,
    metrics: Cluster | None = None,
) -> list[Result]:
    cases = {"worker": lambda: worker(cluster)}
    if nostore is not None:
        cases["worker (no store)"] = lambda: worker(nostore)
    if metrics is not None:
        cases["worker (metrics)"] = lambda: worker(metrics)
    runs = interleave(rounds, {**cases, "bare reader": bare})
    ours = median([r["us_per_line"] for r in runs["worker"]])
    theirs = median([r["us_per_line"] for r in runs["bare reader"]])
    ratio = ours / theirs
    result = Result(
        5,
        "worker CPU per line (one master subscribed)",
        f"{ours:.2f} us/line",
        f"{theirs:.2f} us/line (bare Python reader)",
        ratio,
        "<= 2x",
        ratio <= 2.0,
        raw=runs,
        notes="the bare reader's figure includes interpreter start-up (~0.1 s CPU)",
        spread=f"{spread([r['us_per_line'] for r in runs['worker']], '{:.2f}')} vs "
        f"{spread([r['us_per_line'] for r in runs['bare reader']], '{:.2f}')} us/line",
    )
    rows = [result]
    if nostore is not None:
        rows.append(
            store_ab(
                "5s",
                "worker CPU per line with the store on vs off",
                [r["us_per_line"] for r in runs["worker"]],
                [r["us_per_line"] for r in runs["worker (no store)"]],
                unit="us/line",
                fmt="{:.2f}",
                higher_is_better=False,
            )
        )
    if metrics is not None:
        rows.append(
            paired_ab(
                "5m",
                "worker CPU per line with metrics on vs off",
                [r["us_per_line"] for r in runs["worker (metrics)"]],
                [r["us_per_line"] for r in runs["worker"]],
                labels=("metrics on (--metrics)", "metrics off"),
                keys=("metrics_on", "metrics_off"),
                at_least=0.97,
                unit="us/line",
                fmt="{:.2f}",
                higher_is_better=False,
            )
        )
    return rows
