"""The merged WebSocket endpoint ws://HOST/logs?tasks=A,B, with a real `websockets` client
against a real master, worker and Docker: frames naming their task, in timestamp order, each
task's end, an exact resume with the per-task cursor, and the one-task endpoint's refusals."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from master.master_client import MasterClient
from shared.merge import MAX_TASKS
from tests.access import auth_headers
from tests.integration.test_fanout import numbered
from tests.integration.test_websocket import frames, run

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


def task_lines(got: list[dict]) -> dict[str, list[tuple[int, str, str]]]:
    """Each task's (seq, timestamp, content), in the order received (batched or not)."""
    out: dict[str, list[tuple[int, str, str]]] = {}
    for f in got:
        if f["type"] == "batch":
            rows = f["lines"]
        elif f["type"] == "log" and not f["isComplete"]:
            rows = [f]
        else:
            continue
        out.setdefault(f["task"], []).extend((r["seq"], r["timestamp"], r["content"]) for r in rows)
    return out


def in_order(got: list[dict]) -> list[str]:
    """Every line's timestamp, in the order received."""
    stamps = []
    for f in got:
        if f["type"] == "batch":
            stamps += [r["timestamp"] for r in f["lines"]]
        elif f["type"] == "log" and not f["isComplete"]:
            stamps.append(f["timestamp"])
    return stamps


async def test_frames_name_their_task_come_in_timestamp_order_and_each_task_ends(master_factory):
    async with master_factory() as (running, _):
        a = await run(running, numbered(40, "sleep 0.02"))
        b = await run(running, f"{numbered(30, 'sleep 0.03')}; exit 3")
        base = f"ws://{running.http_address}/logs?tasks={a},{b}"
        got, code = await frames(base)  # live: from the tasks' start to their end
        assert code == 1000
        assert all("task" in f and f["task"] in (a, b) for f in got)
        lines = task_lines(got)
        assert [c for _, _, c in lines[a]] == [f"seq={i}" for i in range(1, 41)]
        assert [s for s, _, _ in lines[b]] == list(range(1, 31))
        stamps = in_order(got)
        assert stamps == sorted(stamps)  # across tasks, by Docker timestamp
        ends = {f["task"]: f for f in got if f["type"] == "log" and f["isComplete"]}
        assert ends[a]["status"] == "success" and ends[a]["exitCode"] == 0
        assert ends[b]["status"] == "failed" and ends[b]["exitCode"] == 3
        for task_id in (a, b):  # each task's end comes after its last line
            mine = [f for f in got if f["task"] == task_id]
            assert mine[-1]["isComplete"] and not any(f.get("isComplete") for f in mine[:-1])
        assert got[-1]["isComplete"]
        # batched: the same lines, every batch of one task
        batched, code = await frames(base + "&batch=1")
        assert code == 1000 and task_lines(batched) == lines
        assert {f["type"] for f in batched} <= {"state", "batch", "log"}


async def test_a_resume_with_the_per_task_cursor_has_no_duplicate_and_no_hole(master_factory):
    async with master_factory() as (running, _):
        a = await run(running, numbered(300, "sleep 0.005"))
        b = await run(running, numbered(200, "sleep 0.008"))
        url = f"ws://{running.http_address}/logs?tasks={a},{b}&batch=1"
        first: list[dict] = []
        async with connect(url, max_size=None, additional_headers=auth_headers()) as ws:
            while sum(len(v) for v in task_lines(first).values()) < 60:
                first.append(json.loads(await ws.recv()))
        seen = task_lines(first)
        cursor = ",".join(f"{t}:{rows[-1][0]}" for t, rows in seen.items())
        rest, code = await frames(f"{url}&after={cursor}")
        assert code == 1000
        later = task_lines(rest)
        for task_id, total in ((a, 300), (b, 200)):
            seqs = [s for s, _, _ in seen.get(task_id, []) + later.get(task_id, [])]
            assert seqs == list(range(1, total + 1)), task_id  # no duplicate, no hole
        # a task the cursor does not name starts with its history: here, all of it
        only_a, _ = await frames(f"{url}&after={a}:290")
        got = task_lines(only_a)
        assert [s for s, _, _ in got[a]] == list(range(291, 301))
        assert [s for s, _, _ in got[b]] == list(range(1, 201))


async def test_refusals_are_the_one_task_endpoints(master_factory):
    async with master_factory() as (running, _):
        a = await run(running, "echo hi")
        base = f"ws://{running.http_address}/logs"
        many = ",".join(f"task-{i}" for i in range(MAX_TASKS + 1))
        for query, code, close in [
            (f"?tasks={a},task-424242", "not_found", 4404),
            (f"?tasks={a},../etc", "invalid_task_id", 4400),
            (f"?tasks={a}&after={a}:x", "invalid_request", 4400),
            (f"?tasks={a}&after=task-b:3", "invalid_request", 4400),
            (f"?tasks={many}", "invalid_request", 4400),
            ("", "invalid_request", 4400),
            (f"?tasks={a}&color=1", "invalid_request", 4400),
        ]:
            got, closed = await frames(base + query)
            assert [f["type"] for f in got] == ["error"], query
            # (an unknown task, while the master warms up: "may still appear", as for one task)
            warming = code == "not_found" and (got[0]["code"], closed) == ("unavailable", 4503)
            assert warming or (got[0]["code"], closed) == (code, close), (query, got)
        got, _ = await frames(f"{base}?tasks={many}")
        assert f"at most {MAX_TASKS}" in got[0]["message"]
        # the Origin check and the token, before the upgrade, as for one task
        host, port = running.http_address.rsplit(":", 1)
        for origin in ("http://evil.example", f"http://{host}:{int(port) + 1}"):
            with pytest.raises(InvalidStatus) as err:
                await frames(f"{base}?tasks={a}", origin=origin)
            assert err.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as err:
            await frames(f"{base}?tasks={a}", additional_headers={})
        assert err.value.response.status_code == 401
        # a token limited to one task may not read it merged with another
        b = await run(running, "echo there")
        async with MasterClient(running.grpc_address) as client:
            made = await client.create_token("viewer", "scoped", task_ids=[a])
        scoped = {"Authorization": f"Bearer {made.token}"}
        with pytest.raises(InvalidStatus) as err:
            await frames(f"{base}?tasks={a},{b}", additional_headers=scoped)
        assert err.value.response.status_code == 403
        allowed, closed = await frames(f"{base}?tasks={a}", additional_headers=scoped)
        assert closed == 1000 and task_lines(allowed)[a][0][2] == "hi"


async def test_a_client_that_leaves_frees_every_tasks_subscription(master_factory):
    async with master_factory() as (running, _):
        a = await run(running, "sleep 30")
        b = await run(running, "sleep 30")
        url = f"ws://{running.http_address}/logs?tasks={a},{b}"
        for _ in range(3):
            async with connect(url, additional_headers=auth_headers()):
                await asyncio.sleep(0.5)
                assert running.web.clients == 1
                assert sum(r.hub.subscriber_count for r in running.master.relays.values()) == 2
        for _ in range(100):
            if running.web.clients == 0 and all(
                r.hub.subscriber_count == 0 for r in running.master.relays.values()
            ):
                break
            await asyncio.sleep(0.05)
        assert running.web.clients == 0
        assert all(r.hub.subscriber_count == 0 for r in running.master.relays.values())
        async with MasterClient(running.grpc_address) as client:
            await client.stop(a)
            await client.stop(b)
