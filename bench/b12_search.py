"""12. Search: `master search` over the whole stored log of a finished 1,000,000-line task.

The task: busybox `awk` prints 1,000,000 realistic application lines (~110 bytes: the line's own
time, level INFO / DEBUG / WARN / ERROR, worker thread, HTTP method and path, status, duration,
a hex request id, and ``id=N`` at the end), all on stdout, so line ``i`` is seq ``i``. Every
field is integer arithmetic on ``i`` (kept under 2^31: busybox awk's ``%`` and ``printf``
truncate to 32-bit ints), so :func:`expected_lines` makes the same text in Python. Once the
task has finished (and the store's last commit is in), the worker's stored lines are read back
(ReadLogs) and checked against that text line by line: the expected matches below are then
exact.

- substring: ``needle-7f3a`` (a ``tag=`` field on exactly 10 lines: ``i % 99991 == 12345``);
- regex: ``ERROR .* id=4[0-9]{3}7$`` (RE2; ERROR lines whose id is 4ddd7: ~500 lines); the
  expected set comes from Python's ``re`` over the expected text, not from RE2.

Each round runs the real CLI process, ``master search --master ADDR TASK PATTERN`` (and with
``--regex``), timed from its start to its exit (wall time, like a user at a shell), and checks
its output: exit code 0, nothing on stderr (no "search stopped"), and exactly the expected
``SEQ:CONTENT`` lines (a wrong, missing or extra line fails the benchmark). The first round is
the first search of the task (its store file already in the page cache: just written). Also in
each round, the client's own cost: ``master --help`` (process start-up and imports) and a search
of a 1-line task (start-up + connection + one trivial search), so the row says how much of the
time is the search itself. The cases are interleaved (A B C D A B C D ...). Targets: substring
median < 1 s, regex median < 3 s. On the main cluster (the worker's defaults).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from collections.abc import Callable

from bench.b11_store import stored_lines
from bench.harness import (
    BIN,
    Cluster,
    Result,
    interleave,
    median,
    run_task,
    spread,
    wait_finished,
)
from shared.model import TaskStatus

LINES = 1_000_000
NEEDLE = "needle-7f3a"
REGEX = r"ERROR .* id=4[0-9]{3}7$"
NEEDLE_EVERY, NEEDLE_AT = 99_991, 12_345  # i % 99991 == 12345: 10 lines of 1,000,000
SUBSTRING_TARGET = 1.0  # seconds
REGEX_TARGET = 3.0

_METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
_PATHS = ("/api/v1/items", "/api/v1/users", "/healthz", "/api/v1/orders", "/static/app.js")
_STATUSES = (200, 200, 200, 201, 204, 304, 404)

# The task's program. The same arithmetic as expected_lines(), every value under 2^31.
_AWK = r"""BEGIN {
  split("GET GET GET POST PUT DELETE", M, " ")
  split("/api/v1/items /api/v1/users /healthz /api/v1/orders /static/app.js", P, " ")
  split("200 200 200 201 204 304 404", S, " ")
  for (i = 1; i <= %(lines)d; i++) {
    t = 36000000 + i * 29
    h1 = (i * 1237) %% 65521
    h2 = (i * 2029) %% 100003
    r = h1 %% 100
    if (r < 5) lv = "ERROR"; else if (r < 15) lv = "WARN "; else if (r < 25) lv = "DEBUG"
    else lv = "INFO "
    st = (r < 5) ? 500 : S[h2 %% 7 + 1]
    d = h1 %% 2503
    tag = (i %% %(every)d == %(at)d) ? " tag=%(needle)s" : ""
    printf "2024-05-14 %%02d:%%02d:%%02d,%%03d %%s [worker-%%d] %%s %%s/%%d status=%%d dur=%%d.%%dms req=%%08x%%s id=%%d\n", int(t / 3600000), int(t / 60000) %% 60, int(t / 1000) %% 60, t %% 1000, lv, 1 + (i * 13 + h2) %% 16, M[int(h1 / 100) %% 6 + 1], P[int(h2 / 7) %% 5 + 1], (i * 617) %% 1000000, st, int(d / 10), d %% 10, i * 2039 + h1 * 7, tag, h2 %% 100000
  }
}"""  # noqa: E501


def task_script(lines: int = LINES) -> str:
    """The task's ``sh -c`` script."""
    program = _AWK % {"lines": lines, "every": NEEDLE_EVERY, "at": NEEDLE_AT, "needle": NEEDLE}
    return f"awk '{program}'"


