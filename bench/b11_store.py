"""11. Store: what keeping every line on the worker's disk costs and gives (worker/store.py).

a. Write rate of `LogStore` alone, in the benchmark process, on the same disk as the cluster's
   store: 1,000,000 realistic lines (Docker timestamps: RFC 3339 with nanoseconds, trailing zeros
   cut as Docker does, ~10 us apart; ~100-byte log-style content; 1 line in 5 on stderr),
   appended in batches of 500-2000 lines (drawn at random), as the broadcaster publishes decoded
   chunks, yielding to the event loop between batches, as fast as the loop goes. Timed from the
   first append until `on_commit` reports the last seq. The lines are made beforehand and frozen
   out of the garbage collector (`gc.freeze`), so neither making them nor traversing them is
   counted. CPU: this process's user + system seconds meanwhile (the writer thread is most of
   it). A fresh store per round. Target >= 200,000 lines/s.
b. Bytes on disk per line once the task's file is closed (WAL checkpointed): the `.db` file over
   the text (content + newline), and over `docker logs --timestamps` text and Docker's own
   json-file (both computed for the same lines). Target <= 1.5x the text. Also for 200,000
   lines of 100 characters of base64 of random bytes (as good as incompressible: at best 3/4)
   and for the short lines of (d)'s real task (`seq`: 1-7 characters).
c. Seek at depth 1M: `read(task, 500000, 0, 1000, 1 MiB)` (what the worker's ReadLogs asks)
   on the 1M-line task of (a), reopened by a fresh `LogStore` (as after a worker restart): the
   first read (opens the reader), then 200 rounds of that read, the first-line latency
   (`max_lines=1` at the same depth) and 1000 lines at a random depth. Target: median <= 10 ms.
   The file is in the page cache (just written): a cold disk is not measured.
d. Export of a finished 1,000,000-line task (`seq 1 1000000` in the busybox image) on a real
   cluster whose worker lets Docker keep the whole log (`--docker-log-max-size 1g`: see f),
   through the master's HTTP export `GET /api/tasks/<id>/log?format=text`, else `master logs`,
   else the worker's ReadLogs over gRPC (the result says which ran); the client counts every
   line. Each round; in the first round also `format=jsonl` and, for comparison, `docker logs`
   of a container that printed the same (reading 1M lines with Docker takes ~25 s: once).
   Target >= 100,000 lines/s.
e. Catch-up of a lossless reader: a task prints 300,000 lines at once, pauses 5 s, then prints
   10,000 lines/s for 5 s. Once the worker's store has the 300,000th line (its ReadLogs answers
   for it), a WebSocket client connects with `after=0&lossless=1&batch=1` (else the master's gRPC
   stream with `lossless`: the result says which) and reads as fast as it can. Figure: lines/s
   up to its 300,000th line; it must get every line in order, nothing dropped, to the end.
   Compared with `docker logs -f` started once Docker has the 300,000th line of the same script
   in a plain container (first round only). On the cluster of (d).
f. A burst of 1,000,000 lines of ~107 bytes (`seq` and 100 x's: ~180 MB of json-file, more
   than Docker keeps of it by default) on the worker as configured by default (the main
   cluster): once finished, every stored line (read back through the worker's ReadLogs) is
   checked against what the task printed.
g. The store at a live pace: 100,000 of (a)'s lines appended at 20,000 lines/s (benchmark 2's
   rate) in batches of 20, 200 or 2000 lines (at live rates Docker delivers a few lines per
   read, and the writer commits whatever is queued as soon as it is free): this process's CPU
   per line less that of the same pacing without a store (one event-loop wake-up per batch:
   ~4 us/line in batches of 20 on this machine), and lines per commit. No target: it shows
   what a commit costs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gc
import http.client
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bench.clients import auth_headers, docker_rm, docker_run
from bench.harness import (
    BIN,
    IMAGE,
    Cluster,
    Result,
    median,
    percentile,
    run_task,
    spread,
    start_cluster,
    wait_finished,
)
from shared.grpc_options import channel_options
from shared.model import STDERR, STDOUT, LogLine, TaskInfo, TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from worker.config import WorkerConfig
from worker.manager import READ_MAX_BYTES, READ_MAX_LINES
from worker.store import LogStore

LINES = 1_000_000
TASK = "task-b11"
WHOLE_LOG = ("--docker-log-max-size", "1g")  # (d), (e): Docker keeps the whole log (no rotation)
_DEFAULTS = WorkerConfig()
DOCKER_KEEPS = f"{_DEFAULTS.docker_log_max_size} x {_DEFAULTS.docker_log_max_file}"
PAD = " " + "x" * 100  # (f): 1M lines of ~107 bytes: ~180 MB of json-file, over the 100m x 2 kept
DEPTH = 500_000
RANDOM_LINES = 200_000
PACE = 20_000  # lines/s (g): the live rate of benchmark 2
PACED_LINES = 100_000
PACED_BATCHES = (20, 200, 2000)
SEEKS = 200
EXPORT_SCRIPT = f"seq 1 {LINES}"
CATCH_UP = 300_000
LIVE_BLOCKS = 50  # then 1000 lines every 100 ms
CATCH_UP_TOTAL = CATCH_UP + LIVE_BLOCKS * 1000
PAUSE = 5  # seconds between the burst and the live lines: the worker has stored the burst
CATCH_UP_SCRIPT = (
    f'sleep 1; seq 1 {CATCH_UP} | sed "s/^/seq=/"; sleep {PAUSE}; i={CATCH_UP // 1000}; '
    f"while [ $i -lt {CATCH_UP // 1000 + LIVE_BLOCKS} ]; do "
    'seq $((i*1000+1)) $(((i+1)*1000)) | sed "s/^/seq=/"; usleep 100000; i=$((i+1)); done'
)

# ------------------------------------------------------------------ realistic lines

_PATHS = ("/api/v1/items", "/api/v1/users", "/healthz", "/api/v1/orders", "/static/app.js")
_METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")


def _request(rng: random.Random, error: bool) -> str:
    """The rest of an application log line after its time: level, thread, request."""
    level = "ERROR" if error else rng.choice(("INFO ", "INFO ", "INFO ", "DEBUG", "WARN "))
    return (
        f"{level} [worker-{rng.randint(1, 16)}] {rng.choice(_METHODS)} "
        f"{rng.choice(_PATHS)}/{rng.randint(1, 999_999)} "
        f"status={500 if error else rng.choice((200, 200, 200, 201, 204, 304, 404))} "
        f"dur={rng.random() * 250:.1f}ms req={rng.getrandbits(32):08x}"
    )


def realistic_lines(n: int, seed: int = 11) -> list[LogLine]:
    """``n`` published lines (seq 1..n) as a container would have them decoded: ~100-byte
    application lines (their own time, then one of 4096 request texts per stream)."""
    rng = random.Random(seed)
    texts = {
        False: [_request(rng, False) for _ in range(4096)],
        True: [_request(rng, True) for _ in range(4096)],
    }
    ns = int(time.time()) * 1_000_000_000
    heads: dict[int, str] = {}
    out: list[LogLine] = []
    add = out.append
    randint, rand = rng.randint, rng.random
    for seq in range(1, n + 1):
        ns += randint(1_000, 19_000)  # ~100,000 lines/s
        seconds, frac = divmod(ns, 1_000_000_000)
        head = heads.get(seconds)
        if head is None:
            head = heads[seconds] = datetime.fromtimestamp(seconds, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S"
            )
        digits = f"{frac:09d}".rstrip("0")  # Go's RFC3339Nano drops trailing zeros
        ts = f"{head}.{digits}Z" if digits else head + "Z"
        error = rand() < 0.2
        content = f"{head[:10]} {head[11:]},{frac // 1_000_000:03d} {texts[error][seq & 4095]}"
        add(LogLine(seq, ts, STDERR if error else STDOUT, content))
    return out


def random_lines(n: int) -> list[LogLine]:
    """``n`` lines of 100 characters of base64 of random bytes (what compression cannot shrink
    below 3/4), with the timestamps of :func:`realistic_lines`."""
    rng = random.Random(3)
    return [
        LogLine(ln.seq, ln.timestamp, ln.stream, base64.b64encode(rng.randbytes(75)).decode())
        for ln in realistic_lines(n, seed=3)
    ]


_JSON_FILE_OVERHEAD = len('{"log":"\\n","stream":"","time":""}\n')


def text_sizes(lines: list[LogLine]) -> dict[str, float]:
    """Bytes per line of the same lines as plain text, `docker logs -t` text and Docker's
    json-file (``{"log":"...\\n","stream":"stdout","time":"..."}``: the contents here are ASCII
    with nothing JSON escapes)."""
    text = sum(len(ln.content) for ln in lines) + len(lines)
    stamps = sum(len(ln.timestamp) + 1 for ln in lines)
    streams = sum(len(ln.stream.value) for ln in lines)
    n = len(lines)
    return {
        "text": text / n,
        "docker_logs_t": (text + stamps) / n,
        "json_file": (text + stamps - 2 * n + streams + _JSON_FILE_OVERHEAD * n) / n,
    }


def interleave_first(
    rounds: int, cases: dict[str, Callable[[], dict[str, float]]], every: str = "logcast"
) -> dict[str, list[dict[str, float]]]:
    """Like :func:`bench.harness.interleave`, but only ``every`` runs in each round; the other
    cases (comparisons that take long: reading 1M lines with Docker) run in the first round."""
    out: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for r in range(rounds):
        for name, case in cases.items():
            if r == 0 or name == every:
                figures = case()
                print(f"    round {r + 1} {name}: {figures}", flush=True)
                out[name].append(figures)
    return out


# ------------------------------------------------------------------ a, b, c: the store alone


def _file_size(data_dir: Path) -> int:
    base = data_dir / "tasks" / f"{TASK}.db"
    return sum(p.stat().st_size for p in base.parent.glob(base.name + "*"))


async def _write(data_dir: Path, lines: list[LogLine], seed: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    n = lines[-1].seq

    def on_commit(seqs: dict[str, int]) -> None:
        if seqs.get(TASK, 0) >= n and not done.done():
            done.set_result(time.perf_counter())

    store = LogStore(data_dir, on_commit=on_commit)
    store.open()
    store.record(TaskInfo(TASK, TaskStatus.RUNNING, image=IMAGE))
    await store.flush()
    rng = random.Random(seed)
    appending = 0.0
    cpu = time.process_time()
    start = time.perf_counter()
    i = 0
    while i < n:
        k = rng.randint(500, 2000)
        t = time.perf_counter()
        store.append(TASK, lines[i : i + k])
        appending += time.perf_counter() - t
        i += k
        await asyncio.sleep(0)
    end = await done
    cpu = time.process_time() - cpu
    commits = store.commits
    store.close_task(TASK)
    await store.flush()
    await store.close()
    return {
        "lines_per_s": n / (end - start),
        "cpu_us_per_line": cpu / n * 1e6,
        "append_ms_total": appending * 1000,
        "commits": commits,
        "bytes_per_line": _file_size(data_dir) / n,
    }


async def _pacing(
    lines: list[LogLine], batch: int, append: Callable[[list[LogLine]], None]
) -> None:
    """Hand ``append`` ``batch`` lines at a time at PACE lines/s."""
    n = len(lines)
    start = time.perf_counter()
    for i in range(0, n, batch):
        append(lines[i : i + batch])
        await asyncio.sleep(max(0.0, start + (i + batch) / PACE - time.perf_counter()))


async def _paced(data_dir: Path, lines: list[LogLine], batch: int) -> dict[str, float]:
    """Append ``batch`` lines at a time at PACE lines/s; CPU per line once all is committed,
    less what the same pacing costs without a store (one event-loop wake-up per batch)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    n = lines[-1].seq

    def on_commit(seqs: dict[str, int]) -> None:
        if seqs.get(TASK, 0) >= n and not done.done():
            done.set_result(None)

    cpu = time.process_time()
    await _pacing(lines, batch, lambda part: None)
    pacing = time.process_time() - cpu
    store = LogStore(data_dir, on_commit=on_commit)
    store.open()
    store.record(TaskInfo(TASK, TaskStatus.RUNNING, image=IMAGE))
    await store.flush()
    commits = store.commits
    cpu = time.process_time()
    await _pacing(lines, batch, functools.partial(store.append, TASK))
    await done
    cpu = time.process_time() - cpu
    commits = store.commits - commits
    await store.close()
    return {
        "batch": batch,
        "cpu_us_per_line": cpu / n * 1e6,
        "pacing_us_per_line": pacing / n * 1e6,
        "store_us_per_line": (cpu - pacing) / n * 1e6,
        "lines_per_commit": n / commits,
    }


