"""Client commands start fast: they import what a client needs, not the server stack."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("worker", "docker", "aiohttp", "websockets", "textual", "master.running")


def test_client_commands_do_not_import_the_server_the_worker_or_docker():
    code = (
        "import sys, master.cli, master.monitor, master.plain, master.master_client, master.logs\n"
        "import master.merged_monitor, master.merged_plain\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == [], heavy  # bench/startup.py: monitor --plain 369 -> 147 ms (median)