def expected_lines(n: int = LINES) -> list[str]:
    """What the task prints, line ``i`` (seq ``i``) at index ``i - 1``."""
    out: list[str] = []
    add = out.append
    for i in range(1, n + 1):
        t = 36_000_000 + i * 29
        h1 = (i * 1237) % 65521
        h2 = (i * 2029) % 100003
        r = h1 % 100
        level = "ERROR" if r < 5 else "WARN " if r < 15 else "DEBUG" if r < 25 else "INFO "
        status = 500 if r < 5 else _STATUSES[h2 % 7]
        d = h1 % 2503
        tag = f" tag={NEEDLE}" if i % NEEDLE_EVERY == NEEDLE_AT else ""
        add(
            f"2024-05-14 {t // 3_600_000:02d}:{t // 60_000 % 60:02d}:{t // 1000 % 60:02d},"
            f"{t % 1000:03d} {level} [worker-{1 + (i * 13 + h2) % 16}] "
            f"{_METHODS[h1 // 100 % 6]} {_PATHS[h2 // 7 % 5]}/{i * 617 % 1_000_000} "
            f"status={status} dur={d // 10}.{d % 10}ms req={i * 2039 + h1 * 7:08x}{tag} "
            f"id={h2 % 100_000}"
        )
    return out


def finished_task(cluster: Cluster) -> tuple[str, dict[int, str], dict[int, str], dict]:
    """The finished 1M-line task, checked line by line against :func:`expected_lines`; the
    expected matches of the substring and of the regex ({seq: content})."""
    t = time.perf_counter()
    task = run_task(cluster, task_script())
    info = wait_finished(cluster, task, timeout=600)
    assert info.status is TaskStatus.SUCCESS, info
    ran = time.perf_counter() - t
    time.sleep(1.0)  # the store's last commit (at most its commit budget behind)
    expected = expected_lines()
    stored = stored_lines(cluster, task)
    wrong = next(
        (i for i, (a, b) in enumerate(zip(stored, expected, strict=False)) if a != b), None
    )
    assert wrong is None and len(stored) == LINES, (
        f"{task}: {len(stored):,} lines stored; first difference at seq "
        f"{None if wrong is None else wrong + 1}: "
        f"{None if wrong is None else (stored[wrong], expected[wrong])}"
    )
    del stored
    needles = {i + 1: c for i, c in enumerate(expected) if NEEDLE in c}
    regex = re.compile(REGEX)
    matches = {i + 1: c for i, c in enumerate(expected) if regex.search(c)}
    assert sorted(needles) == [NEEDLE_AT + k * NEEDLE_EVERY for k in range(10)], sorted(needles)
    assert 100 <= len(matches) <= 5000, len(matches)  # a known, small set
    sizes = [len(c) + 1 for c in expected]
    facts = {
        "task": task,
        "task_seconds": ran,
        "lines": LINES,
        "bytes_per_line": statistics.fmean(sizes),
        "bytes_per_line_min_max": [min(sizes), max(sizes)],
        "levels": {lv: sum(f" {lv}" in c[23:30] for c in expected) for lv in ("ERROR", "WARN")},
        "substring_matches": len(needles),
        "regex_matches": len(matches),
        "substring_seqs": sorted(needles),
    }
    print(f"    {task}: {facts}", flush=True)
    return task, needles, matches, facts


def _timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def search(
    cluster: Cluster, task: str, pattern: str, expected: dict[int, str], *, regex: bool = False
) -> dict[str, float]:
    """One `master search` process, timed start to exit; its output must be ``expected``."""
    args = [str(BIN / "master"), "search", "--master", cluster.master.address, task, pattern]
    seconds, proc = _timed(args + (["--regex"] if regex else []))
    assert proc.returncode == 0 and not proc.stderr, (proc.returncode, proc.stderr[-2000:])
    got: dict[int, str] = {}
    for line in proc.stdout.splitlines():
        seq, sep, content = line.partition(":")
        assert sep and seq.isdigit() and int(seq) not in got, line
        got[int(seq)] = content
    if got != expected:
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        changed = sorted(s for s in set(got) & set(expected) if got[s] != expected[s])
        raise AssertionError(
            f"{pattern!r}: {len(got)} lines, {len(expected)} expected; missing seqs "
            f"{missing[:10]}, extra {extra[:10]}, different content {changed[:10]}"
        )
    return {"seconds": seconds, "matches": len(got)}