async def _seeks(data_dir: Path, n: int) -> dict[str, float]:
    store = LogStore(data_dir)  # a fresh store on the written files: as after a restart
    store.open()
    try:

        async def timed(after: int, max_lines: int) -> float:
            t = time.perf_counter()
            batch = await store.read(TASK, after, 0, max_lines, READ_MAX_BYTES)
            elapsed = time.perf_counter() - t
            assert batch.lines[0].seq == after + 1 and len(batch.lines) == max_lines, batch
            return elapsed * 1000

        first = await timed(DEPTH, 1000)
        rng = random.Random(5)
        depth, first_line, anywhere = [], [], []
        for _ in range(SEEKS):
            depth.append(await timed(DEPTH, 1000))
            first_line.append(await timed(DEPTH, 1))
            anywhere.append(await timed(rng.randrange(0, n - 1000), 1000))
    finally:
        await store.close()
    return {
        "first_read_ms": first,
        "read_1000_p50_ms": median(depth),
        "read_1000_p95_ms": percentile(depth, 95),
        "read_1000_min_ms": min(depth),
        "read_1000_max_ms": max(depth),
        "first_line_p50_ms": median(first_line),
        "first_line_p95_ms": percentile(first_line, 95),
        "random_depth_1000_p50_ms": median(anywhere),
    }


