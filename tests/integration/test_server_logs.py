"""`master serve --log-format json`: every line the server writes to stderr is one JSON
object, task events name their task; a bad value is refused at start. Real processes."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.fixtures import TEST_IMAGE
from tests.procs import MASTER, free_port, master_cli, start_master

pytestmark = pytest.mark.docker


def test_json_server_log_is_one_object_per_line_naming_the_task(tmp_path):
    master = start_master(tmp_path, free_port(), "--local-worker", "--log-format", "json")
    try:
        run = master_cli(master.address, "run", "--image", TEST_IMAGE, "--", "echo", "hi")
        assert run.returncode == 0, run.stderr
        task_id = run.stdout.strip()
        done = master_cli(master.address, "logs", task_id, "-f")
        assert done.returncode == 0 and done.stdout == "hi\n", done.stderr
    finally:
        master.stop()
    lines = [ln for ln in master.log.read_text().splitlines() if ln.strip()]
    entries = [json.loads(ln) for ln in lines]  # every line parses: nothing else on stderr
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any("listening on" in e["message"] for e in entries)
    placed = [e for e in entries if e["message"].startswith(f"placed {task_id}")]
    assert placed and placed[0]["task"] == task_id


def test_a_bad_log_format_or_level_is_refused_naming_the_option():
    for option, value in (("--log-format", "xml"), ("--log-level", "loud")):
        out = subprocess.run(
            [MASTER, "serve", option, value], capture_output=True, text=True, timeout=30
        )
        assert out.returncode == 2 and option in out.stderr and value in out.stderr
