"""6. Slow viewer: a healthy WebSocket client's throughput while another client has stopped
reading, against the same with no stalled client; and the master's memory meanwhile.

A burst of 100,000 lines of 200 bytes (20 MB: more than socket buffers hold). Target: >= 0.95x,
and the master's RSS growth due to the stalled client (its round's growth over the same round's
without it: the relay's own lines and the healthy client cost the same in both) bounded by the
per-client cap: the relay keeps at most 10,000 lines / 8 MiB for a lagging client, the batch
it is being sent included (each line charged 2 x its content + 400 bytes: what it costs the
master in memory, measured), plus 64 KiB of socket write buffer.
"""

from __future__ import annotations

import asyncio
import time

from websockets.asyncio.client import connect

from bench.clients import auth_headers, follow_ws_light
from bench.harness import Cluster, Result, interleave, median, rss_bytes, run_task

LINES = 100_000
SCRIPT = f"sleep 2; seq 1 {LINES} | sed 's/$/ {'x' * 190}/; s/^/seq=/'"
CAP_BYTES = 8 * 1024 * 1024 + 64 * 1024


def case(cluster: Cluster, stalled: bool) -> dict[str, float]:
    task = run_task(cluster, SCRIPT)
    base = rss_bytes(cluster.master.pid)
    peak = base

    async def go() -> float:
        nonlocal peak
        url = f"ws://{cluster.master.http}/logs/{task}?batch=1"
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss_bytes(cluster.master.pid))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        staller = (
            await connect(url, max_size=None, max_queue=1, additional_headers=auth_headers())
            if stalled
            else None
        )
        if staller is not None:
            await staller.recv()  # then it stops reading
        start = time.time()
        got = await follow_ws_light(cluster.master.http, task)
        assert got.lines == LINES and got.in_order, (got.lines, got.in_order)
        stop.set()
        await sampler
        if staller is not None:
            await staller.close()
        return LINES / (got.done_at - start)

    rate = asyncio.run(go())
    return {"lines_per_s": rate, "master_rss_growth_mib": (peak - base) / 2**20}


def run(cluster: Cluster, rounds: int = 3) -> Result:
    runs = interleave(
        rounds,
        {
            "no stalled client": lambda: case(cluster, False),
            "one stalled client": lambda: case(cluster, True),
        },
    )
    healthy = median([r["lines_per_s"] for r in runs["no stalled client"]])
    with_stall = median([r["lines_per_s"] for r in runs["one stalled client"]])
    # what the stalled client costs the master: its round's growth over the same round's with
    # no stalled client (the relay's own lines, the healthy client, one-off warm-up)
    grown = [r["master_rss_growth_mib"] for r in runs["one stalled client"]]
    base = [r["master_rss_growth_mib"] for r in runs["no stalled client"]]
    extra = [g - b for g, b in zip(grown, base, strict=True)]
    ratio = with_stall / healthy
    cap = CAP_BYTES / 2**20
    return Result(
        6,
        "slow viewer: healthy client while another stalls",
        f"{with_stall:,.0f} lines/s; master RSS +{median(grown):.1f} MiB, of which the stalled "
        f"client +{median(extra):.1f} MiB (its round's growth over the round without it)",
        f"{healthy:,.0f} lines/s with no stalled client (master RSS +{median(base):.1f} MiB)",
        ratio,
        f">= 0.95x; the stalled client's RSS growth <= its cap ({cap:.1f} MiB)",
        ratio >= 0.95 and median(extra) <= cap,
        spread=f"stalled client's growth {min(extra):.1f}-{max(extra):.1f} MiB; "
        f"{min(grown):.1f}-{max(grown):.1f} with it, {min(base):.1f}-{max(base):.1f} without",
        raw=runs,
    )
