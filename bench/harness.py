"""What every benchmark uses: real processes, CPU and memory readings, timestamps, medians.

Benchmarks measure the real thing: `master serve` and `worker serve` run as their own
processes (so their CPU and memory can be read from /proc), Docker is the host's engine,
clients are `websockets` clients or `docker logs -f`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import re
import shutil
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
from typing import TYPE_CHECKING

import docker

if TYPE_CHECKING:
    import grpc

    from shared.model import TaskInfo

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
    return _cpu_ticks(Path(f"/proc/{pid}/stat")) / CLK_TCK


def _cpu_ticks(stat: Path) -> int:
    """User + system clock ticks in a ``/proc/.../stat`` file (a process's or a thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def thread_cpu_seconds(pid: int, name: str) -> float:
    """User + system CPU seconds so far of a process's threads whose OS name is ``name``
    (``/proc/<pid>/task/*/comm``; 0 when it has none)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == name:
                total += _cpu_ticks(task / "stat")
        except OSError:  # the thread ended meanwhile
            continue
    return total / CLK_TCK


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


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """``min-max`` of a benchmark's rounds, each formatted with ``fmt``."""
    if not values:
        return "-"
    return f"{fmt.format(min(values))}-{fmt.format(max(values))}"


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
    cluster: str = ""  # a master's cluster port (where workers report)

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
    store: bool = True  # the worker stores every line (False: `worker serve --no-store`)
    metrics: str = ""  # the worker's --metrics address ("": not served, the flow not counted)
    other: Proc | None = None  # a second master the worker also reports to (--also-master)
    embedded: bool = False  # `master serve --local-worker`: ``worker`` is ``master``

    def worker_channel(self) -> grpc.aio.Channel:
        """A channel to the worker holding its master's certificate (the benchmarks' masters
        use the default state directory, where the master keeps its CA and certificate)."""
        from master.cluster import ClusterAuthority
        from shared import pki
        from shared.grpc_options import channel_options
        from shared.paths import default_state_dir
        from shared.tls_grpc import mutual_channel

        authority = ClusterAuthority(default_state_dir())
        authority.open()
        return mutual_channel(
            self.worker.address,
            authority.master_identity(),
            authority.ca_cert,
            pki.worker_dns(self.worker_name),
            channel_options(),
        )

    @property
    def data_dir(self) -> Path:
        """The worker's store (``--data-dir``), under the cluster's temporary directory."""
        return self.tmp / "worker-data"

    def stop(self) -> None:
        self.worker.stop()
        self.master.stop()
        if self.other is not None:
            self.other.stop()
        client = docker.from_env(version="auto")
        for c in client.api.containers(
            all=True, filters={"label": f"logcast.worker={self.worker_name}"}
        ):
            client.api.remove_container(c["Id"], force=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)  # keep only the processes' logs
        if self.embedded:
            shutil.rmtree(self.tmp / "state", ignore_errors=True)


_CLUSTERS = itertools.count(1)


def start_cluster(
    *worker_args: str,
    store: bool = True,
    master_args: tuple[str, ...] = (),
    metrics: bool = False,
    second_master: bool = False,
) -> Cluster:
    """`master serve` + `worker serve`, on free loopback ports. The worker's store lives in the
    cluster's temporary directory (removed by :meth:`Cluster.stop`); ``store=False`` runs the
    worker with ``--no-store`` (memory only), ``metrics=True`` with ``--metrics`` (it then
    counts its log flow), for side-by-side measurements. ``second_master=True`` also starts a
    second master on the same (default) state directory, which the worker reports to as well
    (``--also-master``): :attr:`Cluster.other`."""
    tmp = Path(tempfile.mkdtemp(prefix="logcast-bench-"))
    master = _start_master(tmp / "master.log", master_args)
    other = _start_master(tmp / "master2.log", master_args) if second_master else None
    name = f"bench{os.getpid()}-{next(_CLUSTERS)}"  # two clusters at once never share a label
    store_args = ["--data-dir", str(tmp / "worker-data")] if store else ["--no-store"]
    metrics_address = f"127.0.0.1:{free_port()}" if metrics else ""
    if metrics:
        store_args += ["--metrics", metrics_address]
    if other is not None:
        store_args += ["--also-master", other.cluster]
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
            *store_args,
            *worker_args,
        ],
        tmp / "worker.log",
    )
    time.sleep(1.0)  # first heartbeat
    return Cluster(master, worker, tmp, name, store, metrics_address, other)


def start_embedded() -> Cluster:
    """The quick start's shape: `master serve --local-worker`, one process with its worker in
    it (the master calls it in process), with a state directory of its own in the cluster's
    temporary directory (holding the default one's owner credential, so the clients and the
    CLI reach it as they reach the other masters)."""
    from master.access import CREDENTIAL_FILES, MasterAccess
    from master.running import embedded_worker_name
    from shared.paths import default_state_dir

    tmp = Path(tempfile.mkdtemp(prefix="logcast-bench-"))
    state = tmp / "state"
    state.mkdir(mode=0o700)
    MasterAccess(default_state_dir()).open()  # the owner credential, made once
    for name in CREDENTIAL_FILES:
        shutil.copy2(default_state_dir() / name, state / name)
    master = _start_master(tmp / "master.log", ("--local-worker", "--state-dir", str(state)))
    name = embedded_worker_name(state)  # (the master made it at start)
    time.sleep(1.0)  # first heartbeat
    return Cluster(master, master, tmp, name, embedded=True)


