"""The README's first quick-start command, as a newcomer runs it (output piped: plain mode)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.docker


def test_scripts_demo_runs_master_worker_and_a_demo_task(docker_engine):
    try:
        done = subprocess.run(
            ["scripts/demo"], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    finally:
        subprocess.run(["scripts/demo", "stop"], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1 + 6 + 300 + 12 + 3 + 1  # start, phases, records, warnings, errors, done
    assert "\x1b[1;36m[start]\x1b[0m Starting Process..." == lines[0]
    assert lines[-1].endswith("Complete! 300 records processed")
    assert "Task Completed - Status: success (exit code 0)" in done.stderr
