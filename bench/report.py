"""docs/BENCHMARKS.md (and its chart, docs/benchmarks.png: bench/chart.py) from results JSON
files.

Usage: python -m bench.report [BASE.json [NEWER.json ...]]

BASE defaults to bench/results/latest.json (the last full run). Rows of each NEWER file (a
partial run, `bench/run 1 11`) replace the base's rows of the same benchmark numbers (and add
new ones); every row then says which run it comes from.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "bench" / "PROFILES.md"


def _benchmark(number: object) -> int:
    """The benchmark a row belongs to: 1 for "1" and "1s", 11 for "11a"."""
    m = re.match(r"\d+", str(number))
    return int(m.group()) if m else 0


def merge(runs: list[dict]) -> list[tuple[str, dict]]:
    """(run label, row) for every row: a later run replaces an earlier run's rows of the same
    number ("5" does not replace "5s": a partial run without the store-off rounds keeps them)."""
    rows: list[tuple[str, dict]] = []
    for i, run in enumerate(runs):
        label = f"R{i + 1}"
        replaced = {str(r["number"]) for r in run["results"]}
        rows = [(lab, r) for lab, r in rows if str(r["number"]) not in replaced]
        rows.extend((label, r) for r in run["results"])
    return sorted(rows, key=lambda lr: (_benchmark(lr[1]["number"]), str(lr[1]["number"])))


def _describe(label: str, run: dict) -> str:
    m = run["machine"]
    load = ""
    if "loadavg" in m:
        load = f"; load average {' '.join(m['loadavg'])} at the start"
        if "loadavg_end" in m:
            load += f", {' '.join(m['loadavg_end'])} at the end"
    state = ""
    start, end = run.get("code_start"), run.get("code")
    if start and end and start["commit"] != end["commit"]:
        state = f"; code at {start['commit']} at the start, {end['commit']} at the end"
    elif end:
        state = f"; code at {end['commit']}" + ("" if start else " at the end of the run")
    dirty = {f for c in (start, end) if c for f in c["uncommitted"]}
    if dirty:
        state += f" with uncommitted changes to {len(dirty)} other files"
    took = f"{run['elapsed_s']:.0f} s"
    if run.get("seconds"):  # runs before per-benchmark times were kept have only the total
        slowest = sorted(run["seconds"].items(), key=lambda ns: -ns[1])[:3]
        took += "; longest " + ", ".join(f"{n}: {s:.0f} s" for n, s in slowest)
    return (
        f"- **{label}**: `{run['command'].strip()}` ({took}) on {m['date']}: "
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}, Docker {m['docker']}{load}{state}."
    )


def render(runs: list[dict], sources: list[str]) -> str:
    rows = [
        "| # | benchmark | logcast | comparison | ratio | target | met | spread | run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in merge(runs):
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        met = {True: "yes", False: "**no**", None: "-"}[r["met"]]
        logcast = r["logcast"] + (f" ({r['notes']})" if r.get("notes") else "")
        spread = r.get("spread") or "-"
        rows.append(
            f"| {r['number']} | {r['name']} | {logcast} | {r['comparison']} | {ratio} | "
            f"{r['target']} | {met} | {spread} | {label} |"
        )
    described = "\n".join(
        _describe(f"R{i + 1}", run) + f" Raw figures: `{src}`."
        for i, (run, src) in enumerate(zip(runs, sources, strict=True))
    )
    profiles = PROFILES.read_text() if PROFILES.exists() else ""
    return f"""# Benchmarks

The runs these figures come from (the last column of the table says which):

{described}

The machine is small and noisy: absolute rates vary from run to run by ±30% (more while other
work runs on it: see the load averages); the ratios, measured in one run with the compared cases
interleaved (A B A B ..., medians of 3 rounds unless stated; "spread" is the min-max over the
rounds), are what counts. Everything runs on these 2 cores at once: dockerd, the task, the
worker, the master and the clients.

{chr(10).join(rows)}

![Latency distributions (benchmark 3), burst rates by round (benchmark 1)](benchmarks.png)

The chart (`docs/benchmarks.png`, drawn by `bench/chart.py` from the same results as this page):
left, every line's latency in benchmark 3 (all rounds), through logcast and read from Docker's
API directly; right, benchmark 1's burst rate in each round, with each case's median.

Reproduce: `bench/run` (all; this page is rewritten from it), or `bench/run 1 4` (some);
`--rounds N` sets the rounds of every multi-round benchmark (default 3), `--no-store-ab` skips
the store-off rounds. `python -m bench.report bench/results/latest.json
bench/results/<partial>.json` puts a partial run's rows over the full run's. Each benchmark's
method is the docstring at the top of its file in `bench/`. Rows 1s and 2s are benchmarks 1
and 2 with the worker's store on (the default) against a worker started with `--no-store`
(memory only), in the same rounds; row 1c is the same comparison as 1s with both bursts at
once, one on each worker, in each round (the machine's state shared); row 5s is what the store
adds to benchmark 5's worker CPU per line (its writer thread's CPU in the worker, its
event-loop work timed in-process) against the `--no-store` worker's, with the end-to-end A/B
beside it; row 5m is what counting the log flow for Prometheus (`--metrics`) adds, measured
the same way.

{profiles}
"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or [ROOT / "bench" / "results" / "latest.json"]
    runs = [json.loads(p.read_text()) for p in paths]
    sources = [str(p.resolve().relative_to(ROOT)) for p in paths]
    (ROOT / "docs" / "BENCHMARKS.md").write_text(render(runs, sources))
    print(f"wrote docs/BENCHMARKS.md from {', '.join(sources)}")
    from bench import chart  # (it builds on this module's merge)

    print(f"wrote docs/benchmarks.png: {chart.draw(runs)}")


if __name__ == "__main__":
    main()
