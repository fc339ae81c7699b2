"""Server-side filters on a real master, worker and Docker: a filtered view (``grep=``,
``regex=1``, ``stream=``; ``--grep``/``--stream`` on the CLI) is filtered on the worker over
the task's whole stored log and its live lines, keeps each line's seq, and resumes exactly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from typing import Any
from urllib.parse import quote

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from master.master_client import MasterClient
from master.tui.app import save_log
from shared.linefilter import LineFilter
from shared.model import TaskSpec, TaskStatus
from tests.access import auth_headers
from tests.fixtures import TEST_IMAGE, eventually_async
from tests.integration.test_history import history, master_and_worker, wait_finished
from tests.procs import MASTER

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]

FILLER = 3000  # lines between the first match and the rest: far beyond the ring's 1,000
LIVE = 6  # matches printed while the view is open, a second apart

# seq 1: a match; then filler (the ring's reach ends long before seq 1); seq FILLER + 2: a
# match on stderr; then, after a pause (the view opens meanwhile), one match a second, each
# followed by lines that do not match
SCRIPT = (
    'echo "ERROR first: disk almost full"; '
    f'i=1; while [ $i -le {FILLER} ]; do echo "info filler $i"; i=$((i+1)); done; '
    'echo "ERROR on stderr" >&2; '
    "sleep 3; "
    f'j=1; while [ $j -le {LIVE} ]; do echo "ERROR live $j"; echo "info after $j"; '
    'echo "warning: not an error line" >&2; sleep 1; j=$((j+1)); done'
)


async def frames_until(ws: Any, stop: Any) -> list[dict]:
    """Frames (batches unrolled into line frames) until ``stop(frame)`` or the close."""
    got: list[dict] = []
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            frame = json.loads(message)
            lines = frame["lines"] if frame["type"] == "batch" else [frame]
            for line in lines:
                line.setdefault("type", "log")
                got.append(line)
                if stop(line):
                    return got
    return got


def matches(frames: list[dict]) -> list[tuple[int, str]]:
    return [(f["seq"], f["content"]) for f in frames if f["type"] == "log" and "seq" in f]


async def test_a_filtered_websocket_view_shows_old_matches_then_live_ones_and_resumes_exactly(
    worker_factory,
):
    async with master_and_worker(worker_factory) as (running, _):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", SCRIPT)))
            task_id = info.task_id

            async def burst_stored() -> bool:
                return (await client.get(task_id)).lines >= FILLER + 2

            await eventually_async(burst_stored, "the burst to be read")
        url = f"ws://{running.http_address}/logs/{task_id}?grep=ERROR"
        async with connect(url, additional_headers=auth_headers()) as ws:
            first = await frames_until(ws, lambda f: f.get("content") == "ERROR live 1")
        got = matches(first)
        # the match at seq 1 is far older than the 1,000 lines the ring (and an unfiltered
        # view) holds; each line keeps its own seq
        # (stdout and stderr are two pipes: Docker may order their lines either way)
        assert got[0] == (1, "ERROR first: disk almost full")
        assert [c for _, c in got] == [
            "ERROR first: disk almost full",
            "ERROR on stderr",
            "ERROR live 1",
        ]
        live = [f for f in first if f.get("content") == "ERROR live 1"]
        assert live[0]["status"] == "running"  # (a live line: the task still runs)
        assert not [f for f in first if f["type"] in ("gap", "dropped")]

        # reconnect after the last line it had: the rest, exactly, then the end
        after = got[-1][0]
        async with connect(f"{url}&after={after}", additional_headers=auth_headers()) as ws:
            rest = await frames_until(ws, lambda f: False)  # to the close
            code = ws.close_code
        assert rest[-1]["isComplete"] and rest[-1]["status"] == "success"
        assert code == 1000

        everything = await history(running.grpc_address, task_id)
        expected = [(ln.seq, ln.content) for ln in everything.lines if "ERROR" in ln.content]
        assert len(expected) == 2 + LIVE
        assert got + matches(rest) == expected  # no duplicate, no hole, in order

        # stream= and regex=1 over the same stored log, and tail=N: the last N that pass
        base = f"ws://{running.http_address}/logs/{task_id}"
        pattern = quote("^ERROR live [24]$")
        async with connect(
            f"{base}?grep={pattern}&regex=1", additional_headers=auth_headers()
        ) as ws:
            picked = matches(await frames_until(ws, lambda f: bool(f.get("isComplete"))))
        assert [c for _, c in picked] == ["ERROR live 2", "ERROR live 4"]
        async with connect(f"{base}?stream=stderr&tail=2", additional_headers=auth_headers()) as ws:
            stderr = matches(await frames_until(ws, lambda f: bool(f.get("isComplete"))))
        expected_stderr = [
            (ln.seq, ln.content) for ln in everything.lines if ln.stream.value == "stderr"
        ]
        assert stderr == expected_stderr[-2:]


async def test_a_bad_filter_is_refused_with_a_clear_error(worker_factory):
    async with master_and_worker(worker_factory) as (running, _):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("echo", "hello")))
        base = f"ws://{running.http_address}/logs/{info.task_id}"
        for query, says in (
            ("grep=%28&regex=1", "invalid regular expression"),
            ("stream=both", "stream must be stdout or stderr"),
            ("regex=1", "need a pattern"),
        ):
            async with connect(f"{base}?{query}", additional_headers=auth_headers()) as ws:
                frames = await frames_until(ws, lambda f: False)
                assert ws.close_code == 4400, query
            assert frames[0]["type"] == "error" and frames[0]["code"] == "invalid_request"
            assert says in frames[0]["message"], frames[0]


async def test_master_logs_and_monitor_filter_on_the_worker(worker_factory, tmp_path):
    script = (
        'i=1; while [ $i -le 2000 ]; do echo "out $i"; '
        '[ $((i % 500)) -eq 0 ] && echo "ERR at $i" >&2; i=$((i+1)); done'
    )
    async with master_and_worker(worker_factory) as (running, _):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
        task_id = info.task_id
        assert await wait_finished(running.grpc_address, task_id) is TaskStatus.SUCCESS
        common = ["--master", running.grpc_address]

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [MASTER, *args, *common], capture_output=True, text=True, timeout=60
            )

        out = await asyncio.to_thread(
            cli, "logs", task_id, "--stream", "stderr", "--output", "jsonl"
        )
        assert out.returncode == 0, out.stderr
        rows = [json.loads(line) for line in out.stdout.splitlines()]
        assert [r["content"] for r in rows] == [f"ERR at {n}" for n in (500, 1000, 1500, 2000)]
        everything = await history(running.grpc_address, task_id)
        on_stderr = [ln.seq for ln in everything.lines if ln.stream.value == "stderr"]
        assert [r["seq"] for r in rows] == on_stderr  # each with its own seq
        # `--grep` with a regex, ignoring case: the stored log's lines that match
        out = await asyncio.to_thread(
            cli, "logs", task_id, "--grep", "^out 1(99|00)9$", "--regex", "-i"
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["out 1009", "out 1999"]
        # monitor --plain --tail 2: the last two lines that pass, then the end
        out = await asyncio.to_thread(
            cli, "monitor", task_id, "--plain", "--grep", "ERR", "--tail", "2"
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["ERR at 1500", "ERR at 2000"]
        out = await asyncio.to_thread(cli, "logs", task_id, "--grep", "(", "--regex")
        assert out.returncode == 2
        assert "invalid regular expression" in out.stderr

        # the TUI's Ctrl+S: the whole stored log, or the lines that pass, to a file
        async with MasterClient(running.grpc_address) as client:
            whole = await save_log(client, task_id, LineFilter(), tmp_path / "all.log")
            errs = LineFilter(pattern="err", ignore_case=True)
            some = await save_log(client, task_id, errs, tmp_path / "err.log")
        lines = [ln.content for ln in everything.lines]
        assert whole == len(lines) == 2004
        assert (tmp_path / "all.log").read_text().splitlines() == lines
        assert some == 4
        assert (tmp_path / "err.log").read_text().splitlines() == [
            c for c in lines if c.startswith("ERR")
        ]
