"""Run the benchmarks, write bench/results/<time>.json, and after a full run
bench/results/latest.json and docs/BENCHMARKS.md.

Usage: bench/run [N ...] [--rounds R] [--no-store-ab]

N: numbers of the benchmarks to run (default: all). Benchmarks 1, 2 and 5 also run with a second
cluster whose worker has no store (`worker serve --no-store`), interleaved with the store-on
rounds (rows 1s, 2s, 5s); --no-store-ab skips that. Benchmark 5 also runs with a cluster whose
worker serves --metrics (row 5m). --rounds R: rounds of every benchmark that
runs several (default: each benchmark's own, 3).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench import report
from bench.harness import (
    ROOT,
    Cluster,
    Result,
    load_average,
    machine,
    start_cluster,
    start_embedded,
    write_json,
)

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
    11: "b11_store",
    12: "b12_search",
    13: "b13_idle_viewers",
    14: "b14_web_page",
    15: "b15_two_masters",
}
OWN_CLUSTER = {8, 10, 13, 14, 15}  # these start what they need themselves
STORE_AB = {1, 2, 5}  # these also run against a worker with --no-store
METRICS_AB = {5}  # ... and against a worker with --metrics (it counts its log flow)
EMBEDDED_AB = {1, 3}  # ... and through `master serve --local-worker` (rows 1e, 3e)
NO_STORE_MASTER = ("--worker-timeout", "3600")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description="logcast benchmarks")
    parser.add_argument("numbers", nargs="*", type=int, help="benchmarks to run (default: all)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds of each multi-round benchmark"
    )
    parser.add_argument(
        "--no-store-ab", action="store_true", help="skip the store-off rounds of 1, 2 and 5"
    )
    args = parser.parse_args(argv)
    unknown = set(args.numbers) - set(BENCHMARKS)
    if unknown:
        parser.error(f"no benchmark {', '.join(map(str, sorted(unknown)))}")
    return args


def run_one(n: int, cluster: Cluster | None, extra: dict[str, Cluster], rounds: int | None) -> list:
    """Benchmark ``n``'s results (one or more rows). ``extra``: the side-by-side clusters
    (``nostore``, ``metrics``, ``embedded``) the benchmarks that compare with them get."""
    module = importlib.import_module(f"bench.{BENCHMARKS[n]}")
    kwargs: dict[str, object] = {}
    default_rounds = inspect.signature(module.run).parameters["rounds"].default
    if rounds is not None and default_rounds > 1:  # single-round benchmarks stay single
        kwargs["rounds"] = rounds
    if n in STORE_AB and "nostore" in extra:
        kwargs["nostore"] = extra["nostore"]
    if n in METRICS_AB and "metrics" in extra:
        kwargs["metrics"] = extra["metrics"]
    if n in EMBEDDED_AB and "embedded" in extra:
        kwargs["embedded"] = extra["embedded"]
    out = module.run(None if n in OWN_CLUSTER else cluster, **kwargs)
    return out if isinstance(out, list) else [out]


def code_state() -> dict[str, object]:
    """The commit measured, and the files outside bench/ and docs/ that differed from it (the
    working tree is shared: what ran may include others' uncommitted changes)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout

    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if not line[3:].startswith(("bench/", "docs/"))
    ]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted": changed}


def failure(n: int, exc: BaseException) -> Result:
    """The row of a benchmark that raised."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    place = f" at {Path(where.filename).name}:{where.lineno} `{where.line}`"
    message = f"{type(exc).__name__}: {exc}{place}"[:300]
    return Result(n, f"{BENCHMARKS[n]} (failed)", message, "-", None, "-", None)


def payload(
    where: dict, started: float, argv: list[str], results: list[dict], seconds: dict[str, float]
) -> dict:
    machine_info = {k: v for k, v in where.items() if k != "code"}
    return {
        "machine": {**machine_info, "loadavg_end": load_average()},
        "code_start": where["code"],
        "code": code_state(),  # at the end: others may commit while the benchmarks run
        "elapsed_s": time.monotonic() - started,
        "seconds": seconds,  # each benchmark's wall time, by number (the 20-minute budget)
        "command": " ".join(["bench/run", *argv]),
        "results": results,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    wanted = args.numbers or list(BENCHMARKS)
    started = time.monotonic()
    where = {**machine(), "code": code_state()}  # with the load average at the start
    out = ROOT / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    results: list[dict] = []
    failed: list[int] = []
    seconds: dict[str, float] = {}
    cluster = start_cluster() if set(wanted) - OWN_CLUSTER else None
    extra: dict[str, Cluster] = {}
    try:
        if set(wanted) & STORE_AB and not args.no_store_ab:
            # --worker-timeout: a --no-store worker never reports its tasks' final status in
            # heartbeats, so the master would mark each task `lost` 5 s after its creation
            # (racing with the end of its log stream); an hour keeps that out of the rounds
            extra["nostore"] = start_cluster(store=False, master_args=NO_STORE_MASTER)
        if set(wanted) & METRICS_AB:
            extra["metrics"] = start_cluster(metrics=True)
        if set(wanted) & EMBEDDED_AB:
            extra["embedded"] = start_embedded()
        for n in wanted:
            print(f"[{n}] {BENCHMARKS[n]}", flush=True)
            t0 = time.monotonic()
            try:
                rows: list[Result] = run_one(n, cluster, extra, args.rounds)
            except Exception as exc:  # one benchmark's failure must not cost the others
                traceback.print_exc()
                failed.append(n)
                rows = [failure(n, exc)]
            for result in rows:
                print(
                    f"[{result.number}] {result.logcast} | {result.comparison} | "
                    f"met: {result.met} ({result.spread})",
                    flush=True,
                )
                results.append(dataclasses.asdict(result))
            seconds[str(n)] = round(time.monotonic() - t0, 1)
            print(f"[{n}] {seconds[str(n)]:.0f} s", flush=True)
            write_json(out, payload(where, started, argv, results, seconds))  # so far
    finally:
        for c in (*extra.values(), cluster):
            if c is not None:
                c.stop()
    final = payload(where, started, argv, results, seconds)
    write_json(out, final)
    if not args.numbers:  # a full run: the published figures (a failed benchmark says so)
        write_json(ROOT / "bench" / "results" / "latest.json", final)
        report.main([])
    print(f"done in {time.monotonic() - started:.0f} s; results in {out.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(map(str, failed))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