def store_alone(rounds: int) -> dict[str, object]:
    """(a), (b), (c) and (g): write rounds, sizes (also of random content), seeks on the last
    round's file, paced writes."""
    t = time.perf_counter()
    lines = realistic_lines(LINES)
    sizes = text_sizes(lines)
    print(f"    {LINES:,} lines made in {time.perf_counter() - t:.1f} s: {sizes}", flush=True)
    gc.collect()
    gc.freeze()
    tmp = Path(tempfile.mkdtemp(prefix="logcast-b11-"))
    writes = []
    try:
        for r in range(rounds):
            data_dir = tmp / f"round{r}"
            figures = asyncio.run(_write(data_dir, lines, seed=r))
            print(f"    write round {r + 1}: {figures}", flush=True)
            writes.append(figures)
            if r < rounds - 1:
                shutil.rmtree(data_dir)
        seeks = asyncio.run(_seeks(tmp / f"round{rounds - 1}", LINES))
        print(f"    seeks: {seeks}", flush=True)
        paced = [
            asyncio.run(_paced(tmp / f"paced{batch}", lines[:PACED_LINES], batch))
            for batch in PACED_BATCHES
        ]
        print(f"    paced: {paced}", flush=True)
        del lines
        noise = random_lines(RANDOM_LINES)
        gc.freeze()
        noisy = asyncio.run(_write(tmp / "random", noise, seed=0))
        noisy["text_bytes_per_line"] = text_sizes(noise)["text"]
        print(f"    random content: {noisy}", flush=True)
    finally:
        gc.unfreeze()
        gc.collect()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"sizes": sizes, "writes": writes, "seeks": seeks, "random": noisy, "paced": paced}


