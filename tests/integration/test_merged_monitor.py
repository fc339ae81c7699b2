"""`master monitor --plain A B` and `--label K=V` as users run them: a real `master serve` with
its embedded worker, real containers, the CLI as a subprocess. Lines of both tasks, each
labelled with its task, in Docker timestamp order; each task's end; exit 0 only when every
task succeeded."""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Iterator

import pytest

from master.merged_plain import TAG_SGR
from shared.merge import colour_index
from tests.integration.test_logs_cli import Cluster, local_cluster
from tests.integration.test_terminal_output import on_terminal
from tests.procs import MASTER, free_port, master_cli

pytestmark = pytest.mark.docker

LINE = re.compile(r"^(task-[a-z0-9_-]+) +\| (\S+) (.*)$")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_engine) -> Iterator[Cluster]:
    with local_cluster(tmp_path_factory.mktemp("merged"), docker_engine) as cluster:
        yield cluster


def counting(name: str, n: int, pause: str, exit_code: int = 0) -> str:
    """Prints ``<name> 1`` .. ``<name> n``, pausing between lines, then exits."""
    return (
        f'i=1; while [ $i -le {n} ]; do echo "{name} $i"; {pause}; i=$((i+1)); done; '
        f"exit {exit_code}"
    )


def parse(stdout: str) -> list[tuple[str, str, str]]:
    """(task, timestamp, content) of every printed line; every line must be labelled."""
    rows = []
    for line in stdout.splitlines():
        m = LINE.match(line)
        assert m, f"unlabelled line {line!r}"
        rows.append((m.group(1), m.group(2), m.group(3)))
    return rows


def monitor(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return master_cli(cluster.address, "monitor", "--plain", *args, timeout=60)


def test_two_live_tasks_merged_in_timestamp_order_exit_1_when_one_failed(cluster):
    a = cluster.run(counting("alpha", 25, "sleep 0.08"))
    b = cluster.run(counting("beta", 20, "sleep 0.1", exit_code=3))
    got = monitor(cluster, "--timestamps", a, b)  # from their start, live, to both ends
    assert got.returncode == 1, got.stderr
    rows = parse(got.stdout)
    assert [c for t, _, c in rows if t == a] == [f"alpha {i}" for i in range(1, 26)]
    assert [c for t, _, c in rows if t == b] == [f"beta {i}" for i in range(1, 21)]
    stamps = [ts for _, ts, _ in rows]
    assert stamps == sorted(stamps)  # across both tasks, by Docker timestamp
    assert {t for t, _, _ in rows} == {a, b}
    switches = sum(1 for x, y in itertools.pairwise(rows) if x[0] != y[0])
    assert switches >= 5  # interleaved as they ran, not one task then the other
    err = got.stderr.splitlines()
    assert f"logcast: {a}: Task Completed - Status: success (exit code 0)" in err
    assert f"logcast: {b}: Task Completed - Status: failed (exit code 3)" in err


def test_finished_tasks_that_both_succeeded_exit_0_and_pipes_get_no_colour(cluster):
    a = cluster.finished(counting("one", 15, "sleep 0.02"))
    b = cluster.finished(counting("two", 15, "sleep 0.02"))
    got = monitor(cluster, a, b)
    assert got.returncode == 0, got.stderr
    assert "\x1b" not in got.stdout
    width = max(len(a), len(b))
    lines = got.stdout.splitlines()
    assert len(lines) == 30
    assert {line[: width + 3] for line in lines} == {f"{a:<{width}} | ", f"{b:<{width}} | "}
    ends = [line for line in got.stderr.splitlines() if "Task Completed" in line]
    assert len(ends) == 2 and all("success (exit code 0)" in e for e in ends)
    # the history's order is the tasks' timestamps: the one started first comes first
    with_ts = parse(monitor(cluster, "--timestamps", a, b).stdout)
    assert [ts for _, ts, _ in with_ts] == sorted(ts for _, ts, _ in with_ts)
    assert with_ts[0][0] == a and with_ts[-1][0] == b


def test_a_label_watches_the_tasks_the_master_lists_with_it(cluster):
    tag = f"nightly-{free_port()}"
    mine = [
        cluster.run(counting("n1", 3, "true"), "--label", f"job={tag}"),
        cluster.run(counting("n2", 3, "true", exit_code=1), "--label", f"job={tag}"),
    ]
    other = cluster.run(counting("other", 3, "true"))
    got = monitor(cluster, "--timestamps", "--label", f"job={tag}")
    assert got.returncode == 1, got.stderr  # one of them failed
    rows = parse(got.stdout)
    assert {t for t, _, _ in rows} == set(mine) and other not in got.stdout
    assert sorted(c for _, _, c in rows) == ["n1 1", "n1 2", "n1 3", "n2 1", "n2 2", "n2 3"]
    none = monitor(cluster, "--label", "job=never-used")
    assert none.returncode == 2 and "no task has the label(s) job=never-used" in none.stderr


def test_usage_and_unknown_tasks_exit_2(cluster):
    a = cluster.finished("echo fine")
    unknown = monitor(cluster, a, "task-000000")
    assert unknown.returncode == 2 and "no task task-000000" in unknown.stderr
    bad = monitor(cluster, a, "../etc/passwd")
    assert bad.returncode == 2 and "invalid task id" in bad.stderr
    assert monitor(cluster).returncode == 2
    since = monitor(cluster, a, a.replace("task-", "task-x"), "--since-seq", "3")
    assert since.returncode == 2 and "--after" in since.stderr
    after = monitor(cluster, a, "--after", "task-zzz:3")
    assert after.returncode == 2 and "task-zzz, which is not one of the tasks" in after.stderr
    # --after resumes each named task exactly after its seq
    b = cluster.finished(counting("b", 5, "true"))
    resumed = monitor(cluster, "--timestamps", a, b, "--after", f"{b}:3")
    assert resumed.returncode == 0, resumed.stderr
    assert [c for _, _, c in parse(resumed.stdout)] == ["fine", "b 4", "b 5"]
    help_text = subprocess.run([MASTER, "monitor", "--help"], capture_output=True, text=True)
    assert "as the master lists them when the command starts" in " ".join(help_text.stdout.split())


def test_on_a_terminal_tags_are_coloured_and_lines_still_show_their_controls(cluster):
    a = cluster.finished("printf 'x\\033]0;title\\007y\\n'")
    b = cluster.finished("echo plain")
    code, said = on_terminal(cluster.address, "monitor", a, b, "--plain")
    assert code == 0, said
    text = said.decode()
    assert f"\x1b[{TAG_SGR[colour_index(a)]}m{a} |\x1b[0m x^[]0;title^Gy" in text
    assert f"\x1b[{TAG_SGR[colour_index(b)]}m{b} |\x1b[0m plain" in text
