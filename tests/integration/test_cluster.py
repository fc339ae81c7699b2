"""Real processes on loopback: `master serve`, two `worker serve`, and the `master` CLI."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from tests.fixtures import TEST_IMAGE, remove_containers
from tests.integration.test_fanout import numbered
from tests.procs import MASTER, free_port, master_cli, start_master, start_worker
from worker.docker_containers import LABEL_WORKER

pytestmark = pytest.mark.docker

WORKER_TIMEOUT = 2.0


@pytest.fixture
def cluster(tmp_path, docker_engine):
    """A master (worker timeout 2 s) and two workers, as separate processes."""
    port = free_port()
    master = start_master(tmp_path, port, "--worker-timeout", str(WORKER_TIMEOUT))
    prefix = f"w{uuid.uuid4().hex[:6]}"
    workers = [
        start_worker(
            tmp_path, master.address, f"{prefix}-{i}", "--keep-containers", "--stop-grace", "2"
        )
        for i in (1, 2)
    ]
    yield master, workers
    for proc in (*workers, master):
        proc.stop()
    ours = lambda labels: labels[LABEL_WORKER].startswith(prefix)  # noqa: E731
    remove_containers(docker_engine.api, keep=ours)


def run_task(master: str, script: str, *extra: str) -> str:
    out = master_cli(master, "run", "--image", TEST_IMAGE, *extra, "--", "sh", "-c", script)
    assert out.returncode == 0, out.stderr
    task_id = out.stdout.strip()
    assert task_id.startswith("task-") and "\n" not in task_id  # one line, nothing else
    return task_id


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def tasks_json(master: str) -> dict[str, dict]:
    out = master_cli(master, "list-tasks", "--json")
    assert out.returncode == 0, out.stderr
    return {t["task_id"]: t for t in json.loads(out.stdout)}


def test_tasks_spread_over_both_workers_and_both_show_alive(cluster):
    master, workers = cluster
    names = {w.args[w.args.index("--name") + 1] for w in workers}
    wait_for(
        lambda: len(json.loads(master_cli(master.address, "workers", "--json").stdout)) == 2,
        10,
        "both workers to register",
    )
    ids = [run_task(master.address, "sleep 60") for _ in range(4)]
    tasks = tasks_json(master.address)
    placed = [tasks[i]["worker"] for i in ids]
    assert set(placed) == names and placed.count(placed[0]) == 2  # least-loaded placement
    listed = json.loads(master_cli(master.address, "workers", "--json").stdout)
    assert {w["name"] for w in listed} == names
    assert all(w["alive"] and w["running_tasks"] == 2 for w in listed), listed
    table = master_cli(master.address, "workers").stdout
    assert table.splitlines()[0].split()[:3] == ["WORKER", "ADDRESS", "STATE"]
    assert table.count("alive") == 2


def test_killed_worker_turns_its_tasks_lost_and_monitors_say_so(cluster):
    master, workers = cluster
    wait_for(
        lambda: len(json.loads(master_cli(master.address, "workers", "--json").stdout)) == 2,
        10,
        "both workers to register",
    )
    ids = [run_task(master.address, numbered(100_000, "sleep 0.1")) for _ in range(2)]
    tasks = tasks_json(master.address)
    victim = workers[0]
    victim_name = victim.args[victim.args.index("--name") + 1]
    doomed = [i for i in ids if tasks[i]["worker"] == victim_name]
    survivor = [i for i in ids if tasks[i]["worker"] != victim_name]
    monitor = subprocess.Popen(
        [MASTER, "monitor", doomed[0], "--plain", "--master", master.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    victim.kill()  # kill -9
    killed_at = time.monotonic()
    out, err = monitor.communicate(timeout=30)
    took = time.monotonic() - killed_at
    assert monitor.returncode == 1
    assert "lost" in err and victim_name in err  # says so, and why
    assert out.count("seq=") >= 5
    assert took <= WORKER_TIMEOUT + 3, f"monitor ended {took:.1f} s after the kill"
    tasks = tasks_json(master.address)
    assert tasks[doomed[0]]["status"] == "lost"
    assert tasks[survivor[0]]["status"] == "running"
    down = {
        w["name"]: w["alive"]
        for w in json.loads(master_cli(master.address, "workers", "--json").stdout)
    }
    assert down[victim_name] is False


def test_plain_monitor_of_a_finished_task_equals_docker_logs(cluster, docker_engine):
    master, _ = cluster
    script = (
        'for i in $(seq 1 200); do echo "out $i"; '
        'if [ $((i % 7)) -eq 0 ]; then echo "err $i" >&2; sleep 0.01; fi; done; '
        "printf '\\033[31mred\\033[0m tab\\there\\n'"
    )
    task_id = run_task(master.address, script)
    done = wait_for(
        lambda: tasks_json(master.address)[task_id]["status"] == "success", 30, "the task to finish"
    )
    assert done
    mon = master_cli(master.address, "monitor", task_id, "--plain")
    assert mon.returncode == 0, mon.stderr
    container = tasks_json(master.address)[task_id]["container_id"]
    docker_logs = subprocess.run(
        ["docker", "logs", container], capture_output=True, text=True, check=True
    )
    merged = subprocess.run(
        f"docker logs {container} 2>&1", shell=True, capture_output=True, text=True, check=True
    )
    assert mon.stdout == merged.stdout
    assert len(mon.stdout.splitlines()) == 200 + 200 // 7 + 1
    assert docker_logs.stderr.count("err") == 200 // 7
    assert f"{task_id}: Task Completed - Status: success (exit code 0)" in mon.stderr


def test_monitor_exit_codes_follow_the_contract(cluster):
    master, _ = cluster
    ok = run_task(master.address, "echo fine")
    bad = run_task(master.address, "echo no; exit 4")
    assert master_cli(master.address, "monitor", ok, "--plain").returncode == 0
    failed = master_cli(master.address, "monitor", bad, "--plain")
    assert failed.returncode == 1 and "failed (exit code 4)" in failed.stderr
    unknown = master_cli(master.address, "monitor", "task-000000", "--plain")
    assert unknown.returncode == 2 and "no task task-000000" in unknown.stderr
    malformed = master_cli(master.address, "monitor", "../etc/passwd", "--plain")
    assert malformed.returncode == 2 and "invalid task id" in malformed.stderr
    usage = master_cli(master.address, "monitor")
    assert usage.returncode == 2
    unreachable = master_cli(f"127.0.0.1:{free_port()}", "monitor", ok, "--plain", timeout=60)
    assert unreachable.returncode == 2 and "cannot reach the master" in unreachable.stderr
    stopped = run_task(master.address, "sleep 30")
    stop = master_cli(master.address, "stop", stopped)
    assert stop.returncode == 0 and stop.stdout.strip() == f"{stopped} cancelled"
    cancelled = master_cli(master.address, "monitor", stopped, "--plain")
    assert cancelled.returncode == 1 and "cancelled" in cancelled.stderr


def test_restarting_the_master_monitors_resume_without_gap_or_duplicate(tmp_path, docker_engine):
    port = free_port()
    master = start_master(tmp_path, port, "--worker-timeout", str(WORKER_TIMEOUT))
    name = f"w{uuid.uuid4().hex[:6]}"
    worker = start_worker(tmp_path, master.address, name)
    try:
        task_id = run_task(master.address, numbered(400, "sleep 0.01"))
        monitors = [
            subprocess.Popen(
                [MASTER, "monitor", task_id, "--plain", "--master", master.address],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        time.sleep(1.5)
        master.stop()
        time.sleep(0.5)
        master = start_master(tmp_path, port, "--worker-timeout", str(WORKER_TIMEOUT))
        for mon in monitors:
            out, err = mon.communicate(timeout=60)
            assert mon.returncode == 0, err
            assert out.splitlines() == [f"seq={i}" for i in range(1, 401)], err
            assert "reconnecting" in err
    finally:
        worker.stop()
        master.stop()
        remove_containers(docker_engine.api, name)


def test_worker_killed_and_restarted_adopts_its_task_and_monitors_continue(tmp_path, docker_engine):
    """kill -9 of a worker, restarted under the same name before the master gives up on it:
    it adopts the task's container, re-reads its log (same seqs), and monitors continue with
    no gap and no duplicate."""
    master = start_master(tmp_path, free_port(), "--worker-timeout", "5")
    name = f"w{uuid.uuid4().hex[:6]}"
    worker = start_worker(tmp_path, master.address, name)
    try:
        task_id = run_task(master.address, numbered(300, "sleep 0.02"))
        monitor = subprocess.Popen(
            [MASTER, "monitor", task_id, "--plain", "--master", master.address],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        worker.kill()  # kill -9: the container keeps running
        worker = start_worker(tmp_path, master.address, name)
        out, err = monitor.communicate(timeout=60)
        assert monitor.returncode == 0, err
        assert out.splitlines() == [f"seq={i}" for i in range(1, 301)]
        assert "reconnecting" in err or "worker unreachable" in err
        assert tasks_json(master.address)[task_id]["status"] == "success"
    finally:
        worker.stop()
        master.stop()
        remove_containers(docker_engine.api, name)


def test_run_of_an_unknown_image_prints_the_id_and_the_reason(cluster):
    master, _ = cluster
    out = master_cli(master.address, "run", "--image", "logcast/nope:1", "--", "true")
    assert out.returncode == 0
    task_id = out.stdout.strip()
    assert task_id.startswith("task-")
    assert "not on this worker" in out.stderr
    mon = master_cli(master.address, "monitor", task_id, "--plain")
    assert mon.returncode == 1 and "failed" in mon.stderr
