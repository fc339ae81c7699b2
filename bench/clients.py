"""Benchmark clients: a WebSocket follower and a `docker logs -f` follower, both timing lines."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from bench.harness import IMAGE, ts_seconds
from shared.credentials import find_token


def auth_headers() -> dict[str, str]:
    """The owner's credential (the benchmarks' masters use the default state directory)."""
    return {"Authorization": f"Bearer {find_token()}"}


_SEQ = re.compile(rb"seq=(\d+)")


@dataclass
class Followed:
    """What one follower saw."""

    lines: int = 0
    in_order: bool = True
    first_ts: float = 0.0  # Docker's timestamp of the first line (unix seconds)
    last_ts: float = 0.0
    done_at: float = 0.0  # when the final message / EOF arrived (time.time())
    lags: list[float] = field(default_factory=list)  # receive time - Docker time, per line
    status: str = ""
    dropped: int = 0
    gaps: list[str] = field(default_factory=list)  # "from-to reason" of each gap announced
    # where the seqs were not consecutive with no notice: "after N: M" (at most 5), and the
    # last seq seen (an end before the last line shows as a last_seq short of the count)
    skips: list[str] = field(default_factory=list)
    last_seq: int = 0


async def viewer(http: str, task_id: str) -> ClientConnection:
    """A WebSocket viewer (batch=1) that has its history (one frame), left open and idle. A
    refused connection says why (503: a connection cap)."""
    try:
        ws = await connect(
            f"ws://{http}/logs/{task_id}?batch=1", max_size=None, additional_headers=auth_headers()
        )
    except InvalidStatus as exc:
        raise RuntimeError(f"{exc}: {exc.response.body!r}") from None
    await ws.recv()
    return ws


async def follow_ws(
    http: str,
    task_id: str,
    *,
    expect: int | None = None,
    lags: bool = False,
    numbered: bool = True,
) -> Followed:
    """Follow a task over the WebSocket (batch=1) until its final message."""
    got = Followed()
    last = 0
    async with connect(
        f"ws://{http}/logs/{task_id}?batch=1", max_size=None, additional_headers=auth_headers()
    ) as ws:
        async for message in ws:
            frame = json.loads(message)
            kind = frame["type"]
            if kind == "batch":
                now = time.time()
                lines = frame["lines"]
                if not got.lines:
                    got.first_ts = ts_seconds(lines[0]["timestamp"])
                for ln in lines:
                    if numbered and ln["seq"] != last + 1:
                        got.in_order = False
                        if len(got.skips) < 5:
                            got.skips.append(f"after {last}: {ln['seq']}")
                    last = ln["seq"]
                    if lags:
                        got.lags.append(now - ts_seconds(ln["timestamp"]))
                got.last_seq = last
                got.lines += len(lines)
                got.last_ts = ts_seconds(lines[-1]["timestamp"])
            elif kind in ("dropped", "gap"):
                last = _notice(got, frame)
            elif kind == "log" and frame.get("isComplete"):
                got.done_at = time.time()
                got.status = frame["status"]
                break
    if expect is not None and got.lines != expect:
        got.in_order = False
    return got


def docker_run(script: str) -> str:
    """``docker run -d`` of the test image; the container id."""
    out = subprocess.run(
        ["docker", "run", "-d", IMAGE, "sh", "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def docker_rm(container: str) -> None:
    subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


async def follow_docker(container: str, *, lags: bool = False) -> Followed:
    """``docker logs -f`` (with -t when timing each line) until EOF."""
    args = ["docker", "logs", "-f"] + (["-t"] if lags else []) + [container]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    got = Followed()
    assert proc.stdout is not None
    tail = b""
    while chunk := await proc.stdout.read(1 << 16):
        now = time.time()
        data = tail + chunk
        cut = data.rfind(b"\n") + 1
        whole, tail = data[:cut], data[cut:]
        got.lines += whole.count(b"\n")
        if lags:
            for line in whole.splitlines():
                ts = ts_seconds(line.split(b" ", 1)[0].decode())
                got.lags.append(now - ts)
                got.first_ts = got.first_ts or ts
                got.last_ts = ts
    await proc.wait()
    got.done_at = time.time()
    if lags:  # the timestamps came with the lines: the container may be gone by now
        return got
    first = (
        await asyncio.to_thread(
            subprocess.run,
            ["docker", "logs", "-t", "--tail", "all", container],
            capture_output=True,
            check=True,
        )
    ).stdout
    if first:
        got.first_ts = ts_seconds(first.split(b" ", 1)[0].decode())
        last_line = first.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        got.last_ts = ts_seconds(last_line.split(b" ", 1)[0].decode())
    return got


def _notice(got: Followed, frame: dict[str, Any]) -> int:
    """Count a ``dropped`` or ``gap`` frame in ``got``; the seq the follower is past now."""
    if frame["type"] == "dropped":
        got.dropped += frame["count"]
    else:
        got.gaps.append(f"{frame['fromSeq']}-{frame['toSeq']} {frame['reason']}")
        got.in_order = False  # lines that will never come
    return int(frame["toSeq"])


def _seq_at(message: str, pos: int) -> int:
    start = pos + 6
    end = message.index(",", start)
    return int(message[start:end])


async def follow_ws_light(http: str, task_id: str, opened: asyncio.Event | None = None) -> Followed:
    """A cheap follower for many-client benchmarks: checks seq continuity per batch frame
    (first seq follows the last one seen, count matches the range) without parsing JSON."""
    got = Followed()
    last = 0
    async with connect(
        f"ws://{http}/logs/{task_id}?batch=1",
        max_size=None,
        compression=None,
        additional_headers=auth_headers(),
    ) as ws:
        if opened is not None:
            opened.set()
        async for message in ws:
            assert isinstance(message, str)
            if message.startswith('{"type":"batch"'):
                n = message.count('"seq":')
                first = _seq_at(message, message.index('"seq":'))
                final = _seq_at(message, message.rindex('"seq":'))
                if first != last + 1 or final - first + 1 != n:
                    got.in_order = False
                last = final
                got.lines += n
            elif message.startswith(('{"type":"dropped"', '{"type":"gap"')):
                last = _notice(got, json.loads(message))
            elif '"isComplete":true' in message:
                got.done_at = time.time()
                got.status = json.loads(message)["status"]
                break
    return got
