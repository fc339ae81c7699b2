"""`master logs`, `list-tasks` filters and `run --label`, as users run them: real `master serve`
processes (with the embedded worker, or a separate `worker serve`), real containers, the CLI
as a subprocess; compared with what Docker itself says for the same command."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures import TEST_IMAGE, remove_containers
from tests.integration.test_fanout import numbered
from tests.procs import MASTER, Proc, free_port, master_cli, start_master, start_worker
from worker.docker_containers import LABEL_TASK

pytestmark = pytest.mark.docker

RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")

# a few thousand lines on both streams, non-ASCII text, tabs, colour codes, and each stream
# ending without a newline
MIXED = (
    'i=1; while [ $i -le 1500 ]; do echo "out $i ünïcödé\ttab"; '
    'if [ $((i % 3)) -eq 0 ]; then echo "err $i ✓" >&2; fi; i=$((i+1)); done; '
    "printf '\\033[31mred\\033[0m\\n'; printf 'last err' >&2; printf 'no newline'"
)
MIXED_LINES = 1500 + 500 + 1 + 2
BIG = 30_000  # lines of `seq 1 30000`: more than the 1000-line buffer and a pipe's 64 KiB


@dataclass
class Cluster:
    """A master with its embedded worker, and the tasks the tests ran on it."""

    address: str
    tasks: list[str] = field(default_factory=list)

    def run(self, script: str, *extra: str) -> str:
        out = master_cli(
            self.address, "run", "--image", TEST_IMAGE, *extra, "--", "sh", "-c", script
        )
        assert out.returncode == 0, out.stderr
        task_id = out.stdout.strip()
        self.tasks.append(task_id)
        return task_id

    def logs(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """``master logs ARGS`` with its output as bytes (compared byte for byte)."""
        return subprocess.run(
            [MASTER, "logs", "--master", self.address, *args],
            capture_output=True,
            timeout=timeout,
        )

    def finished(self, script: str) -> str:
        """Run ``script`` and wait for its successful end (``logs -f`` returns then)."""
        task_id = self.run(script)
        done = self.logs(task_id, "-f")
        assert done.returncode == 0, done.stderr
        return task_id


def remove_tasks(docker_engine, task_ids: list[str]) -> None:
    remove_containers(docker_engine.api, keep=lambda labels: labels.get(LABEL_TASK) in task_ids)


@contextlib.contextmanager
def local_cluster(state_dir: Path, docker_engine) -> Iterator[Cluster]:
    """`master serve --local-worker` on a free port; its tasks' containers removed after."""
    master = start_master(state_dir, free_port(), "--local-worker")
    cluster = Cluster(master.address)
    try:
        yield cluster
    finally:
        master.stop()
        remove_tasks(docker_engine, cluster.tasks)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_engine) -> Iterator[Cluster]:
    with local_cluster(tmp_path_factory.mktemp("logs-cli"), docker_engine) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def big(cluster) -> str:
    """A finished task of BIG lines, ``1`` .. ``30000`` on stdout."""
    return cluster.finished(f"seq 1 {BIG}")


def docker_logs(docker_engine, script: str) -> tuple[bytes, bytes]:
    """``script`` run by Docker directly: what ``docker logs`` gives on stdout and stderr."""
    container = docker_engine.containers.run(TEST_IMAGE, ["sh", "-c", script], detach=True)
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        return container.logs(stdout=True, stderr=False), container.logs(stdout=False, stderr=True)
    finally:
        container.remove(force=True)


def test_logs_split_stdout_and_stderr_exactly_as_docker_logs_does(cluster, docker_engine):
    task_id = cluster.run(MIXED)
    followed = cluster.logs(task_id, "--follow")  # from the start, while it runs, to its end
    stored = cluster.logs(task_id)  # once it is finished: everything stored
    want_out, want_err = docker_logs(docker_engine, MIXED)
    assert want_out.endswith(b"no newline") and want_err.endswith(b"last err")
    assert want_out.count(b"\n") == 1501 and want_err.count(b"\n") == 500
    for got in (followed, stored):
        assert got.returncode == 0, got.stderr[-2000:]
        assert got.stdout == want_out
        assert got.stderr == want_err  # the task's stderr, and nothing of logcast's


def test_jsonl_is_one_object_per_line_seqs_1_to_n(cluster):
    task_id = cluster.finished(MIXED)
    got = cluster.logs(task_id, "--output", "jsonl")
    assert got.returncode == 0 and got.stderr == b""
    rows = [json.loads(line) for line in got.stdout.decode().splitlines()]
    assert [r["seq"] for r in rows] == list(range(1, MIXED_LINES + 1))
    assert all(set(r) == {"seq", "timestamp", "stream", "content"} for r in rows)
    assert all(RFC3339_NANO.match(r["timestamp"]) for r in rows)
    # (the order of stdout and stderr lines is Docker's, across two pipes: not asserted)
    out = [r["content"] for r in rows if r["stream"] == "stdout"]
    err = [r["content"] for r in rows if r["stream"] == "stderr"]
    assert out[:2] == ["out 1 ünïcödé\ttab", "out 2 ünïcödé\ttab"] and len(out) == 1502
    assert err[:2] == ["err 3 ✓", "err 6 ✓"] and len(err) == 501
    assert {r["content"] for r in rows[-2:]} == {"last err", "no newline"}


