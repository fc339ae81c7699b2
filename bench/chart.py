"""docs/benchmarks.png from results JSON files: the latency distributions (benchmark 3) and
the burst rates (benchmark 1), round by round.

Usage: python -m bench.chart [BASE.json [NEWER.json ...]]

The files are merged as bench/report.py merges them (BASE defaults to
bench/results/latest.json); bench/report.py draws the chart whenever it writes
docs/BENCHMARKS.md. A panel whose benchmark is missing from the runs says so instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # (after the backend is chosen)
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from bench.report import ROOT, merge

OUT = ROOT / "docs" / "benchmarks.png"
# benchmark 3's cases and benchmark 1's, as their raw figures name them, and how to label them
LATENCY = {
    "logcast": "logcast (worker -> master -> WebSocket)",
    "logcast (embedded)": "logcast embedded (master --local-worker)",
    "direct": "Docker API follower",
}
LATENCY_TICKS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
BURST = {
    "logcast": "logcast, store on",
    "logcast (no store)": "logcast, --no-store",
    "logcast (embedded)": "logcast, embedded",
    "direct": "docker logs -f",
}


def _raw(ax: Axes, rows: list[tuple[str, dict]], number: str, what: str) -> tuple[str, dict]:
    """(run label, raw figures) of row ``number``; when it is missing, the panel says so and
    the figures are empty."""
    found = next(((label, r) for label, r in rows if str(r["number"]) == number), None)
    if found is None:
        _missing(ax, f"{what}: benchmark {number} not in these results")
        return "", {}
    return found[0], found[1].get("raw") or {}


def _missing(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def latency_panel(ax: Axes, rows: list[tuple[str, dict]]) -> list[str]:
    """Benchmark 3's latency samples, pooled over its rounds, as distributions (CDF); the
    series drawn."""
    label, raw = _raw(ax, rows, "3", "latency")
    drawn = []
    for key, name in LATENCY.items():
        samples = sorted(s for r in raw.get(key, []) for s in r.get("lags_ms", []))
        if not samples:
            continue
        n = len(samples)
        ax.plot(samples, [(i + 1) / n for i in range(n)], label=f"{name} ({n} lines)")
        drawn.append(key)
    if not drawn:
        if label:
            _missing(ax, "latency: no samples in these results (run before they were kept)")
        return drawn
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(LATENCY_TICKS))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Docker timestamp -> client receives the line (ms, log scale)")
    ax.set_ylabel("fraction of lines")
    ax.set_title(f"3. latency, one line per 10 ms ({label})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return drawn


def burst_panel(ax: Axes, rows: list[tuple[str, dict]]) -> list[str]:
    """Benchmark 1's rates, one dot per round, with each case's median; the series drawn."""
    label, raw = _raw(ax, rows, "1", "burst")
    drawn = []
    for x, key in enumerate(BURST):
        rates = [r["lines_per_s"] / 1000 for r in raw.get(key, [])]
        if not rates:
            continue
        ax.scatter([x] * len(rates), rates, alpha=0.5, s=18)
        middle = sorted(rates)[len(rates) // 2]
        ax.hlines(middle, x - 0.3, x + 0.3, colors="black")
        ax.annotate(f"{middle:.0f}k", (x + 0.32, middle), va="center", fontsize="small")
        drawn.append(key)
    if not drawn:
        if label:
            _missing(ax, "burst: no rates in these results")
        return drawn
    ax.set_xticks(range(len(BURST)), [BURST[k] for k in BURST], fontsize="small")
    ax.set_ylabel("thousand lines/s (WebSocket client from the start)")
    rounds = max(len(raw.get(k, [])) for k in BURST)
    ax.set_title(f"1. burst of 200k lines: {rounds} rounds, median marked ({label})")
    ax.set_ylim(bottom=0)
    ax.grid(True, axis="y", alpha=0.3)
    return drawn


def draw(runs: list[dict], out: Path = OUT) -> dict[str, list[str]]:
    """Draw the chart of ``runs`` (merged) into ``out``; which series each panel drew."""
    rows = merge(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), dpi=100)
    try:
        drawn = {"latency": latency_panel(left, rows), "burst": burst_panel(right, rows)}
        fig.tight_layout()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return drawn


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or [ROOT / "bench" / "results" / "latest.json"]
    drawn = draw([json.loads(p.read_text()) for p in paths])
    print(f"wrote {OUT.relative_to(ROOT)}: {drawn}")


if __name__ == "__main__":
    main()
