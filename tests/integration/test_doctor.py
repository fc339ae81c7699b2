"""``worker doctor`` and ``master doctor`` as an operator runs them: real processes, this
host's Docker engine and inotify limits, a real master with its embedded worker."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.access import seed
from tests.procs import MASTER, WORKER, free_port, master_cli, start_master

pytestmark = pytest.mark.docker

INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")


@contextlib.contextmanager
def inotify_instances(value: int) -> Iterator[None]:
    """This host's fs.inotify.max_user_instances set to ``value`` (the test runs as root),
    restored afterwards whatever happens."""
    saved = INSTANCES.read_text()
    INSTANCES.write_text(f"{value}\n")
    try:
        yield
    finally:
        INSTANCES.write_text(saved)


def run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """A doctor command, with no master configured by the environment and state in tmp."""
    env = {k: v for k, v in os.environ.items() if k != "LOGCAST_MASTER"}
    env["LOGCAST_STATE_DIR"] = str(seed(tmp_path / "state"))  # the owner's credential
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, env=env)


def worker_doctor(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``worker doctor`` on a free port and a fresh data directory (``extra`` overrides)."""
    data = str(tmp_path / "data")
    return run(tmp_path, WORKER, "doctor", "--listen", "127.0.0.1:0", "--data-dir", data, *extra)


def line_of(out: str, status: str, name: str) -> tuple[str, str]:
    """The report line of check ``name`` (which must have ``status``), and the line after."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.split()[:2] == [status, name]:
            return line, lines[i + 1] if i + 1 < len(lines) else ""
    raise AssertionError(f"no {status!r} line for {name!r} in:\n{out}")


def test_worker_doctor_names_the_low_inotify_limit_and_the_sysctl_fix(docker_engine, tmp_path):
    """At the default limit (128) the inotify line warns, names the limit and the fix; a
    warning exits 0."""
    with inotify_instances(128):
        out = worker_doctor(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    line, fix = line_of(out.stdout, "warn", "inotify")
    assert "fs.inotify.max_user_instances is 128" in line
    assert fix.lstrip().startswith("fix: sysctl -w fs.inotify.max_user_instances=1024")
    assert "/etc/sysctl.d/" in fix
    assert re.search(r"^ok +docker +reachable at \S+: Docker \S+ \(API [\d.]+\)$", out.stdout, re.M)
    line_of(out.stdout, "ok", "data-dir")
    line_of(out.stdout, "note", "clock")  # no master configured: standalone
    assert out.stdout.splitlines()[-1].endswith(", no failure")


def test_worker_doctor_is_ok_at_the_recommended_inotify_limit(docker_engine, tmp_path):
    with inotify_instances(1024):
        out = worker_doctor(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    line, _ = line_of(out.stdout, "ok", "inotify")
    assert "fs.inotify.max_user_instances is 1024" in line
    assert "warn  inotify " not in out.stdout


def test_a_data_dir_that_cannot_be_created_fails_clearly_with_exit_1(docker_engine, tmp_path):
    """Even root cannot create a directory under a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = worker_doctor(tmp_path, "--data-dir", str(blocker / "data"), "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    body = json.loads(out.stdout)
    assert (body["status"], body["exit_code"]) == ("fail", 1)
    (check,) = [c for c in body["checks"] if c["name"] == "data-dir"]
    assert check["status"] == "fail"
    assert check["found"] == f"{blocker / 'data'} cannot be used: {blocker} is not a directory"
    assert "--data-dir DIR" in check["fix"]
    assert [c["name"] for c in body["checks"] if c["status"] == "fail"] == ["data-dir"]


def test_a_listen_port_already_taken_fails_clearly_with_exit_1(docker_engine, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        started = time.monotonic()
        out = worker_doctor(tmp_path, "--listen", f"127.0.0.1:{port}")
        took = time.monotonic() - started
    assert out.returncode == 1, out.stdout + out.stderr
    line, fix = line_of(out.stdout, "fail", "listen")
    assert f"--listen 127.0.0.1:{port} is in use by another program" in line
    assert f"ss -ltnp 'sport = :{port}'" in fix
    assert out.stdout.splitlines()[-1].endswith("1 failure")
    assert took < 15  # asking "is it a logcast server?" does not wait long on a silent port


def test_master_doctor_without_a_running_master_warns_and_exits_0(tmp_path):
    nobody = f"127.0.0.1:{free_port()}"
    out = run(
        tmp_path,
        MASTER,
        "doctor",
        "--master",
        nobody,
        "--grpc",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    line, fix = line_of(out.stdout, "warn", "master")
    assert f"no master answers at {nobody} (connection refused)" in line
    assert "master serve" in fix


def test_master_doctor_shows_the_running_masters_worker_alive_with_a_small_skew(
    docker_engine, tmp_path
):
    port = free_port()
    address = f"127.0.0.1:{port}"
    master = start_master(tmp_path, port, "--local-worker")
    try:
        deadline = time.monotonic() + 20
        workers: list[dict] = []
        while not any(w["alive"] and w["clock_skew"] is not None for w in workers):
            assert time.monotonic() < deadline, "the embedded worker did not register"
            time.sleep(0.2)
            workers = json.loads(master_cli(address, "workers", "--json").stdout)
        (worker,) = workers
        name = worker["name"]
        assert abs(worker["clock_skew"]) < 0.5  # one host, one clock: the transit time

        table = master_cli(address, "workers").stdout.splitlines()
        assert table[0].split()[-1] == "SKEW"
        assert re.search(r" [+-]\d+\.\d{3} s$", table[1]), table

        out = run(
            tmp_path,
            MASTER,
            "doctor",
            "--master",
            address,
            "--grpc",
            address,
            "--http",
            "127.0.0.1:0",
            "--local-worker",
        )
        assert out.returncode == 0, out.stdout + out.stderr
        line, _ = line_of(out.stdout, "ok", f"worker:{name}")
        skew = re.search(r"worker \S+ alive: clock skew ([+-]\d+\.\d{3}) s", line)
        assert skew and abs(float(skew.group(1))) < 0.5, line
        line, _ = line_of(out.stdout, "ok", "master")
        assert "1 worker(s), 1 alive" in line
        line, _ = line_of(out.stdout, "note", "grpc")
        assert "a master is already running there" in line
        line_of(out.stdout, "ok", "docker")  # --local-worker: Docker is checked

        out = worker_doctor(tmp_path, "--master", address, "--name", name)
        line, _ = line_of(out.stdout, "ok", "clock")
        assert f"worker {name} registered at {address}: clock skew" in line
        out = worker_doctor(tmp_path, "--master", address, "--name", "not-there")
        line, fix = line_of(out.stdout, "warn", "clock")
        assert "not registered" in line and "--name not-there" in fix
    finally:
        master.stop()
