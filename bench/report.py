"""docs/BENCHMARKS.md from a results JSON file (bench/results/latest.json by default)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "bench" / "PROFILES.md"


def render(results: dict) -> str:
    m = results["machine"]
    rows = [
        "| # | benchmark | logcast | comparison | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["results"]:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        met = {True: "yes", False: "**no**", None: "-"}[r["met"]]
        logcast = r["logcast"] + (f" ({r['notes']})" if r.get("notes") else "")
        rows.append(
            f"| {r['number']} | {r['name']} | {logcast} | {r['comparison']} | {ratio} | "
            f"{r['target']} | {met} |"
        )
    profiles = PROFILES.read_text() if PROFILES.exists() else ""
    return f"""# Benchmarks

Produced by `bench/run` ({results["elapsed_s"]:.0f} s) on {m["date"]}:
{m["cores"]} cores ({m["cpu"]}), {m["memory_gib"]} GiB, Linux {m["kernel"]},
Python {m["python"]}, Docker {m["docker"]}. Raw figures: `bench/results/latest.json`.

The machine is small and noisy: absolute rates vary from run to run by ±30%; the ratios,
measured in one run with the compared cases interleaved (A B A B ..., medians of 3 rounds
unless stated), are what counts. Everything runs on these 2 cores at once: dockerd, the task,
the worker, the master and the clients.

{chr(10).join(rows)}

Reproduce: `bench/run` (all), or `bench/run 1 4` (some). Each benchmark's method is the
docstring at the top of its file in `bench/`.

{profiles}
"""


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results" / "latest.json"
    results = json.loads(path.read_text())
    (ROOT / "docs" / "BENCHMARKS.md").write_text(render(results))
    print(f"wrote docs/BENCHMARKS.md from {path}")


if __name__ == "__main__":
    main()
