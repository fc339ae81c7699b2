"""The benchmark page's description of each run (docs/BENCHMARKS.md), from results files."""

from __future__ import annotations

from bench import report

MACHINE = {
    "date": "2026-11-28",
    "cores": 2,
    "cpu": "AMD EPYC",
    "memory_gib": 23.5,
    "kernel": "6.18",
    "python": "3.11.7",
    "docker": "26.1.5",
}


def test_a_run_names_its_three_longest_benchmarks_so_the_time_budget_can_be_read():
    run = {
        "machine": MACHINE,
        "elapsed_s": 1041.2,
        "seconds": {"1": 60.0, "11": 240.4, "2": 190.0, "14": 30.0, "12": 150.0},
        "command": "bench/run",
    }
    line = report._describe("R1", run)
    assert "(1041 s; longest 11: 240 s, 2: 190 s, 12: 150 s)" in line


def test_a_run_from_before_per_benchmark_times_gives_its_total_alone():
    run = {"machine": MACHINE, "elapsed_s": 1041.2, "command": "bench/run"}
    assert "`bench/run` (1041 s) on 2026-11-28" in report._describe("R1", run)
