"""2. Live: a task writes ~20,000 lines/s for 30 s; logcast and `docker logs -f` follow it at
the same time.

Figures: every line delivered (in order), client lag p99 (receive time - Docker's timestamp),
and lines/s of each follower from the first line's timestamp to its end. Targets: all lines,
lag p99 <= 1 s, lines/s ratio >= 0.95. The worker's CPU per line is recorded too.

Row 2s (when bench/run has a second cluster whose worker runs with `--no-store`): the same round
on that cluster, alternating with the store-on rounds (on, off, on, off, ...); ratio: logcast
lines/s store on / store off, per pair of rounds; target >= 0.95; lag p99 and worker CPU per
line of both are reported beside it.
"""

from __future__ import annotations

import asyncio

from bench.clients import follow_docker, follow_ws
from bench.harness import (
    Cluster,
    Result,
    cpu_seconds,
    median,
    percentile,
    run_task,
    spread,
    store_ab,
)

BLOCKS = 600  # 1000 lines every 50 ms
LINES = BLOCKS * 1000
SCRIPT = (
    f"sleep 1; i=0; while [ $i -lt {BLOCKS} ]; do "
    'seq $((i*1000+1)) $(((i+1)*1000)) | sed "s/^/seq=/"; usleep 47000; i=$((i+1)); done'
)


def one_round(cluster: Cluster) -> dict[str, float]:
    cpu = cpu_seconds(cluster.worker.pid)
    task = run_task(cluster, SCRIPT)
    container = _container(cluster, task)

    async def both() -> tuple:
        return await asyncio.gather(
            follow_ws(cluster.master.http, task, expect=LINES, lags=True),
            follow_docker(container, lags=True),
        )

    ours, theirs = asyncio.run(both())
    cpu = cpu_seconds(cluster.worker.pid) - cpu
    duration = ours.last_ts - ours.first_ts
    return {
        "produced_lines_per_s": LINES / duration,
        "logcast_all_lines": float(ours.in_order and ours.lines == LINES),
        "logcast_lines_per_s": LINES / (ours.done_at - ours.first_ts),
        "docker_lines_per_s": theirs.lines / (theirs.done_at - theirs.first_ts),
        "docker_all_lines": float(theirs.lines == LINES),
        "logcast_lag_p50_ms": percentile(ours.lags, 50) * 1000,
        "logcast_lag_p99_ms": percentile(ours.lags, 99) * 1000,
        "docker_lag_p99_ms": percentile(theirs.lags, 99) * 1000,
        "logcast_end_after_last_line_s": ours.done_at - ours.last_ts,
        "docker_end_after_last_line_s": theirs.done_at - theirs.last_ts,
        "worker_cpu_us_per_line": cpu / LINES * 1e6,
    }


def _container(cluster: Cluster, task: str) -> str:
    import json
    import subprocess

    from bench.harness import BIN

    out = subprocess.run(
        [str(BIN / "master"), "list-tasks", "--json", "--master", cluster.master.address],
        capture_output=True,
        text=True,
        check=True,
    )
    return next(t["container_id"] for t in json.loads(out.stdout) if t["task_id"] == task)


def run(cluster: Cluster, rounds: int = 3, nostore: Cluster | None = None) -> list[Result]:
    runs = []
    off = []
    for r in range(rounds):
        figures = one_round(cluster)
        print(f"    round {r + 1}: {figures}", flush=True)
        runs.append(figures)
        if nostore is not None:
            figures = one_round(nostore)
            print(f"    round {r + 1} (no store): {figures}", flush=True)
            off.append(figures)

    def med(key: str) -> float:
        return median([x[key] for x in runs])

    ratio = med("logcast_lines_per_s") / med("docker_lines_per_s")
    all_lines = all(x["logcast_all_lines"] == 1.0 for x in runs)
    p99 = med("logcast_lag_p99_ms")
    met = all_lines and p99 <= 1000 and ratio >= 0.95
    result = Result(
        2,
        "live: ~20k lines/s for 30 s",
        f"{med('logcast_lines_per_s'):,.0f} lines/s, lag p99 {p99:,.0f} ms, all lines: {all_lines}",
        f"{med('docker_lines_per_s'):,.0f} lines/s, lag p99 "
        f"{med('docker_lag_p99_ms'):,.0f} ms (docker logs -f)",
        ratio,
        "all lines; lag p99 <= 1 s; >= 0.95x",
        met,
        raw={"rounds": runs},
        notes=f"producer wrote {med('produced_lines_per_s'):,.0f} lines/s",
        spread=f"{spread([x['logcast_lines_per_s'] for x in runs])} lines/s, lag p99 "
        f"{spread([x['logcast_lag_p99_ms'] for x in runs])} ms",
    )
    if nostore is None:
        return [result]

    def med_off(key: str) -> float:
        return median([x[key] for x in off])

    off_all = all(x["logcast_all_lines"] == 1.0 for x in off)
    return [
        result,
        store_ab(
            "2s",
            "live with the store on vs off",
            [x["logcast_lines_per_s"] for x in runs],
            [x["logcast_lines_per_s"] for x in off],
            unit="lines/s",
            raw={"store_on": runs, "store_off": off},
            notes=f"lag p99 {p99:,.0f} ms on, {med_off('logcast_lag_p99_ms'):,.0f} ms off; "
            f"worker {med('worker_cpu_us_per_line'):.2f} us/line on, "
            f"{med_off('worker_cpu_us_per_line'):.2f} off; all lines: {all_lines} on, "
            f"{off_all} off",
        ),
    ]
