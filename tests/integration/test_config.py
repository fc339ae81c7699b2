"""Settings of real `master serve` / `worker serve` processes: a TOML file, LOGCAST_*
variables and flags in that order of precedence, `master config` / `worker config` showing
each value's source, bad values refused at start naming the key and where it came from, and
SIGHUP reloading what can change live."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.access import seed
from tests.procs import MASTER, WORKER, Proc, free_port, master_cli

pytestmark = pytest.mark.docker


def cli(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}
    )


def wait_for(log: Path, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {log}: {log.read_text()[-3000:]}")


def test_the_file_then_the_environment_then_the_flags(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    http, grpc_file, grpc_env = free_port(), free_port(), free_port()
    (state / "master.toml").write_text(
        f'http = "127.0.0.1:{http}"\ngrpc = "127.0.0.1:{grpc_file}"\nworker_timeout = 7\n'
        'log_format = "json"\n'
    )
    env = {
        "LOGCAST_STATE_DIR": str(state),
        "LOGCAST_GRPC": f"127.0.0.1:{grpc_env}",
        "LOGCAST_LOG_FORMAT": "json",
    }
    shown = cli(MASTER, "config", "--log-format", "text", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)["settings"]
    assert json.loads(shown.stdout)["file"] == str(state / "master.toml")
    assert settings["http"] == {"value": f"127.0.0.1:{http}", "source": f"file {state}/master.toml"}
    assert settings["grpc"] == {"value": f"127.0.0.1:{grpc_env}", "source": "env LOGCAST_GRPC"}
    assert settings["log_format"] == {"value": "text", "source": "flag --log-format"}
    assert settings["worker_timeout"]["value"] == 7.0
    assert settings["max_finished_tasks"]["source"] == "default"
    table = cli(MASTER, "config", env=env).stdout
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}
    assert rows["grpc"] == [f"127.0.0.1:{grpc_env}", "env", "LOGCAST_GRPC"]

    # the server does what `master config` said
    proc = Proc(
        [MASTER, "serve", "--log-format", "text", "--cluster", "127.0.0.1:0"],
        tmp_path / "master.log",
        env=env,
    )
    try:
        assert proc.wait_listening() == f"127.0.0.1:{grpc_env}"  # the variable beat the file
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=10) as resp:
            assert resp.status == 200  # the file's HTTP address
        assert not proc.log.read_text().lstrip().startswith("{")  # the flag beat both: text
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("file", "env", "expected"),
    [
        ('retention_age = "forever"\n', {}, "key 'retention_age': 'forever' refused"),
        ("queue_lines = 0\n", {}, "key 'queue_lines': expected an integer >= 1, got 0"),
        ('listen = "127.0.0.1:0"\nlisten_address = "x"\n', {}, "unknown key 'listen_address'"),
        ("listen = \n", {}, "not valid TOML"),
        ("", {"LOGCAST_DRAIN": "maybe"}, "environment variable LOGCAST_DRAIN: expected true"),
        (None, {}, "no such configuration file"),
    ],
)
def test_bad_settings_are_refused_at_start_naming_the_key_and_where(tmp_path, file, env, expected):
    path = tmp_path / "worker.toml"
    if file is not None:
        path.write_text(file)
    env = {"LOGCAST_STATE_DIR": str(tmp_path / "state"), **env}
    for command in ("serve", "config"):
        done = cli(WORKER, command, "--config", str(path), "--listen", "127.0.0.1:0", env=env)
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr
        if "LOGCAST" not in expected:
            assert str(path) in done.stderr  # names the file
        assert "listening" not in done.stderr  # refused before serving


def test_sighup_reloads_the_log_level_and_format_and_says_what_waits_for_a_restart(tmp_path):
    state = seed(tmp_path / "state")  # the owner's credential the test's CLI calls send
    config = state / "master.toml"
    config.write_text('log_level = "info"\nmax_finished_tasks = 1000\n')
    env = {"LOGCAST_STATE_DIR": str(state)}
    port = free_port()
    proc = Proc(
        [
            MASTER,
            "serve",
            "--local-worker",
            "--grpc",
            f"127.0.0.1:{port}",
            "--http",
            "127.0.0.1:0",
            "--cluster",
            "127.0.0.1:0",
        ],
        tmp_path / "master.log",
        env=env,
    )
    try:
        address = proc.wait_listening()
        task = master_cli(address, "run", "--image", "logcast/busybox:test", "--", "echo", "hi")
        task_id = task.stdout.strip()
        assert master_cli(address, "logs", task_id, "-f").stdout == "hi\n"
        assert " follows " not in proc.log.read_text()  # a debug line: not at info
        config.write_text(
            'log_level = "debug"\nlog_format = "json"\nmax_finished_tasks = 50\n'
            'worker_timeout = 9\nlog_levl = "x"\n'  # a typo: refused, nothing changes
        )
        proc.popen.send_signal(signal.SIGHUP)
        wait_for(proc.log, "configuration not reloaded")
        assert "unknown key 'log_levl'" in proc.log.read_text()
        good = 'log_level = "debug"\nlog_format = "json"\nmax_finished_tasks = 50\n'
        config.write_text(good + "worker_timeout = 9\n")
        proc.popen.send_signal(signal.SIGHUP)
        text = wait_for(proc.log, "max_finished_tasks is now 50")
        assert "worker_timeout changed to 9.0" in text and "next start" in text
        assert master_cli(address, "logs", task_id).stdout == "hi\n"
        after = wait_for(proc.log, " follows ")  # debug now, and one JSON object per line
        follows = [ln for ln in after.splitlines() if " follows " in ln][-1]
        assert json.loads(follows)["level"] == "debug"
        assert proc.popen.poll() is None  # still serving
    finally:
        proc.stop()
