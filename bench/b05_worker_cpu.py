"""5. Worker CPU per line, with one master subscribed (one WebSocket viewer), for a 200,000-line
burst, against a bare Python reader of the same kind of container (bench/bare_reader.py).

Both are separate processes; their CPU comes from /proc (worker) and the child's rusage
(bare reader). Target: worker <= 2x the bare reader's CPU per line. The worker's CPU is read
once it has settled after the task's end (the store's writer thread may still be committing).

Row 5s (when bench/run has a second cluster whose worker runs with `--no-store`): what the
store costs the worker per line, against the store-off worker's CPU per line. The same worker
case runs with the store off in the same rounds (store on, store off, bare reader, ...), but
that end-to-end A/B cannot resolve 5% either (per-round ratios from 0.6x to 1.1x, for the
reason row 5m gives). So the store's cost is measured in its two parts:
- its writer thread (compression, SQLite, commits), in the store-on worker itself: the CPU of
  the thread the store names `logstore` (``/proc/<pid>/task/*/comm``), per line, each round;
- its work on the event loop (``LogStore.append`` cutting and encoding each published batch,
  the commit callbacks), timed in this process on the worker's real batch sizes: the loop
  thread's CPU to publish 200,000 lines to a real store (in a temporary directory, its writer
  thread running) and send them as the gRPC stream does, against sending them alone (the
  store-off worker encodes each batch for the stream itself; with the store, the stream sends
  the store's encoding).
Ratio: off / (off + writer + loop), target >= 0.95 (the store adds at most 5%); the A/B's
medians and per-round ratios are in the row too.

Row 5m (when bench/run has a cluster whose worker runs with `--metrics`, so it counts its log
flow for Prometheus): what counting costs the worker per line, against its CPU per line.
The end-to-end A/B (the same worker case with metrics on, in the same rounds) cannot resolve
3% here: one configuration's CPU per line varies by -40%/+50% between rounds (how Docker's
chunks fall into batches). So the counting itself is timed in this process on the worker's
real batch sizes (lines sent / live batches, from the worker's own metrics in the metrics
rounds): ``FlowStats.read`` and ``FlowStats.delivered`` per batch, as the worker calls them.
Ratio: off / (off + counting cost), target >= 0.97 (metrics add at most 3%); the A/B's medians
and per-round ratios are in the row too. Each metrics round also checks that the worker's
`logcast_worker_docker_lines_total` grew by exactly the burst's lines.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
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
    thread_cpu_seconds,
)
from shared.convert import batch_to_bytes, batch_to_wire
from shared.model import STDOUT, Batch, LogLine
from worker.store import WRITER_THREAD, LogStore

LINES = 200_000
SCRIPT = f'sleep 1; seq 1 {LINES} | sed "s/^/seq=/"'


def worker(cluster: Cluster) -> dict[str, float]:
    counted = flow(cluster) if cluster.metrics else {}
    before = cpu_seconds(cluster.worker.pid)
    writer_before = thread_cpu_seconds(cluster.worker.pid, WRITER_THREAD)
    task = run_task(cluster, SCRIPT)
    got = asyncio.run(follow_ws_light(cluster.master.http, task))
    assert got.lines == LINES and got.in_order, (got.lines, got.dropped, got.gaps, got.status)
    cpu = settled_cpu(cluster.worker.pid) - before
    out = {"us_per_line": cpu / LINES * 1e6}
    if cluster.store:
        writer = thread_cpu_seconds(cluster.worker.pid, WRITER_THREAD) - writer_before
        out["writer_us_per_line"] = writer / LINES * 1e6
    if cluster.metrics:
        now = flow(cluster)
        read = (
            now["logcast_worker_docker_lines_total"] - counted["logcast_worker_docker_lines_total"]
        )
        assert read == LINES, read  # the counters count every line
        batches = (
            now["logcast_worker_fanout_latency_seconds_count"]
            - counted["logcast_worker_fanout_latency_seconds_count"]
        )
        out["lines_per_batch"] = LINES / max(batches, 1)
    return out


FLOW = ("logcast_worker_docker_lines_total", "logcast_worker_fanout_latency_seconds_count")


def flow(cluster: Cluster) -> dict[str, float]:
    """The worker's lines read from Docker and live batches sent (all labels summed)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://{cluster.metrics}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    totals = dict.fromkeys(FLOW, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += sample.value
    return totals


def counting_cost(lines_per_batch: float, repeat: int = 5) -> float:
    """Microseconds per line of the worker's flow counting (FlowStats.read when a batch is
    published, FlowStats.delivered when it is sent), on batches of ``lines_per_batch``
    lines like benchmark 5's; the best of ``repeat`` timings of 200,000 lines."""
    from shared.flowstats import FlowStats

    batches = burst_batches(lines_per_batch)
    best = float("inf")
    for _ in range(repeat):
        stats = FlowStats()
        t0 = time.process_time()
        for batch in batches:
            stats.read(batch.lines)
            stats.delivered("grpc", batch, live=True)
        best = min(best, time.process_time() - t0)
    return best / LINES * 1e6


def burst_batches(lines_per_batch: float) -> list[Batch]:
    """The burst's 200,000 lines (seq 1 ..) as the worker publishes them: batches of
    ``lines_per_batch`` lines, each line as Docker gives it (a timestamp, ``seq=N``)."""
    size = max(1, round(lines_per_batch))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    batches = []
    for start in range(1, LINES + 1, size):
        batch = Batch()
        batch.lines = [
            LogLine(i, f"{stamp}.{i:09d}Z", STDOUT, f"seq={i}")
            for i in range(start, min(start + size, LINES + 1))
        ]
        batches.append(batch)
    return batches