# ------------------------------------------------------------------ d: export on the cluster


def _count_stream(read: Callable[[int], bytes]) -> tuple[int, float, bytes]:
    """Lines in a byte stream, when its first bytes came, and its last line."""
    lines = 0
    first = 0.0
    tail = b""
    while chunk := read(1 << 16):
        if not first:
            first = time.perf_counter()
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-64:]
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return lines, first, last


def has_http_export(cluster: Cluster, task: str) -> bool:
    """The master answers ``GET /api/tasks/<id>/log`` (asked for the last line only)."""
    host, port = cluster.master.http.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", f"/api/tasks/{task}/log?format=text&tail=1", headers=auth_headers())
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        print(f"    no HTTP export: {resp.status} {body[:200]!r}", flush=True)
    return resp.status == 200 and body == f"{LINES}\n".encode()


def http_export(cluster: Cluster, task: str, fmt: str) -> dict[str, float]:
    """The master's HTTP export of the whole log."""
    host, port = cluster.master.http.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=300)
    try:
        start = time.perf_counter()
        conn.request("GET", f"/api/tasks/{task}/log?format={fmt}", headers=auth_headers())
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        lines, first, last = _count_stream(resp.read)
        end = time.perf_counter()
    finally:
        conn.close()
    assert lines == LINES, (fmt, lines)
    assert last == b"1000000" if fmt == "text" else b'"1000000"' in last, last
    return {"lines_per_s": LINES / (end - start), "first_byte_ms": (first - start) * 1000}