def filtered_logs(
    cluster: Cluster, task: str, expected: dict[int, str], *extra: str
) -> dict[str, float]:
    """One `master logs --grep NEEDLE --output jsonl` process (a filtered view: the worker
    filters the whole stored log), timed start to exit; its lines must be ``expected``."""
    args = [str(BIN / "master"), "logs", "--master", cluster.master.address, task]
    seconds, proc = _timed([*args, "--grep", NEEDLE, "--output", "jsonl", *extra])
    assert proc.returncode == 0 and not proc.stderr, (proc.returncode, proc.stderr[-2000:])
    got = {row["seq"]: row["content"] for row in map(json.loads, proc.stdout.splitlines())}
    assert got == expected, (sorted(got), sorted(expected))
    return {"seconds": seconds, "matches": len(got)}


def cli_help() -> dict[str, float]:
    """`master --help`: the CLI process's start-up."""
    seconds, proc = _timed([str(BIN / "master"), "--help"])
    assert proc.returncode == 0, proc.stderr
    return {"seconds": seconds}


def run(cluster: Cluster, rounds: int = 3) -> list[Result]:
    tiny = run_task(cluster, f"echo one {NEEDLE} line")
    assert wait_finished(cluster, tiny).status is TaskStatus.SUCCESS
    task, needles, matches, facts = finished_task(cluster)
    cases: dict[str, Callable[[], dict[str, float]]] = {
        "substring": lambda: search(cluster, task, NEEDLE, needles),
        "regex": lambda: search(cluster, task, REGEX, matches, regex=True),
        "help": cli_help,
        "1-line search": lambda: search(cluster, tiny, NEEDLE, {1: f"one {NEEDLE} line"}),
        "filtered view": lambda: filtered_logs(cluster, task, needles),
        "filtered tail": lambda: filtered_logs(
            cluster, task, {s: needles[s] for s in sorted(needles)[-3:]}, "--tail", "3"
        ),
    }
    runs = interleave(rounds, cases)
    return results(runs, facts)


def results(runs: dict[str, list[dict]], facts: dict) -> list[Result]:
    seconds = {name: [r["seconds"] for r in rs] for name, rs in runs.items()}
    help_s, tiny_s = median(seconds["help"]), median(seconds["1-line search"])
    startup = (
        f"CLI start-up: `master --help` {help_s * 1000:.0f} ms "
        f"({spread(seconds['help'], '{:.3f}')} s); search of a 1-line task "
        f"{tiny_s * 1000:.0f} ms ({spread(seconds['1-line search'], '{:.3f}')} s)"
    )
    raw = {**facts, "runs": runs}
    rows = []
    for number, name, key, count, target in (
        (
            "12a",
            f"search: substring in a finished 1M-line task (`{NEEDLE}`, whole CLI process)",
            "substring",
            facts["substring_matches"],
            SUBSTRING_TARGET,
        ),
        (
            "12b",
            f"search: RE2 regex in a finished 1M-line task (`{REGEX}`, whole CLI process)",
            "regex",
            facts["regex_matches"],
            REGEX_TARGET,
        ),
    ):
        mid = median(seconds[key])
        rows.append(
            Result(
                number,
                name,
                f"median {mid:.2f} s, {count:,} lines found, exactly the expected seqs "
                f"(~{max(0.0, mid - tiny_s):.2f} s over the 1-line search)",
                startup,
                None,
                f"< {target:g} s",
                mid < target,
                raw=raw if key == "substring" else {"runs": {key: runs[key]}},
                spread=f"{spread(seconds[key], '{:.2f}')} s ({len(seconds[key])} rounds)",
            )
        )
    for number, name, key, count in (
        (
            "12c",
            f"filtered view: `master logs --grep {NEEDLE}` of the finished 1M-line task "
            "(the worker filters the whole stored log; whole CLI process)",
            "filtered view",
            facts["substring_matches"],
        ),
        (
            "12d",
            f"filtered tail: `master logs --grep {NEEDLE} --tail 3` (scanning back from the "
            "newest line for the last 3 that pass; whole CLI process)",
            "filtered tail",
            3,
        ),
    ):
        mid = median(seconds[key])
        rows.append(
            Result(
                number,
                name,
                f"median {mid:.2f} s, {count:,} lines, exactly the expected seqs",
                startup,
                None,
                "(no target: reported)",
                None,
                raw={"runs": {key: runs[key]}},
                spread=f"{spread(seconds[key], '{:.2f}')} s ({len(seconds[key])} rounds)",
            )
        )
    return rows
