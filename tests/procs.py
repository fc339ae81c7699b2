"""Run real ``master`` and ``worker`` processes for tests (loopback, free ports)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.access import seed

BIN = Path(sys.executable).parent
MASTER = str(BIN / "master")
WORKER = str(BIN / "worker")
_LISTENING = re.compile(r"listening on (\S+)")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process whose stderr goes to a file; knows the address it announced."""

    def __init__(self, args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.args = list(args)
        self.log = log
        self._file = open(log, "ab")  # closed in stop()
        self.popen = subprocess.Popen(
            self.args,
            stdout=subprocess.DEVNULL,
            stderr=self._file,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self.address = ""

    def wait_listening(self, timeout: float = 30.0) -> str:
        """Wait for the "... listening on ADDRESS" line; return ADDRESS."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = _LISTENING.search(self.log.read_text(errors="replace"))
            if m:
                self.address = m.group(1)
                return self.address
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.args[0]} exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.args} did not start: {self.log.read_text()[-2000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        self.popen.wait(timeout=30)
        self._file.close()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def cluster_port(tmp: Path, port: int) -> int:
    """The cluster port of the master with gRPC port ``port`` in ``tmp``: kept, so a master
    started again there is where its workers (their certificates name it) look for it."""
    path = tmp / f"cluster-port-{port}"
    if not path.exists():
        path.write_text(str(free_port()))
    return int(path.read_text())


def start_master(tmp: Path, port: int, *extra: str) -> Proc:
    seed(tmp / "state")  # the session's owner credential: the test's clients find it
    cluster = [] if "--cluster" in extra else ["--cluster", f"127.0.0.1:{cluster_port(tmp, port)}"]
    proc = Proc(
        [MASTER, "serve", "--grpc", f"127.0.0.1:{port}", "--http", "127.0.0.1:0", *cluster, *extra],
        tmp / f"master-{port}.log",
        env={"LOGCAST_STATE_DIR": str(tmp / "state")},
    )
    proc.wait_listening()
    return proc


def start_worker(tmp: Path, master: str, name: str, *extra: str) -> Proc:
    seed(tmp / "state")  # its heartbeats carry the owner's credential
    proc = Proc(
        [WORKER, "serve", "--master", master, "--listen", "127.0.0.1:0", "--name", name, *extra],
        tmp / f"worker-{name}.log",
        env={"LOGCAST_STATE_DIR": str(tmp / "state")},
    )
    proc.wait_listening()
    return proc


def master_cli(master: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``master ARGS --master ADDRESS``; capture its output."""
    return subprocess.run(
        [MASTER, *args[:1], "--master", master, *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