def store_loop_cost(lines_per_batch: float, repeat: int = 3) -> float:
    """Microseconds per line the store adds to the worker's event loop (see the module
    docstring): the best of ``repeat`` runs with a store against the best of ``repeat``
    without, interleaved. Below zero when the store saves the loop more than it costs it (the
    stream sends the store's encoding instead of encoding each batch itself)."""
    return asyncio.run(_store_loop_cost(lines_per_batch, repeat))


async def _store_loop_cost(lines_per_batch: float, repeat: int) -> float:
    best = {True: float("inf"), False: float("inf")}
    for _ in range(repeat):
        for with_store in (True, False):
            with tempfile.TemporaryDirectory(prefix="logcast-bench-store-") as tmp:
                store = LogStore(tmp) if with_store else None
                if store is not None:
                    store.open()
                try:
                    cpu = await _publish_cpu(burst_batches(lines_per_batch), store)
                finally:
                    if store is not None:
                        await store.close()
            best[with_store] = min(best[with_store], cpu)
    return (best[True] - best[False]) / LINES * 1e6


async def _publish_cpu(batches: list[Batch], store: LogStore | None) -> float:
    """The loop thread's CPU seconds to hand ``batches`` to ``store`` (when there is one) and
    encode them for the gRPC stream as the worker's StreamLogs does, paced over ~0.5 s so the
    store commits (and calls back) along the way as in a burst."""
    start = time.thread_time()
    for i, batch in enumerate(batches):
        if store is not None:
            store.append("bench", batch.lines)
            for _ in batch_to_wire(batch):
                pass
        else:
            for _ in batch_to_bytes(batch):
                pass
        if i % 10 == 9:
            await asyncio.sleep(0.002)
    if store is not None:
        await store.flush()
    return time.thread_time() - start


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
        rows.append(store_row(runs))
    if metrics is not None:
        rows.append(metrics_row(runs))
    return rows


def store_row(runs: dict[str, list[dict[str, float]]]) -> Result:
    """Row 5s (see the module docstring)."""
    on = [r["us_per_line"] for r in runs["worker"]]
    off = [r["us_per_line"] for r in runs["worker (no store)"]]
    writers = [r["writer_us_per_line"] for r in runs["worker"]]
    # the store-on worker's batches, counted where it also counts its flow (the metrics
    # cluster's worker has the store on); ~100 lines in every run so far
    sizes = [r["lines_per_batch"] for r in runs.get("worker (metrics)", [])]
    per_batch = median(sizes) if sizes else 100.0
    loop = store_loop_cost(per_batch)
    writer = median(writers)
    return _added_cost_row(
        "5s",
        "worker CPU per line: what the store adds",
        f"store: {writer + loop:.2f} us/line (writer thread {writer:.2f}, in the worker; "
        f"event loop {loop:.2f}, timed in-process on batches of ~{per_batch:.0f} lines)",
        f"on the store-off worker's {median(off):.2f} us/line; ",
        writer + loop,
        on,
        off,
        at_least=0.95,
        what="store",
        raw={
            "store_on": on,
            "store_off": off,
            "writer_us_per_line": writers,
            "loop_us_per_line": loop,
            "lines_per_batch": per_batch,
        },
        spread=f"writer {spread(writers, '{:.2f}')} us/line; ",
    )


def metrics_row(runs: dict[str, list[dict[str, float]]]) -> Result:
    """Row 5m (see the module docstring)."""
    on = [r["us_per_line"] for r in runs["worker (metrics)"]]
    off = [r["us_per_line"] for r in runs["worker"]]
    per_batch = median([r["lines_per_batch"] for r in runs["worker (metrics)"]])
    cost = counting_cost(per_batch)
    return _added_cost_row(
        "5m",
        "worker CPU per line with metrics on (--metrics) vs off",
        f"counting: {cost:.3f} us/line (batches of ~{per_batch:.0f} lines, timed in-process) "
        f"on the worker's {median(off):.2f} us/line",
        "",
        cost,
        on,
        off,
        at_least=0.97,
        what="counting",
        raw={
            "metrics_on": on,
            "metrics_off": off,
            "lines_per_batch": per_batch,
            "counting_us_per_line": cost,
        },
        spread="",
    )


def _added_cost_row(
    number: str,
    name: str,
    figure: str,
    compared: str,
    cost: float,
    on: list[float],
    off: list[float],
    *,
    at_least: float,
    what: str,
    raw: dict[str, object],
    spread: str,
) -> Result:
    """A row for what a feature adds to the worker's CPU per line, measured apart (``cost``)
    against the feature-off worker's median (``off``: us/line per round): ratio off / (off +
    cost), met when at least ``at_least``. The end-to-end A/B of the same rounds (``on``
    against ``off``) follows ``compared`` and ``spread``; its per-round ratios go in ``raw``."""
    ab = paired_ab(
        number,
        "",
        on,
        off,
        labels=("on", "off"),
        keys=("on", "off"),
        at_least=at_least,
        unit="us/line",
        fmt="{:.2f}",
        higher_is_better=False,
    )
    off_median = median(off)
    ratio = off_median / (off_median + cost)
    return Result(
        number,
        name,
        figure,
        f"{compared}end-to-end A/B: on {median(on):.2f}, off {off_median:.2f} us/line "
        f"(median per-round ratio {ab.ratio:.2f}x)",
        ratio,
        f">= {at_least:.2f}x (off / (off + {what}))",
        ratio >= at_least,
        raw={**raw, "ab_ratios": ab.raw["ratios"]},
        spread=f"{spread}A/B {ab.spread}",
    )
