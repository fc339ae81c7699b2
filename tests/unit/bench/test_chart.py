"""The benchmark chart (docs/benchmarks.png) drawn from results files on disk."""

from __future__ import annotations

import json
from pathlib import Path

from bench import chart

PNG = b"\x89PNG\r\n\x1a\n"


def results(rows: list[dict]) -> dict:
    return {"results": rows}


def row(number: str, raw: dict) -> dict:
    return {"number": number, "raw": raw}


def test_the_chart_draws_every_latency_and_burst_series_the_results_have(tmp_path: Path):
    run = results(
        [
            row(
                "1",
                {
                    "logcast": [{"lines_per_s": 50_000.0}, {"lines_per_s": 60_000.0}],
                    "direct": [{"lines_per_s": 70_000.0}, {"lines_per_s": 75_000.0}],
                },
            ),
            row(
                "3",
                {
                    "logcast": [{"p50_ms": 1.9, "lags_ms": [1.8, 1.9, 2.5]}],
                    "direct": [{"p50_ms": 0.4, "lags_ms": [0.3, 0.4, 0.9]}],
                },
            ),
        ]
    )
    source = tmp_path / "latest.json"
    source.write_text(json.dumps(run))
    out = tmp_path / "chart.png"
    drawn = chart.draw([json.loads(source.read_text())], out)
    assert drawn == {"latency": ["logcast", "direct"], "burst": ["logcast", "direct"]}
    assert out.read_bytes().startswith(PNG)


def test_a_newer_partial_run_replaces_the_rows_it_has(tmp_path: Path):
    old = results([row("1", {"logcast": [{"lines_per_s": 1.0}]})])
    new = results([row("1", {"direct": [{"lines_per_s": 2.0}]})])
    drawn = chart.draw([old, new], tmp_path / "chart.png")
    assert drawn["burst"] == ["direct"]


def test_results_without_the_benchmarks_still_give_a_chart_that_says_so(tmp_path: Path):
    out = tmp_path / "chart.png"
    old_run = results([row("3", {"logcast": [{"p50_ms": 1.9, "p99_ms": 2.7}]})])  # no samples
    assert chart.draw([old_run], out) == {"latency": [], "burst": []}
    assert out.read_bytes().startswith(PNG)