def test_the_whole_log_of_a_large_task_then_exactly_the_last_5000(cluster, big):
    everything = cluster.logs(big)
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.decode().splitlines()
    assert lines == [str(i) for i in range(1, BIG + 1)], everything.stderr
    tail = cluster.logs(big, "--tail", "5000")
    assert tail.returncode == 0 and tail.stderr == b""
    assert tail.stdout.decode().splitlines() == [str(i) for i in range(BIG - 4999, BIG + 1)]


def test_since_seq_and_timestamps(cluster, big):
    since = cluster.logs(big, "--since-seq", str(BIG - 10))
    assert since.stdout.decode().splitlines() == [str(i) for i in range(BIG - 9, BIG + 1)]
    assert cluster.logs(big, "--since-seq", str(BIG)).stdout == b""  # nothing after the end
    stamped = cluster.logs(big, "--since-seq", "100", "--tail", "1")
    assert stamped.returncode == 2  # one or the other
    stamped = cluster.logs(big, "--tail", "3", "--timestamps")
    rows = [
        json.loads(r)
        for r in cluster.logs(big, "--tail", "3", "--output", "jsonl").stdout.splitlines()
    ]
    assert stamped.stdout.decode().splitlines() == [
        f"{r['timestamp']} {r['content']}" for r in rows
    ]
    assert all(RFC3339_NANO.match(r["timestamp"]) for r in rows)


