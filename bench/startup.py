"""Start-up time of the client commands, whole process, interleaved A/B.

Times ``master monitor --plain TASK`` on a finished task (it prints the stored lines and the
status, then exits) and ``master list-tasks``, from process start to exit, like a user at a
shell. With ``--tree NAME=DIR`` several source trees are compared in interleaved rounds (each
run uses ``python -m master.cli`` from that tree with this venv's dependencies), e.g. the
commit before a change against the working tree.

Usage: python -m bench.startup [--runs 20] [--tree before=/tmp/old --tree after=.]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import ROOT, run_task, start_cluster


def _time(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.startup")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=DIR")
    args = parser.parse_args(argv)
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": str(ROOT)}
    cluster = start_cluster()
    try:
        task = run_task(cluster, "for i in $(seq 1 200); do echo line $i; done")
        time.sleep(2.0)  # let it finish
        commands = {
            "monitor --plain (finished task)": ["monitor", task, "--plain"],
            "list-tasks": ["list-tasks"],
        }
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for what, sub in commands.items():
                for name, tree in trees.items():
                    cmd = [sys.executable, "-m", "master.cli", *sub[:1]]
                    cmd += ["--master", cluster.master.address, *sub[1:]]
                    times.setdefault((what, name), []).append(_time(cmd, Path(tree)))
        for (what, name), values in times.items():
            values.sort()
            print(
                f"{what:34} {name:8} min {values[0] * 1000:6.0f} ms  "
                f"median {statistics.median(values) * 1000:6.0f} ms  "
                f"max {values[-1] * 1000:6.0f} ms  ({len(values)} runs)"
            )
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
