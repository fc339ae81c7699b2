"""What every benchmark uses: real processes, CPU and memory readings, timestamps, medians.

Benchmarks measure the real thing: `master serve` and `worker serve` run as their own
processes (so their CPU and memory can be read from /proc), Docker is the host's engine,
clients are `websockets` clients or `docker logs -f`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
IMAGE = "logcast/busybox:test"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
_LISTENING = re.compile(r"listening on (\S+)")
_WEB = re.compile(r"and http://(\S+)/")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident memory of a process."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def dockerd_pid() -> int:
    """The Docker engine's process."""
    out = subprocess.run(["pgrep", "-xo", "dockerd"], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


_SECONDS: dict[str, float] = {}


def ts_seconds(ts: str) -> float:
    """Docker's RFC 3339 nano timestamp as unix seconds (float). The whole-second part is
    cached: clients time hundreds of thousands of lines and must not become the bottleneck."""
    head, _, frac = ts.rstrip("Z").partition(".")
    base = _SECONDS.get(head)
    if base is None:
        base = _SECONDS[head] = (
            datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
        )
    return base + float("0." + (frac or "0"))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class Proc:
    """A logcast process started by a benchmark."""

    popen: subprocess.Popen[bytes]
    log: Path
    address: str = ""
    http: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def _start(args: list[str], log: Path) -> Proc:
    handle = log.open("ab")
    popen = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=handle, start_new_session=True)
    proc = Proc(popen, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        m = _LISTENING.search(text)
        if m:
            proc.address = m.group(1)
            w = _WEB.search(text)
            proc.http = w.group(1) if w else ""
            return proc
        if popen.poll() is not None:
            raise RuntimeError(f"{args[0]} exited:\n{text[-3000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"{args} did not start")


@dataclass
class Cluster:
    """A master and a worker as separate processes."""

    master: Proc
    worker: Proc
    tmp: Path
    worker_name: str

    def stop(self) -> None:
        self.worker.stop()
        self.master.stop()
        client = docker.from_env(version="auto")
        for c in client.api.containers(
            all=True, filters={"label": f"logcast.worker={self.worker_name}"}
        ):
            client.api.remove_container(c["Id"], force=True)


def start_cluster(*worker_args: str) -> Cluster:
    """`master serve` + `worker serve`, on free loopback ports."""
    tmp = Path(tempfile.mkdtemp(prefix="logcast-bench-"))
    master = _start(
        [
            str(BIN / "master"),
            "serve",
            "--grpc",
            f"127.0.0.1:{free_port()}",
            "--http",
            f"127.0.0.1:{free_port()}",
            "--log-level",
            "warning",
        ],
        tmp / "master.log",
    )
    name = f"bench{os.getpid()}"
    worker = _start(
        [
            str(BIN / "worker"),
            "serve",
            "--master",
            master.address,
            "--listen",
            "127.0.0.1:0",
            "--name",
            name,
            "--log-level",
            "warning",
            *worker_args,
        ],
        tmp / "worker.log",
    )
    time.sleep(1.0)  # first heartbeat
    return Cluster(master, worker, tmp, name)


def run_task(cluster: Cluster, script: str) -> str:
    """Submit ``sh -c script`` through the CLI; return the task id."""
    out = subprocess.run(
        [
            str(BIN / "master"),
            "run",
            "--master",
            cluster.master.address,
            "--image",
            IMAGE,
            "--",
            "sh",
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@dataclass
class Result:
    """One benchmark's outcome, as written to JSON and docs/BENCHMARKS.md."""

    number: int
    name: str
    logcast: str  # the headline figure for logcast, with its unit
    comparison: str  # the same for what it is compared with
    ratio: float | None  # logcast / comparison in the target's sense
    target: str
    met: bool | None
    raw: Mapping[str, object] = field(default_factory=dict)
    notes: str = ""


def machine() -> dict[str, object]:
    """Where the numbers were measured."""
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    docker_version = docker.from_env(version="auto").version().get("Version", "?")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker": docker_version,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def interleave(
    rounds: int, cases: dict[str, Callable[[], dict[str, float]]]
) -> dict[str, list[dict]]:
    """Run each case once per round, in order (A B A B ...); collect each run's figures."""
    out: dict[str, list[dict]] = {name: [] for name in cases}
    for r in range(rounds):
        for name, case in cases.items():
            figures = case()
            print(f"    round {r + 1} {name}: {figures}", flush=True)
            out[name].append(figures)
    return out
