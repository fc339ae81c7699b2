"""15. One more master relaying the same task: the worker's CPU per line through a 200,000-line
burst followed by one WebSocket viewer on one master, against one viewer on each of two
masters (`worker serve --also-master`: the second master runs on the same state directory, and
relays the task from the same worker, as one more subscriber of its one Docker read).

One cluster (two masters, one worker) serves both cases, interleaved (one, two, one, two,
...), so they share the worker process, its store and the machine's state. The worker's CPU
comes from /proc, from the task's submission until it has settled after every viewer had the
end. Each viewer must see every line in order. Target: two masters <= 1.1x one, the median of
the per-round ratios (two / one).
"""

from __future__ import annotations

import asyncio

from bench.b05_worker_cpu import settled_cpu
from bench.clients import follow_ws_light
from bench.harness import (
    Cluster,
    Result,
    cpu_seconds,
    interleave,
    median,
    run_task,
    spread,
    start_cluster,
)

LINES = 200_000
SCRIPT = f'sleep 1; seq 1 {LINES} | sed "s/^/seq=/"'


def burst(cluster: Cluster, masters: int) -> dict[str, float]:
    """The worker's CPU per line while two viewers follow a burst: both through the first
    master (``masters`` 1), or one through each master (2)."""
    assert cluster.other is not None
    https = [cluster.master.http, cluster.other.http if masters == 2 else cluster.master.http]
    before = cpu_seconds(cluster.worker.pid)
    task = run_task(cluster, SCRIPT)

    async def viewers() -> list:
        return await asyncio.gather(*(follow_ws_light(http, task) for http in https))

    got = asyncio.run(viewers())
    lines = got[0].lines
    for g in got:
        assert g.lines == lines and g.in_order and not g.dropped, (g.lines, g.dropped, g.gaps)
    # Docker 20.10 may drop a container's last output at its exit under load (see PROFILES.md,
    # "A burst that ended short"): what it gave is counted, the same for every viewer
    assert lines >= LINES * 0.95, lines
    cpu = settled_cpu(cluster.worker.pid) - before
    return {"us_per_line": cpu / lines * 1e6, "lines": lines}


def run(cluster: Cluster | None = None, rounds: int = 7) -> Result:
    own = cluster is None
    cluster = cluster or start_cluster(second_master=True)
    try:
        runs = interleave(
            rounds,
            {"one master": lambda: burst(cluster, 1), "two masters": lambda: burst(cluster, 2)},
        )
    finally:
        if own:
            cluster.stop()
    one = [r["us_per_line"] for r in runs["one master"]]
    two = [r["us_per_line"] for r in runs["two masters"]]
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    ratio = median(ratios)
    return Result(
        15,
        "two masters relaying one task: the worker's CPU per line",
        f"two masters: {median(two):.2f} us/line",
        f"one master: {median(one):.2f} us/line",
        ratio,
        "two masters <= 1.1x one",
        ratio <= 1.1,
        raw={"one_master": one, "two_masters": two, "ratios": ratios},
        notes=(
            f"{rounds} interleaved rounds of a {LINES:,}-line burst on one worker; the ratio is"
            " the median of the per-round ratios"
        ),
        spread=f"ratio {spread(ratios, '{:.2f}')}; one {spread(one, '{:.2f}')};"
        f" two {spread(two, '{:.2f}')}",
    )