def test_a_reader_that_goes_away_ends_it_quietly(cluster, big):
    for command in (
        f"{MASTER} logs --master {cluster.address} {big} | head -3",
        f"{MASTER} monitor --plain --since-seq 0 --master {cluster.address} {big} | head -3",
    ):
        piped = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
        assert (piped.returncode, piped.stdout, piped.stderr) == (0, "1\n2\n3\n", ""), command
    # its own exit status: that of a process killed by SIGPIPE, as `cat` would give
    status = subprocess.run(
        [
            "sh",
            "-c",
            f"{{ {MASTER} logs --master {cluster.address} {big}; echo $? >&2; }} | head -1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (status.stdout, status.stderr) == ("1\n", "141\n")


def test_follow_runs_to_the_end_and_exits_by_status_without_it_what_is_stored_now(cluster):
    slow = cluster.run("echo first; sleep 3; echo second")
    deadline = time.monotonic() + 10
    while (now := cluster.logs(slow)).stdout == b"" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (now.returncode, now.stdout) == (0, b"first\n")  # did not wait for the rest

    ok = cluster.run(numbered(40, "sleep 0.05"))
    failing = cluster.run("echo before; sleep 1; echo why >&2; exit 3")
    followed = cluster.logs(ok, "-f")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.decode().splitlines() == [f"seq={i}" for i in range(1, 41)]
    failed = cluster.logs(failing, "-f")
    assert (failed.returncode, failed.stdout, failed.stderr) == (1, b"before\n", b"why\n")
    assert cluster.logs(failing).returncode == 0  # without -f: 0 once printed

    rest = cluster.logs(slow, "-f", "--since-seq", "1")
    assert (rest.returncode, rest.stdout) == (0, b"second\n")


def test_run_follow_shows_the_log_and_exits_as_the_container_did(cluster):
    """`master run -f`: the id on stderr, the task's stdout and stderr as `logs -f` prints
    them, and `docker run`'s exit code convention (125: logcast's own error)."""

    def run_f(*args: str) -> subprocess.CompletedProcess[str]:
        return master_cli(cluster.address, "run", "-f", "--image", *args)

    done = run_f(TEST_IMAGE, "--", "sh", "-c", "echo out; sleep 0.5; echo err >&2; exit 3")
    task_id, *rest = done.stderr.splitlines()
    cluster.tasks.append(task_id)
    assert (done.returncode, done.stdout, rest) == (3, "out\n", ["err"])
    assert re.fullmatch(r"task-\d{6}", task_id)
    fine = run_f(TEST_IMAGE, "--", "sh", "-c", "seq 1 3")
    cluster.tasks.append(fine.stderr.splitlines()[0])
    assert (fine.returncode, fine.stdout) == (0, "1\n2\n3\n")
    never = run_f("nosuch/image:1", "--", "true")  # it never ran: logcast's own error
    assert never.returncode == 125 and never.stderr.count("is not on this worker") == 1
    unreachable = master_cli("127.0.0.1:1", "run", "-f", "--image", TEST_IMAGE, "--", "true")
    assert unreachable.returncode == 125 and "cannot reach the master" in unreachable.stderr


def test_list_tasks_filters_by_status_and_label_newest_first(cluster):
    suite = f"s{uuid.uuid4().hex[:8]}"
    first = cluster.run("true", "--label", f"suite={suite}", "--label", "n=1")
    failed = cluster.run("exit 1", "--label", f"suite={suite}", "--label", "n=2")
    third = cluster.run("true", "--label", f"suite={suite}", "--label", "n=3")
    fourth = cluster.run("true", "--label", f"suite={suite}")  # (the other tasks: no label)
    for task_id in (first, failed, third, fourth):
        assert cluster.logs(task_id, "-f").returncode == (1 if task_id == failed else 0)

    listed = master_cli(
        cluster.address,
        "list-tasks",
        "--status",
        "success",
        "--label",
        f"suite={suite}",
        "--limit",
        "2",
        "--json",
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["task_id"] for r in rows] == [fourth, third]
    assert rows[1]["labels"] == {"suite": suite, "n": "3"}

    both = master_cli(
        cluster.address,
        "list-tasks",
        "--status",
        "success",
        "--label",
        f"suite={suite}",
        "--label",
        "n=1",
    )
    table = both.stdout.splitlines()
    assert table[0].split() == [
        "TASK",
        "STATUS",
        "EXIT",
        "WORKER",
        "LINES",
        "STARTED",
        "IMAGE",
        "LABELS",
        "COMMAND",
    ]
    assert len(table) == 2 and table[1].startswith(first)
    assert f"n=1,suite={suite}" in table[1].split()

    cut = master_cli(cluster.address, "list-tasks", "--label", f"suite={suite}", "--limit", "1")
    assert len(cut.stdout.splitlines()) == 2 and "more tasks match" in cut.stderr

    newest = json.loads(master_cli(cluster.address, "list-tasks", "--json").stdout)
    created = [r["created_at"] for r in newest]
    assert created == sorted(created, reverse=True)


def test_errors_exit_2_and_say_what_is_wrong(cluster):
    unknown = cluster.logs("task-000000")
    assert unknown.returncode == 2 and b"no task task-000000" in unknown.stderr
    malformed = cluster.logs("../etc/passwd")
    assert malformed.returncode == 2 and b"invalid task id" in malformed.stderr
    label = master_cli(
        cluster.address, "run", "--image", TEST_IMAGE, "--label", "oops", "--", "true"
    )
    assert label.returncode == 2 and "a label is KEY=VALUE" in label.stderr
    status = master_cli(cluster.address, "list-tasks", "--status", "done")
    assert status.returncode == 2 and "unknown status 'done'" in status.stderr


def test_follow_survives_a_master_restart_without_gap_or_duplicate(tmp_path, docker_engine):
    port = free_port()
    master = start_master(tmp_path, port)
    worker = start_worker(tmp_path, master.address, f"w{uuid.uuid4().hex[:6]}")
    task_id = ""
    try:
        out = master_cli(
            master.address,
            "run",
            "--image",
            TEST_IMAGE,
            "--",
            "sh",
            "-c",
            numbered(300, "sleep 0.01"),
        )
        task_id = out.stdout.strip()
        follower = subprocess.Popen(
            [MASTER, "logs", "-f", task_id, "--master", master.address],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        master.stop()
        time.sleep(0.5)
        master = start_master(tmp_path, port)
        out_text, err_text = follower.communicate(timeout=60)
        assert follower.returncode == 0, err_text
        assert out_text.splitlines() == [f"seq={i}" for i in range(1, 301)]
        assert "logcast: connection: reconnecting" in err_text
    finally:
        worker.stop()
        master.stop()
        remove_tasks(docker_engine, [task_id])


def test_a_log_removed_by_retention_says_it_expired(tmp_path, docker_engine):
    master = start_master(tmp_path, free_port())
    name = f"w{uuid.uuid4().hex[:6]}"
    data = tmp_path / "worker-data"

    def worker() -> Proc:
        return start_worker(
            tmp_path, master.address, name, "--data-dir", str(data), "--retention-age", "1s"
        )

    running = worker()
    task_id = ""
    try:
        out = master_cli(master.address, "run", "--image", TEST_IMAGE, "--", "echo", "hi")
        task_id = out.stdout.strip()
        assert master_cli(master.address, "logs", task_id, "-f").stdout == "hi\n"
        running.stop()
        time.sleep(1.2)
        running = worker()  # retention sweeps at start: the log is older than 1 s
        deadline = time.monotonic() + 10  # until the master heard (an expired task is not listed)
        while task_id in master_cli(master.address, "list-tasks").stdout:
            assert time.monotonic() < deadline, "the master never heard of the expiry"
            time.sleep(0.2)
        started = time.monotonic()
        gone = master_cli(master.address, "logs", task_id)
        assert gone.returncode == 2 and gone.stdout == ""
        assert f"the log of {task_id} has expired (removed by retention)" in gone.stderr
        assert time.monotonic() - started < 5  # said at once, not retried
    finally:
        running.stop()
        master.stop()
        remove_tasks(docker_engine, [task_id])