def cli_export(cluster: Cluster, task: str) -> dict[str, float] | None:
    """`master logs TASK` (whole log, no follow), stdout counted; None when there is none."""
    if subprocess.run([str(BIN / "master"), "logs", "--help"], capture_output=True).returncode:
        return None
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "master"), "logs", "--master", cluster.master.address, task],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines, first, _ = _count_stream(functools.partial(os.read, proc.stdout.fileno()))
    assert proc.wait() == 0
    end = time.perf_counter()
    assert lines == LINES, lines
    return {"lines_per_s": LINES / (end - start), "first_byte_ms": (first - start) * 1000}


def grpc_export(cluster: Cluster, task: str) -> dict[str, float]:
    """The worker's ReadLogs, READ_MAX_LINES at a time, from seq 1 to the end."""

    async def read_all() -> tuple[int, float]:
        async with cluster.worker_channel() as channel:
            stub = pb_grpc.WorkerStub(channel)
            after, lines, first = 0, 0, 0.0
            while True:
                msg = await stub.ReadLogs(
                    pb.ReadLogsRequest(task_id=task, after_seq=after, max_lines=READ_MAX_LINES)
                )
                n = len(msg.contents)
                if not n:
                    return lines, first
                first = first or time.perf_counter()
                lines += n
                after = msg.first_seq + n - 1

    start = time.perf_counter()
    lines, first = asyncio.run(read_all())
    end = time.perf_counter()
    assert lines == LINES, lines
    return {"lines_per_s": LINES / (end - start), "first_byte_ms": (first - start) * 1000}


