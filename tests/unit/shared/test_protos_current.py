"""The checked-in generated gRPC code matches shared/protos/logcast.proto."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_generated_code_is_current(tmp_path):
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen-protos"), str(tmp_path)],
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    for name in ("logcast_pb2.py", "logcast_pb2.pyi", "logcast_pb2_grpc.py"):
        fresh = (tmp_path / "shared" / "protos" / name).read_text()
        checked_in = (ROOT / "shared" / "protos" / name).read_text()
        assert fresh == checked_in, f"{name} is stale: run scripts/gen-protos"