def _start_master(log: Path, args: tuple[str, ...]) -> Proc:
    cluster = f"127.0.0.1:{free_port()}"
    master = _start(
        [
            str(BIN / "master"),
            "serve",
            "--grpc",
            f"127.0.0.1:{free_port()}",
            "--http",
            f"127.0.0.1:{free_port()}",
            "--cluster",
            cluster,
            "--log-level",
            "warning",
            *args,
        ],
        log,
    )
    master.cluster = cluster
    return master


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


async def start_tasks(cluster: Cluster, script: str, n: int, *, at_once: int = 10) -> list[str]:
    """Run ``n`` tasks of ``sh -c script`` through the master's API, ``at_once`` at a time
    (Docker creates containers in turn: many at once time out); their ids."""
    from master.master_client import MasterClient
    from shared.model import TaskSpec

    tasks: list[str] = []
    async with MasterClient(cluster.master.address, timeout=120) as client:
        while len(tasks) < n:
            wave = min(at_once, n - len(tasks))
            infos = await asyncio.gather(
                *(client.run(TaskSpec("", IMAGE, ("sh", "-c", script))) for _ in range(wave))
            )
            tasks += [info.task_id for info in infos]
    return tasks


def task_info(cluster: Cluster, task: str) -> TaskInfo:
    """The master's info of one task."""
    from master.master_client import MasterClient

    async def get() -> TaskInfo:
        async with MasterClient(cluster.master.address) as client:
            return await client.get(task)

    return asyncio.run(get())


def wait_finished(cluster: Cluster, task: str, timeout: float = 300.0) -> TaskInfo:
    """Poll the master until ``task`` has its final status (without following its log)."""
    deadline = time.monotonic() + timeout
    while True:
        info = task_info(cluster, task)
        if info.status.is_final:
            return info
        if time.monotonic() > deadline:
            raise TimeoutError(f"{task} still {info.status} after {timeout:g} s")
        time.sleep(0.25)


@dataclass
class Result:
    """One benchmark's outcome, as written to JSON and docs/BENCHMARKS.md."""

    number: int | str  # "1s": benchmark 1 with the store on vs off; "11a": part a of 11
    name: str
    logcast: str  # the headline figure for logcast, with its unit
    comparison: str  # the same for what it is compared with
    ratio: float | None  # logcast / comparison in the target's sense
    target: str
    met: bool | None
    raw: Mapping[str, object] = field(default_factory=dict)
    notes: str = ""
    spread: str = ""  # min-max over the rounds (of the figure or of the ratio, as it says)


def store_ab(
    number: str,
    name: str,
    on: list[float],
    off: list[float],
    *,
    unit: str,
    fmt: str = "{:,.0f}",
    higher_is_better: bool = True,
    raw: Mapping[str, object] | None = None,
    notes: str = "",
) -> Result:
    """A benchmark's figure with the worker's store on against the same with it off
    (``worker serve --no-store``), from rounds run interleaved (on, off, on, off, ...).

    The ratio is the median of the per-round ratios, in the performance sense (on / off for a
    rate, off / on for a cost such as CPU per line): target >= 0.95, the store keeps at least
    95% of the memory-only performance."""
    return paired_ab(
        number,
        name,
        on,
        off,
        labels=("store on", "store off (--no-store)"),
        keys=("store_on", "store_off"),
        at_least=0.95,
        unit=unit,
        fmt=fmt,
        higher_is_better=higher_is_better,
        raw=raw,
        notes=notes,
    )


def paired_ab(
    number: str,
    name: str,
    on: list[float],
    off: list[float],
    *,
    labels: tuple[str, str],
    keys: tuple[str, str],
    at_least: float,
    unit: str,
    fmt: str = "{:,.0f}",
    higher_is_better: bool = True,
    raw: Mapping[str, object] | None = None,
    notes: str = "",
) -> Result:
    """A figure with a feature on against the same with it off, from interleaved rounds: the
    median of the per-round ratios in the performance sense (on / off for a rate, off / on
    for a cost), met when at least ``at_least``."""
    pairs = list(zip(on, off, strict=True))
    ratios = [a / b if higher_is_better else b / a for a, b in pairs]
    ratio = median(ratios)
    return Result(
        number,
        name,
        f"{labels[0]}: {fmt.format(median(on))} {unit}",
        f"{labels[1]}: {fmt.format(median(off))} {unit}",
        ratio,
        f">= {at_least:.2f}x" + ("" if higher_is_better else " (off / on cost)"),
        ratio >= at_least,
        raw=raw or {keys[0]: on, keys[1]: off, "ratios": ratios},
        notes=notes,
        spread=f"ratio {spread(ratios, '{:.2f}')}; on {spread(on, fmt)}; off {spread(off, fmt)}",
    )


def load_average() -> list[str]:
    """The host's 1, 5 and 15 minute load averages (other work on the 2 cores shows here)."""
    return Path("/proc/loadavg").read_text().split()[:3]


def machine() -> dict[str, object]:
    """Where the numbers were measured."""
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    docker_version = docker.from_env(version="auto").version().get("Version", "?")
    return {
        "loadavg": load_average(),
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


def interleave(rounds: int, cases: dict[str, Callable[[], dict]]) -> dict[str, list[dict]]:
    """Run each case once per round, in order (A B A B ...); collect each run's figures."""
    out: dict[str, list[dict]] = {name: [] for name in cases}
    for r in range(rounds):
        for name, case in cases.items():
            figures = case()
            shown = {k: v for k, v in figures.items() if not isinstance(v, list)}  # no samples
            print(f"    round {r + 1} {name}: {shown}", flush=True)
            out[name].append(figures)
    return out
