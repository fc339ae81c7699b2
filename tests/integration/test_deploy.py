"""The service units in deploy/systemd, checked by systemd itself (`systemd-analyze verify`:
syntax, every directive known, the commands executable), with their paths pointed at this
checkout's virtualenv; and the options they pass are ones the servers accept."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
VENV = ROOT / ".venv"


def rendered(unit: Path, tmp: Path) -> Path:
    out = tmp / unit.name
    out.write_text(unit.read_text().replace("/opt/logcast/.venv", str(VENV)))
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="scripts/setup --browser")
def test_units_verify_cleanly(tmp_path):
    assert [u.name for u in UNITS] == ["logcast-master.service", "logcast-worker.service"]
    for unit in UNITS:
        out = subprocess.run(
            ["systemd-analyze", "verify", str(rendered(unit, tmp_path))],
            capture_output=True,
            text=True,
            timeout=60,
        )
        # an unknown directive is only a warning for systemd: no output at all is the bar
        assert out.returncode == 0 and out.stderr.strip() == "", (unit.name, out.stderr)
        text = unit.read_text()
        for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory="):
            assert hardening in text, (unit.name, hardening)


def test_the_units_commands_are_accepted_by_the_servers():
    from master.cli import build_parser as master_parser
    from worker.cli import build_parser as worker_parser

    parsers = {"master": master_parser, "worker": worker_parser}
    for unit in UNITS:
        exec_start = re.search(r"^ExecStart=(.+)$", unit.read_text(), re.M)
        assert exec_start, unit.name
        program, *args = shlex.split(exec_start.group(1))
        assert program.startswith("/opt/logcast/.venv/bin/"), program
        # the server's own parser: an unknown option or a bad value exits (SystemExit)
        parsed = parsers[Path(program).name]().parse_args(args)
        assert parsed.command == "serve" and parsed.log_format == "json"
        # `systemctl reload` re-reads the settings (SIGHUP)
        assert re.search(r"^ExecReload=/bin/kill -HUP \$MAINPID$", unit.read_text(), re.M)
