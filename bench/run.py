"""Run the benchmarks, write bench/results/latest.json and docs/BENCHMARKS.md.

Usage: bench/run [N ...]   (numbers of the benchmarks to run; default: all)
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time

from bench import report
from bench.harness import ROOT, machine, start_cluster, write_json

BENCHMARKS = {
    1: "b01_burst",
    2: "b02_live",
    3: "b03_latency",
    4: "b04_audience",
    5: "b05_worker_cpu",
    6: "b06_slow_viewer",
    7: "b07_memory",
    8: "b08_tui",
    9: "b09_scale",
    10: "b10_many_tasks",
}
OWN_CLUSTER = {8, 10}  # these start what they need themselves


def main(argv: list[str]) -> int:
    wanted = [int(a) for a in argv] or list(BENCHMARKS)
    started = time.monotonic()
    results = []
    cluster = start_cluster() if set(wanted) - OWN_CLUSTER else None
    try:
        for n in wanted:
            module = importlib.import_module(f"bench.{BENCHMARKS[n]}")
            print(f"[{n}] {BENCHMARKS[n]}", flush=True)
            t0 = time.monotonic()
            result = module.run(None if n in OWN_CLUSTER else cluster)
            print(
                f"[{n}] {result.logcast} | {result.comparison} | met: {result.met} "
                f"({time.monotonic() - t0:.0f} s)",
                flush=True,
            )
            results.append(dataclasses.asdict(result))
    finally:
        if cluster is not None:
            cluster.stop()
    payload = {
        "machine": machine(),
        "elapsed_s": time.monotonic() - started,
        "command": "bench/run " + " ".join(argv),
        "results": results,
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    write_json(ROOT / "bench" / "results" / f"{stamp}.json", payload)
    if not argv:  # a full run: the published figures
        write_json(ROOT / "bench" / "results" / "latest.json", payload)
        report.main()
    print(f"done in {payload['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