def docker_export(container: str) -> dict[str, float]:
    """`docker logs` of a finished container, stdout and stderr counted."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["docker", "logs", container], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    lines, first, _ = _count_stream(functools.partial(os.read, proc.stdout.fileno()))
    assert proc.wait() == 0
    end = time.perf_counter()
    assert lines == LINES, lines
    return {"lines_per_s": LINES / (end - start), "first_byte_ms": (first - start) * 1000}


def stored_lines(cluster: Cluster, task: str) -> list[str]:
    """The contents of a task's stored lines, in seq order, as the worker's ReadLogs gives them
    (whatever the store's file layout)."""

    async def read_all() -> list[str]:
        contents: list[str] = []
        async with cluster.worker_channel() as channel:
            stub = pb_grpc.WorkerStub(channel)
            while True:
                msg = await stub.ReadLogs(
                    pb.ReadLogsRequest(
                        task_id=task, after_seq=len(contents), max_lines=READ_MAX_LINES
                    )
                )
                if not msg.contents:
                    return contents
                assert msg.first_seq == len(contents) + 1, (msg.first_seq, len(contents))
                contents.extend(msg.contents)

    return asyncio.run(read_all())


def finished_burst(cluster: Cluster, pad: str = "") -> tuple[str, dict[str, object]]:
    """A finished task that printed lines ``1`` .. ``1000000`` (each followed by ``pad``); what
    its worker stored of it, checked line by line."""
    t = time.perf_counter()
    task = run_task(cluster, EXPORT_SCRIPT + (f" | sed 's/$/{pad}/'" if pad else ""))
    info = wait_finished(cluster, task, timeout=600)
    assert info.status is TaskStatus.SUCCESS, info
    elapsed = time.perf_counter() - t
    time.sleep(1.0)  # the last commit (at most the store's commit budget behind)
    contents = stored_lines(cluster, task)
    wrong = next((i for i, c in enumerate(contents) if c != f"{i + 1}{pad}"), None)
    db = cluster.data_dir / "tasks" / f"{task}.db"
    check: dict[str, object] = {
        "task_lines": info.lines,
        "stored": len(contents),
        "complete": wrong is None and len(contents) == LINES,
        "first_wrong_seq": None if wrong is None else wrong + 1,
        "first_wrong_content": None if wrong is None else contents[wrong],
        "bytes_per_line": sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
        / max(1, len(contents)),
        "text_bytes_per_line": sum(len(c) + 1 for c in contents) / max(1, len(contents)),
        "seconds": elapsed,
    }
    print(f"    {task}: {check}", flush=True)
    return task, check


def export(cluster: Cluster, rounds: int, *, jsonl: bool = True) -> dict[str, object]:
    """(d) on a cluster whose Docker log keeps the whole burst, and (b) for its short lines."""
    task, check = finished_burst(cluster)
    assert check["complete"], check
    container = docker_run(EXPORT_SCRIPT)
    try:
        subprocess.run(["docker", "wait", container], capture_output=True, check=True)
        cases: dict[str, Callable[[], dict[str, float]]] = {}
        if has_http_export(cluster, task):
            path = "HTTP export (GET /api/tasks/<id>/log)"
            cases["logcast"] = lambda: http_export(cluster, task, "text")
            if jsonl:
                cases["logcast jsonl"] = lambda: http_export(cluster, task, "jsonl")
        elif cli_export(cluster, task) is not None:
            path = "master logs"
            cases["logcast"] = lambda: cli_export(cluster, task) or {}
        else:
            path = "worker ReadLogs over gRPC"
            cases["logcast"] = lambda: grpc_export(cluster, task)
        cases["docker logs"] = lambda: docker_export(container)
        runs = interleave_first(rounds, cases)
    finally:
        docker_rm(container)
    return {"path": path, "runs": runs, "short_lines": check}


# ------------------------------------------------------------------ e: lossless catch-up


def _wait_for_line(container: str, seq: int, timeout: float = 120.0) -> None:
    """Poll Docker until the container's last line is ``seq=<seq>`` or later."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["docker", "logs", "--tail", "1", container], capture_output=True, check=False
        ).stdout
        if out.startswith(b"seq=") and int(out[4:].strip() or 0) >= seq:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{container} never printed seq={seq}")


def _seq_at(message: str, pos: int) -> int:
    start = pos + 6
    return int(message[start : message.index(",", start)])


async def _lossless_ws(http: str, task: str) -> dict[str, float] | None:
    """Read the whole log losslessly over the WebSocket; None when `lossless` is refused."""
    start = time.perf_counter()
    reached = 0.0
    last = lines = dropped = 0
    in_order = True
    status = ""
    url = f"ws://{http}/logs/{task}?after=0&lossless=1&batch=1"
    try:
        ws = await connect(url, max_size=None, compression=None, additional_headers=auth_headers())
    except InvalidStatus as exc:
        print(f"    lossless WebSocket refused: {exc}", flush=True)
        return None
    async with ws:
        async for message in ws:
            assert isinstance(message, str)
            if message.startswith('{"type":"batch"'):
                n = message.count('"seq":')
                first = _seq_at(message, message.index('"seq":'))
                final = _seq_at(message, message.rindex('"seq":'))
                if first != last + 1 or final - first + 1 != n:
                    in_order = False
                last = final
                lines += n
                if not reached and last >= CATCH_UP:
                    reached = time.perf_counter()
            elif message.startswith('{"type":"dropped"') or message.startswith('{"type":"gap"'):
                dropped += 1
            elif message.startswith('{"type":"error"'):
                if not lines:  # an older master: `lossless` is an unknown parameter
                    print(f"    lossless WebSocket refused: {message}", flush=True)
                    return None
                break
            elif '"isComplete":true' in message:
                status = json.loads(message)["status"]
                break
    return _caught_up(start, reached, lines, in_order and not dropped, status)


async def _lossless_grpc(address: str, task: str) -> dict[str, float]:
    """The same through the master's gRPC StreamLogs with ``lossless``."""
    start = time.perf_counter()
    reached = 0.0
    last = lines = 0
    in_order = True
    status = ""
    async with grpc.aio.insecure_channel(address, options=channel_options()) as channel:
        stub = pb_grpc.MasterStub(channel)
        request = pb.StreamLogsRequest(task_id=task, after_seq=0, lossless=True)
        async for msg in stub.StreamLogs(request):
            if msg.HasField("gap") or msg.HasField("dropped"):
                in_order = False
            n = len(msg.contents)
            if n:
                in_order = in_order and msg.first_seq == last + 1
                last = msg.first_seq + n - 1
                lines += n
                if not reached and last >= CATCH_UP:
                    reached = time.perf_counter()
            if msg.HasField("end"):
                status = pb.TaskStatus.Name(msg.end.status).lower()
                break
    return _caught_up(start, reached, lines, in_order, status)


def _caught_up(
    start: float, reached: float, lines: int, in_order: bool, status: str
) -> dict[str, float]:
    every = in_order and lines == CATCH_UP_TOTAL and status == "success"
    if not every:
        print(f"    NOT every line: {lines:,} lines, in order: {in_order}, {status}", flush=True)
    rate = CATCH_UP / (reached - start) if reached else 0.0
    return {"lines_per_s": rate, "every_line": float(every), "lines": lines}


def _wait_for_stored(cluster: Cluster, task: str, seq: int, timeout: float = 120.0) -> None:
    """Poll the worker's ReadLogs until its store has line ``seq``."""

    async def poll() -> None:
        async with cluster.worker_channel() as channel:
            stub = pb_grpc.WorkerStub(channel)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(grpc.aio.AioRpcError):  # not registered yet
                    request = pb.ReadLogsRequest(task_id=task, after_seq=seq - 1, max_lines=1)
                    if (await stub.ReadLogs(request)).contents:
                        return
                await asyncio.sleep(0.05)
            raise TimeoutError(f"{task}: line {seq} never stored")

    asyncio.run(poll())


def lossless_logcast(cluster: Cluster, via: list[str]) -> dict[str, float]:
    task = run_task(cluster, CATCH_UP_SCRIPT)
    _wait_for_stored(cluster, task, CATCH_UP)
    if not via or via[0] == "WebSocket":
        got = asyncio.run(_lossless_ws(cluster.master.http, task))
        if got is not None:
            via[:] = ["WebSocket"]
            return got
        via[:] = ["master gRPC StreamLogs"]
    return asyncio.run(_lossless_grpc(cluster.master.address, task))


def lossless_docker() -> dict[str, float]:
    container = docker_run(CATCH_UP_SCRIPT)
    try:
        _wait_for_line(container, CATCH_UP)
        start = time.perf_counter()
        proc = subprocess.Popen(["docker", "logs", "-f", container], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        lines, reached = 0, 0.0
        while chunk := os.read(proc.stdout.fileno(), 1 << 16):
            lines += chunk.count(b"\n")
            if not reached and lines >= CATCH_UP:
                reached = time.perf_counter()
        proc.wait()
    finally:
        docker_rm(container)
    assert lines == CATCH_UP_TOTAL, lines
    return {"lines_per_s": CATCH_UP / (reached - start), "every_line": 1.0}


def catch_up(cluster: Cluster, rounds: int) -> dict[str, object]:
    via: list[str] = []
    runs = interleave_first(
        rounds, {"logcast": lambda: lossless_logcast(cluster, via), "docker": lossless_docker}
    )
    return {"via": via[0] if via else "", "runs": runs}


# ------------------------------------------------------------------ the results


def run(cluster: Cluster, rounds: int = 3) -> list[Result]:
    alone = store_alone(rounds)
    _, default = finished_burst(cluster, PAD)  # more than Docker keeps by default
    whole = start_cluster(*WHOLE_LOG)
    try:
        exported = export(whole, rounds)
        caught = catch_up(whole, rounds)
    finally:
        whole.stop()
    return results(alone, exported, caught, default)


def results(alone: dict, exported: dict, caught: dict, default: dict) -> list[Result]:
    writes, seeks, sizes, noisy = alone["writes"], alone["seeks"], alone["sizes"], alone["random"]
    paced = alone["paced"]
    rates = [w["lines_per_s"] for w in writes]
    rate = median(rates)
    cpu = median([w["cpu_us_per_line"] for w in writes])
    on_disk = [w["bytes_per_line"] for w in writes]
    per_line = median(on_disk)
    short = exported["short_lines"]
    ours = [r["lines_per_s"] for r in exported["runs"]["logcast"]]
    theirs = [r["lines_per_s"] for r in exported["runs"]["docker logs"]]
    jsonl = [r["lines_per_s"] for r in exported["runs"].get("logcast jsonl", [])]
    lossless = [r["lines_per_s"] for r in caught["runs"]["logcast"]]
    direct = [r["lines_per_s"] for r in caught["runs"]["docker"]]
    every = all(r["every_line"] == 1.0 for r in caught["runs"]["logcast"])
    return [
        Result(
            "11a",
            "store: write rate of LogStore alone (1M realistic lines, batches of 500-2000)",
            f"{rate:,.0f} lines/s to the last commit ({cpu:.2f} us CPU/line)",
            "-",
            None,
            ">= 200,000 lines/s",
            rate >= 200_000,
            raw={"writes": writes},
            spread=f"{spread(rates)} lines/s",
        ),
        Result(
            "11b",
            "store: bytes on disk per line (~100-byte content)",
            f"{per_line:.1f} bytes/line = {per_line / sizes['text']:.2f}x the text "
            f"({sizes['text']:.1f} bytes); {per_line / sizes['docker_logs_t']:.2f}x `docker "
            f"logs -t` text, {per_line / sizes['json_file']:.2f}x Docker's json-file",
            f"random base64 content: {noisy['bytes_per_line']:.1f} bytes/line = "
            f"{noisy['bytes_per_line'] / noisy['text_bytes_per_line']:.2f}x the text; "
            f"short lines (`seq 1 1000000`): {short['bytes_per_line']:.1f} bytes/line = "
            f"{short['bytes_per_line'] / short['text_bytes_per_line']:.1f}x the text",
            per_line / sizes["text"],
            "<= 1.5x the text",
            per_line / sizes["text"] <= 1.5,
            raw={"sizes": sizes, "bytes_per_line": on_disk, "random": noisy, "short_lines": short},
            spread=f"{spread(on_disk, '{:.1f}')} bytes/line",
        ),
        Result(
            "11c",
            "store: read 1000 lines after=500000 of a 1M-line task",
            f"median {seeks['read_1000_p50_ms']:.2f} ms, p95 {seeks['read_1000_p95_ms']:.2f} ms;"
            f" first line {seeks['first_line_p50_ms']:.2f} ms; first read after opening "
            f"{seeks['first_read_ms']:.1f} ms",
            f"random depth: median {seeks['random_depth_1000_p50_ms']:.2f} ms",
            None,
            "median <= 10 ms",
            seeks["read_1000_p50_ms"] <= 10,
            raw=seeks,
            spread=f"{seeks['read_1000_min_ms']:.2f}-{seeks['read_1000_max_ms']:.2f} ms "
            f"({SEEKS} reads)",
        ),
        Result(
            "11d",
            f"store: export of a finished 1M-line task ({exported['path']})",
            f"{median(ours):,.0f} lines/s"
            + (f" (jsonl: {median(jsonl):,.0f} lines/s)" if jsonl else ""),
            f"{median(theirs):,.0f} lines/s (docker logs)",
            median(ours) / median(theirs),
            ">= 100,000 lines/s",
            median(ours) >= 100_000,
            raw=exported,
            spread=f"{spread(ours)} vs {spread(theirs)} lines/s",
        ),
        Result(
            "11e",
            f"store: lossless reader joining after 300k lines ({caught['via']})",
            f"{median(lossless):,.0f} lines/s catching up; every line, in order, no drop: {every}",
            f"{median(direct):,.0f} lines/s (docker logs -f)",
            median(lossless) / median(direct),
            "every line (no rate target)",
            every,
            raw=caught,
            spread=f"{spread(lossless)} vs {spread(direct)} lines/s",
        ),
        Result(
            "11f",
            "store: a finished 1M-line burst of ~107-byte lines (~180 MB of json-file) with the "
            f"worker's defaults (Docker keeps {DOCKER_KEEPS})",
            f"{default['stored']:,} of {LINES:,} lines stored"
            + (
                ""
                if default["complete"]
                else f"; seq {default['first_wrong_seq']:,} holds "
                f"{str(default['first_wrong_content'])[:12]!r}..."
            ),
            "-",
            None,
            "every line, once, in order",
            bool(default["complete"]),
            raw=default,
        ),
        Result(
            "11g",
            f"store: {PACE:,} lines/s appended in batches of "
            + ", ".join(f"{p['batch']:,}" for p in paced),
            "; ".join(
                f"{p.get('store_us_per_line', p['cpu_us_per_line']):.2f} us CPU/line "
                f"({p['lines_per_commit']:,.0f} lines/commit)"
                for p in paced
            ),
            f"bulk (a): {cpu:.2f} us CPU/line",
            None,
            "- (what a commit costs)",
            None,
            raw={"paced": paced},
        ),
    ]


if __name__ == "__main__":  # the store alone (a, b, c), without a cluster
    with contextlib.suppress(KeyboardInterrupt):
        print(json.dumps(store_alone(1), indent=2, default=str))
