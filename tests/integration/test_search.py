"""Searching a task's whole log (`master search`, ``GET /api/tasks/<id>/search``) against a
real master, worker, store and Docker: exact seqs from the store and from the worker's memory,
grep-like output and exit codes, a pattern that would make a backtracking engine run away,
and access control."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from master.master_client import MasterClient
from shared.model import TaskSpec
from shared.protos import logcast_pb2 as pb
from tests.access import auth_headers
from tests.fixtures import TEST_IMAGE, eventually
from tests.procs import MASTER

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]

# 30,000 numbered lines, line N at seq N, a few of them special
NUMBERED = (
    "awk 'BEGIN { for (i = 1; i <= 30000; i++) {"
    ' if (i == 5000) print "ERROR: disk full";'
    ' else if (i == 17000) print "Error: retrying";'
    ' else if (i == 29990) print "error: gave up";'
    ' else printf "line %d\\n", i } }\''
)


async def run(
    running: Any, script: str, *, task_id: str = "", labels: tuple[tuple[str, str], ...] = ()
) -> str:
    async with MasterClient(running.grpc_address) as client:
        spec = TaskSpec(task_id, TEST_IMAGE, ("sh", "-c", script), labels=labels)
        info = await client.run(spec)
    return info.task_id


async def finished(running: Any, task_id: str) -> None:
    await eventually(
        lambda: running.master.registry.status(task_id).is_final, f"{task_id} to end", 60
    )


def cli(address: str, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    """``master ARGS`` (``token`` in LOGCAST_TOKEN; None: the owner's, found by itself)."""
    env = dict(os.environ)
    if token is not None:
        env["LOGCAST_TOKEN"] = token
    head = 2 if args[0] == "token" else 1  # `master token create --master ...`
    return subprocess.run(
        [MASTER, *args[:head], "--master", address, *args[head:]],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


async def search_cli(running: Any, *args: str, token: str | None = None) -> Any:
    return await asyncio.to_thread(cli, running.grpc_address, "search", *args, token=token)


def seqs(stdout: str) -> list[int]:
    return [int(row.split(":", 1)[0]) for row in stdout.splitlines()]


async def get(
    running: Any, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of ``GET path`` (the owner's token unless ``headers``)."""

    def fetch() -> tuple[int, dict[str, str], bytes]:
        url = f"http://{running.http_address}{path}"
        sent = auth_headers() if headers is None else headers
        request = urllib.request.Request(url, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    return await asyncio.to_thread(fetch)


async def search_http(running: Any, task_id: str, query: str, **kw: Any) -> dict[str, Any]:
    status, headers, body = await get(running, f"/api/tasks/{task_id}/search?{query}", **kw)
    assert (status, headers["Content-Type"]) == (200, "application/json"), body
    result: dict[str, Any] = json.loads(body)
    return result


async def test_the_cli_finds_exact_seqs_like_grep_n(master_factory):
    async with master_factory() as (running, workers):
        task_id = await run(running, NUMBERED)
        # a slow task: its store has a chunk of about a line per commit
        slow = await run(running, "for i in 1 2 3 4 5 6; do echo slow $i; usleep 250000; done")
        await finished(running, task_id)
        await finished(running, slow)

        workers[0].manager.forget(slow)  # nothing of it in the worker's memory: only the store
        found = await search_cli(running, slow, "-C", "3", "slow 5")
        assert found.stdout == "2-slow 2\n3-slow 3\n4-slow 4\n5:slow 5\n6-slow 6\n"

        found = await search_cli(running, task_id, "line 12345")
        assert (found.returncode, found.stdout, found.stderr) == (0, "12345:line 12345\n", "")
        found = await search_cli(running, task_id, "line 2999")  # 29990 is special
        assert seqs(found.stdout) == [2999, *range(29991, 30000)]
        assert found.stdout.splitlines()[1] == "29991:line 29991"

        assert seqs((await search_cli(running, task_id, "error")).stdout) == [29990]
        assert seqs((await search_cli(running, task_id, "-i", "error")).stdout) == [
            5000,
            17000,
            29990,
        ]
        assert seqs((await search_cli(running, task_id, "--regex", "^line 1234$")).stdout) == [1234]
        found = await search_cli(running, task_id, "--regex", "^line 1234")
        assert seqs(found.stdout) == [1234, *range(12340, 12350)]
        found = await search_cli(running, task_id, "--regex", "-i", "^e.*(full|up)$")
        assert seqs(found.stdout) == [5000, 29990]
        # a match never spans lines, nor swallows the next ones ([^y] and \s exclude \n)
        found = await search_cli(running, task_id, "--regex", "^line 2999[^y]*$")
        assert seqs(found.stdout) == [2999, *range(29991, 30000)]
        found = await search_cli(running, task_id, "--regex", r"line 5\s+line 6")
        assert (found.returncode, found.stdout) == (1, "")

        found = await search_cli(running, task_id, "-C", "2", "-i", "^error", "--regex")
        assert found.returncode == 0
        expected = []
        for seq, text in ((5000, "ERROR: disk full"), (17000, "Error: retrying")):
            expected += [f"{seq - 2}-line {seq - 2}", f"{seq - 1}-line {seq - 1}"]
            expected += [f"{seq}:{text}"]
            expected += [f"{seq + 1}-line {seq + 1}", f"{seq + 2}-line {seq + 2}", "--"]
        expected += ["29988-line 29988", "29989-line 29989", "29990:error: gave up"]
        expected += ["29991-line 29991", "29992-line 29992"]
        assert found.stdout.splitlines() == expected
        # groups that touch are one group
        found = await search_cli(running, task_id, "-C", "1", "--regex", "^line (10|12|100)$")
        assert found.stdout.splitlines() == [
            "9-line 9",
            "10:line 10",
            "11-line 11",
            "12:line 12",
            "13-line 13",
            "--",
            "99-line 99",
            "100:line 100",
            "101-line 101",
        ]

        found = await search_cli(running, task_id, "--json", "ERROR")
        assert [json.loads(row) for row in found.stdout.splitlines()] == [
            {"seq": 5000, "content": "ERROR: disk full", "match": True}
        ]

        nothing = await search_cli(running, task_id, "no such line")
        assert (nothing.returncode, nothing.stdout, nothing.stderr) == (1, "", "")

        capped = await search_cli(running, task_id, "--limit", "5", "line")
        assert capped.returncode == 0 and seqs(capped.stdout) == [1, 2, 3, 4, 5]
        assert "search stopped at the match limit" in capped.stderr

        for args, message in [
            (("--regex", "(unclosed"), "invalid regular expression"),
            (("",), "empty search pattern"),
        ]:
            refused = await search_cli(running, task_id, *args)
            assert (refused.returncode, refused.stdout) == (2, ""), args
            assert message in refused.stderr and "Traceback" not in refused.stderr, args
        unknown = await search_cli(running, "task-424242", "line")
        assert unknown.returncode == 2 and unknown.stdout == ""
        assert "no task task-424242" in unknown.stderr and "Traceback" not in unknown.stderr


def hold_commits(store: Any, task_id: str, after: int) -> threading.Event:
    """Hold the worker's store writer (its thread) at ``task_id``'s first lines past seq
    ``after`` until the returned event is set: those lines stay only in the worker's
    memory."""
    release = threading.Event()
    write_lines = store._write_lines

    def held(tid: str, segments: list[Any]) -> None:
        if tid == task_id and segments[-1].first_seq + segments[-1].count - 1 > after:
            release.wait(60)
        write_lines(tid, segments)

    store._write_lines = held
    return release


async def test_a_running_task_is_searched_in_memory_and_in_the_store(master_factory):
    """5,000 lines (the worker's memory keeps the last ~1000), then newer lines the store has
    not committed yet: both are found, with their seqs, oldest first and newest first."""
    async with master_factory() as (running, workers):
        worker = workers[0]
        task_id = f"task-search-{uuid.uuid4().hex[:8]}"
        release = hold_commits(worker.manager.store, task_id, 5000)
        try:
            script = (
                "awk 'BEGIN { for (i = 1; i <= 5000; i++) printf \"old %d\\n\", i }'; "
                "sleep 1; echo 'fresh one'; echo 'fresh two'; exec sleep 60"
            )
            await run(running, script, task_id=task_id)
            hub = worker.manager.get(task_id).hub
            await eventually(lambda: hub.store.next_seq == 5003, "the fresh lines", 30)
            stored = worker.manager.store.tasks[task_id]
            await eventually(lambda: stored.last_seq == 5000, "the old lines to be stored", 10)
            assert hub.store.first_seq > 1000  # the oldest are only in the store now

            found = await search_cli(running, task_id, "fresh")
            assert found.stdout == "5001:fresh one\n5002:fresh two\n", found.stderr
            assert stored.last_seq == 5000  # still not committed: found in memory
            found = await search_cli(running, task_id, "--regex", r"^old (1|42|4999|5000)$")
            assert seqs(found.stdout) == [1, 42, 4999, 5000]
            found = await search_cli(running, task_id, "-C", "1", "--regex", r"^old 5000$")
            assert found.stdout == "4999-old 4999\n5000:old 5000\n5001-fresh one\n"

            result = await search_http(
                running, task_id, "regex=1&q=" + quote(r"^(old 7|fresh .*)$")
            )
            assert [(m["seq"], m["content"]) for m in result["matches"]] == [
                (5002, "fresh two"),
                (5001, "fresh one"),
                (7, "old 7"),
            ]
            assert (result["scanned"], result["lowest"], result["highest"]) == (5002, 1, 5002)
            assert result["complete"] and result["stopped"] == ""
        finally:
            release.set()


def flood_of_a(lines: int) -> str:
    return f"awk 'BEGIN {{ for (i = 0; i < {lines}; i++) print \"{'a' * 40}!\" }}'"


async def test_a_runaway_pattern_ends_at_once_and_other_streams_keep_flowing(master_factory):
    """``(a+)+$`` against 50,000 lines of forty ``a`` and a ``!``: exponential for a
    backtracking engine, linear for RE2. The search ends, with no match and nothing left
    unsearched, while another task's live stream keeps receiving lines."""
    async with master_factory() as (running, _):
        task_id = await run(running, flood_of_a(50_000))
        ticker = await run(running, "i=0; while :; do echo tick $i; i=$((i+1)); usleep 20000; done")
        await finished(running, task_id)

        arrivals: list[float] = []

        async def follow() -> None:
            async with MasterClient(running.grpc_address) as client:
                async for batch in client.stream(ticker, tail=0):
                    now = time.monotonic()
                    arrivals.extend(now for _ in batch.lines)

        streaming = asyncio.create_task(follow())
        try:
            await eventually(lambda: len(arrivals) >= 3, "the ticker's lines", 30)
            windows: list[tuple[float, float]] = []
            request = pb.SearchRequest(
                task_id=task_id, pattern="(a+)+$", regex=True, time_budget=10
            )
            async with MasterClient(running.grpc_address) as client:
                # searched again and again for a second: long enough to see lines arrive
                while sum(end - start for start, end in windows) < 1.0:
                    start = time.monotonic()
                    async with asyncio.timeout(30):
                        batches = [batch async for batch in client.search(request)]
                    windows.append((start, time.monotonic()))
                    last = batches[-1]
                    assert last.done and last.stopped == "" and last.match_count == 0
                    assert (last.scanned, last.lowest, last.highest) == (50_000, 1, 50_000)
                    assert not any(batch.seqs for batch in batches)
            during = [t for t in arrivals if any(s <= t <= e for s, e in windows)]
            assert during, f"no line of {ticker} arrived during {len(windows)} searches"
        finally:
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming

        found = await search_cli(running, task_id, "--regex", "(a+)+$")
        assert (found.returncode, found.stdout, found.stderr) == (1, "", "")
        result = await search_http(running, task_id, "regex=1&q=" + quote("(a+)+$"))
        assert result["matches"] == [] and result["complete"] and result["scanned"] == 50_000
        # the same lines do match a pattern that fits them
        result = await search_http(running, task_id, "regex=1&limit=2&q=" + quote("^(a+)+!$"))
        assert [m["seq"] for m in result["matches"]] == [50_000, 49_999]


async def test_http_search_newest_first_with_limits_and_errors(master_factory):
    async with master_factory() as (running, workers):
        running.master.registry.started_at = 0  # past the warm-up: unknown ids are 404
        script = (
            "i=1; while [ $i -le 3000 ]; do "
            'if [ $((i % 100)) -eq 0 ]; then echo "needle $i"; else echo "hay $i"; fi; '
            "i=$((i+1)); done"
        )
        task_id = await run(running, script, labels=(("team", "web"),))
        await finished(running, task_id)

        result = await search_http(running, task_id, "q=needle")
        assert result == {
            "task_id": task_id,
            "matches": [{"seq": s, "content": f"needle {s}"} for s in range(3000, 99, -100)],
            "match_count": 30,
            "scanned": 3000,
            "lowest": 1,
            "highest": 3000,
            "complete": True,
            "stopped": "",
        }
        capped = await search_http(running, task_id, "q=needle&limit=5")
        assert [m["seq"] for m in capped["matches"]] == [3000, 2900, 2800, 2700, 2600]
        assert capped["match_count"] == 5
        assert not capped["complete"] and capped["stopped"] == "capped"
        assert capped["highest"] == 3000 and capped["lowest"] <= 2600
        default = await search_http(running, task_id, "q=hay")
        assert len(default["matches"]) == 100 and default["stopped"] == "capped"  # default 100
        assert default["matches"][0] == {"seq": 2999, "content": "hay 2999"}
        assert len((await search_http(running, task_id, "q=%20&limit=10000"))["matches"]) == 3000
        assert (await search_http(running, task_id, "q=NEEDLE"))["matches"] == []
        assert len((await search_http(running, task_id, "q=NEEDLE&i=1"))["matches"]) == 30
        regex = await search_http(running, task_id, "regex=1&q=" + quote(r"^needle 1\d00$"))
        assert [m["seq"] for m in regex["matches"]] == list(range(1900, 999, -100))
        literal = await search_http(running, task_id, "q=" + quote(r"^needle 1\d00$"))
        assert literal["matches"] == [] and literal["complete"]  # no regex=1: a substring

        cases = [
            (f"/api/tasks/{task_id}/search", 400, "q (the search pattern)"),
            (f"/api/tasks/{task_id}/search?q=", 400, "q (the search pattern)"),
            (f"/api/tasks/{task_id}/search?q=x&regex=1&q=" + quote("(a"), 400, "invalid regular"),
            (f"/api/tasks/{task_id}/search?q=x&limit=0", 400, "limit must be"),
            (f"/api/tasks/{task_id}/search?q=x&limit=10001", 400, "limit must be"),
            (f"/api/tasks/{task_id}/search?q=x&limit=-1", 400, "limit must be"),
            (f"/api/tasks/{task_id}/search?q=x&limit=%EF%BC%91", 400, "limit must be"),  # U+FF11
            (f"/api/tasks/{task_id}/search?q=x&regex=yes", 400, "regex must be 0 or 1"),
            (f"/api/tasks/{task_id}/search?q=x&context=2", 400, "unknown query parameter"),
            ("/api/tasks/task-424242/search?q=x", 404, "no task task-424242"),
            ("/api/tasks/..%2Fx/search?q=x", 400, "invalid task id"),
        ]
        for path, want, message in cases:
            status, headers, body = await get(running, path)
            assert (status, headers["Content-Type"]) == (want, "text/plain; charset=utf-8"), path
            assert message in body.decode() and len(body) < 300, (path, body)
        status, headers, body = await get(running, f"/api/tasks/{task_id}/search?q=x", {})
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")

        # a token limited to another label: 403 on HTTP, PERMISSION_DENIED on the CLI
        made = await asyncio.to_thread(
            cli, running.grpc_address, "token", "create", "--role", "viewer", "--label", "team=db"
        )
        assert made.returncode == 0, made.stderr
        db_only = made.stdout.strip()
        bearer = {"Authorization": f"Bearer {db_only}"}
        status, _, body = await get(running, f"/api/tasks/{task_id}/search?q=needle", bearer)
        assert status == 403 and body.startswith(b"permission denied")
        denied = await search_cli(running, task_id, "needle", token=db_only)
        assert (denied.returncode, denied.stdout) == (2, "")
        assert "permission denied" in denied.stderr and "Traceback" not in denied.stderr
        theirs = await run(running, "echo needle in db", labels=(("team", "db"),))
        await finished(running, theirs)
        mine = await search_http(running, theirs, "q=needle", headers=bearer)
        assert mine["matches"] == [{"seq": 1, "content": "needle in db"}]
        assert (await search_cli(running, theirs, "needle", token=db_only)).stdout == (
            "1:needle in db\n"
        )

        await workers[0].store.remove(task_id)  # retention removed its log
        await eventually(lambda: running.master.registry.task(task_id).expired, "the heartbeat")
        status, _, body = await get(running, f"/api/tasks/{task_id}/search?q=needle")
        assert status == 410 and b"expired" in body
