"""The WebSocket endpoint ws://HOST/logs/<task_id>, with a real `websockets` client."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from master.master_client import MasterClient
from shared.model import TaskSpec
from tests.access import auth_headers
from tests.fixtures import TEST_IMAGE, eventually
from tests.integration.test_fanout import numbered

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


async def run(running, script: str) -> str:
    async with MasterClient(running.grpc_address) as client:
        info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
    return info.task_id


async def frames(url: str, **kw) -> tuple[list[dict], int | None]:
    """Every frame until the server closes (each a text frame: JSON text, as the contract
    says; a browser would get a Blob for a binary one), and the close code."""
    got = []
    kw.setdefault("additional_headers", auth_headers())
    async with connect(url, max_size=None, **kw) as ws:
        try:
            async for message in ws:
                assert isinstance(message, str), f"a binary frame: {message[:80]!r}"
                got.append(json.loads(message))
        except ConnectionClosed:
            pass
        return got, ws.close_code


def lines_of(frames_: list[dict]) -> list[tuple[int, str]]:
    out = []
    for f in frames_:
        if f["type"] == "batch":
            out += [(ln["seq"], ln["content"]) for ln in f["lines"]]
        elif f["type"] == "log" and not f["isComplete"]:
            out.append((f["seq"], f["content"]))
    return out


def ws_lines(got: list[dict]) -> list[dict]:
    """The line objects of a batched stream's frames."""
    return [ln for f in got if f["type"] == "batch" for ln in f["lines"]]


async def test_frames_follow_the_contract(master_factory):
    async with master_factory() as (running, _):
        task_id = await run(running, "echo hello; sleep 0.1; echo oops >&2; exit 3")
        base = f"ws://{running.http_address}/logs/{task_id}"
        single, code = await frames(base)
        assert code == 1000
        assert [f["type"] for f in single] == ["state", "log", "log", "log"]
        first = single[1]
        assert set(first) == {
            "type",
            "seq",
            "timestamp",
            "stream",
            "content",
            "isComplete",
            "status",
        }
        assert (first["seq"], first["stream"], first["content"]) == (1, "stdout", "hello")
        assert single[2]["stream"] == "stderr" and single[2]["content"] == "oops"
        assert single[-1] == {
            "type": "log",
            "content": "",
            "isComplete": True,
            "status": "failed",
            "exitCode": 3,
        }
        batched, code = await frames(base + "?batch=1")
        assert code == 1000
        (batch,) = [f for f in batched if f["type"] == "batch"]  # the task had ended: one batch
        assert [ln["content"] for ln in batch["lines"]] == ["hello", "oops"]
        assert batched[-1]["isComplete"]
        resumed, _ = await frames(base + "?after=1")
        assert lines_of(resumed) == [(2, "oops")]
        tail, _ = await frames(base + "?tail=1&batch=1")
        assert lines_of(tail) == [(2, "oops")]


async def test_200_clients_get_identical_lines_and_the_final_message(master_factory):
    async with master_factory() as (running, _):
        task_id = await run(running, f"sleep 1; {numbered(2000, 'sleep 0.0005')}")
        url = f"ws://{running.http_address}/logs/{task_id}?batch=1"
        results = await asyncio.gather(*(frames(url) for _ in range(200)))
        reference = lines_of(results[0][0])
        assert [c for _, c in reference] == [f"seq={i}" for i in range(1, 2001)]
        for got, code in results:
            assert code == 1000
            assert lines_of(got) == reference
            assert got[-1]["isComplete"] and got[-1]["status"] == "success"
        await eventually(lambda: running.web.clients == 0, "every handler to finish")


async def test_a_client_that_stops_reading_does_not_hold_up_the_others(master_factory):
    async with master_factory() as (running, _):
        total = 50_000  # 10 MB: more than the kernel's socket buffers and the client's queue hold
        padded = (
            f"i=1; while [ $i -le {total} ]; do printf 'seq=%d %0200d\\n' $i 0; i=$((i+1)); done"
        )
        task_id = await run(running, f"sleep 1; {padded}")
        url = f"ws://{running.http_address}/logs/{task_id}?batch=1"
        async with connect(
            url, max_size=None, max_queue=1, additional_headers=auth_headers()
        ) as stalled:
            await stalled.recv()  # then it stops reading
            others = await asyncio.gather(*(frames(url) for _ in range(5)))
            for got, code in others:  # all done while the stalled client still waits
                assert code == 1000
                contents = [c for _, c in lines_of(got)]
                assert [c.split()[0] for c in contents] == [f"seq={i}" for i in range(1, total + 1)]
            # the lines only it still needs, beyond half its lag limit, are kept packed
            ring = running.master.relays[task_id].hub.store
            assert ring.packed_end - ring.first_seq >= 4000, (ring.first_seq, ring.packed_end)
            received: list[int] = []
            dropped = 0
            try:
                async for message in stalled:
                    frame = json.loads(message)
                    if frame["type"] == "dropped":
                        assert received and frame["fromSeq"] == received[-1] + 1
                        dropped += frame["count"]
                        received.append(frame["toSeq"])  # continuity marker
                        received.pop()
                    elif frame["type"] == "batch":
                        received += [ln["seq"] for ln in frame["lines"]]
                        for ln in frame["lines"]:  # the packed ones too, decoded as they were
                            assert ln["content"] == f"seq={ln['seq']} {0:0200d}", ln
            except ConnectionClosed:
                pass
        assert dropped > 0, "the stalled client should have lost lines"
        assert len(received) + dropped == total
        assert received == sorted(set(received))


async def stalled_client(url: str, address: str):
    """A WebSocket client that reads nothing until told to: a small receive buffer and a
    one-message queue, so the server cannot hide its lag in the client's buffers."""
    host, port = address.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await connect(
        url, sock=sock, max_size=None, max_queue=1, additional_headers=auth_headers()
    )


async def read_all(ws) -> tuple[list[int], list[dict], dict | None]:
    """Line seqs, gap/dropped notices and the final message of a batched stream, checking
    that the notices account exactly for every line not received."""
    seqs: list[int] = []
    notices: list[dict] = []
    end = None
    expect = 1
    try:
        async for message in ws:
            frame = json.loads(message)
            if frame["type"] == "batch":
                for line in frame["lines"]:
                    assert line["seq"] == expect
                    seqs.append(expect)
                    expect += 1
            elif frame["type"] in ("gap", "dropped"):
                assert frame["fromSeq"] == expect
                notices.append(frame)
                expect = frame["toSeq"] + 1
            elif frame["type"] == "log" and frame["isComplete"]:
                end = frame
    except ConnectionClosed:
        pass
    return seqs, notices, end


async def test_a_slow_lossless_reader_gets_every_line_and_a_slow_live_one_is_told(
    master_factory,
):
    async with master_factory() as (running, _):
        total = 30_000  # ~14 MB of frames: more than the relay lets a live client lag
        burst = (
            f"i=1; while [ $i -le {total} ]; do printf 'seq=%d %0400d\\n' $i 0; i=$((i+1)); done"
        )
        task_id = await run(running, f"sleep 1; {burst}")
        url = f"ws://{running.http_address}/logs/{task_id}?batch=1&after=0"
        lossless = await stalled_client(url + "&lossless=1", running.http_address)
        live = await stalled_client(url, running.http_address)
        await eventually(
            lambda: running.master.registry.status(task_id).is_final, "the burst to end", 60
        )
        (got, notices, end), (live_got, live_notices, live_end) = await asyncio.gather(
            read_all(lossless), read_all(live)
        )
        assert got == list(range(1, total + 1))
        assert notices == []  # never a dropped
        assert end is not None and end["status"] == "success" and lossless.close_code == 1000
        assert running.master.relays[task_id].history.reads > 0  # it caught up from the store

        assert live_notices and {n["type"] for n in live_notices} == {"dropped"}
        lost = sum(n["count"] for n in live_notices)
        assert lost == sum(n["toSeq"] - n["fromSeq"] + 1 for n in live_notices)
        assert len(live_got) + lost == total  # exact: every line received or announced
        assert live_end is not None and live_end["status"] == "success"


async def test_an_expired_log_is_an_error_frame_and_close_4410(master_factory):
    async with master_factory() as (running, workers):
        task_id = await run(running, "echo one; echo two")
        base = f"ws://{running.http_address}/logs/{task_id}"
        got, code = await frames(base + "?batch=1")
        assert code == 1000 and [ln["content"] for ln in ws_lines(got)] == ["one", "two"]
        await workers[0].store.remove(task_id)  # what retention does
        await eventually(lambda: running.master.registry.task(task_id).expired, "the heartbeat")
        for query in ("", "?after=0&lossless=1", "?tail=1&batch=1"):
            got, code = await frames(base + query)
            assert code == 4410, query
            assert got[-1]["type"] == "error" and got[-1]["code"] == "expired"
            assert "expired" in got[-1]["message"] and len(got[-1]["message"]) < 300


@pytest.mark.parametrize(
    ("path", "code", "close"),
    [
        ("/logs/../x", "invalid_task_id", 4400),
        ("/logs/task-1%2F..", "invalid_task_id", 4400),
        ("/logs/task-1%00", "invalid_task_id", 4400),
        ("/logs/task-424242", "not_found", 4404),
        ("/logs/task-424242?after=-1", "invalid_request", 4400),
        ("/logs/task-424242?evil=1", "invalid_request", 4400),
        ("/logs/task-424242?lossless=2", "invalid_request", 4400),
    ],
)
async def test_bad_task_ids_get_an_error_frame_and_a_4xxx_close(master_factory, path, code, close):
    async with master_factory() as (running, _):
        running.master.registry.started_at = 0  # past the warm-up
        got, close_code = await frames(f"ws://{running.http_address}{path}")
        assert close_code == close
        assert got[-1]["type"] == "error" and got[-1]["code"] == code
        assert len(got[-1]["message"]) < 300


async def test_a_10kb_id_is_refused_with_414_before_the_upgrade(master_factory):
    async with master_factory() as (running, _):
        with pytest.raises(InvalidStatus) as err:
            await frames(f"ws://{running.http_address}/logs/task-{'1' * 10_000}")
        assert err.value.response.status_code == 414  # URI Too Long, as the README says
        # and the server goes on serving everyone else
        got, code = await frames(f"ws://{running.http_address}/logs/task-424242")
        assert (got[-1]["code"], code) in (("not_found", 4404), ("unavailable", 4503))


async def test_cross_origin_handshakes_are_refused(master_factory):
    async with master_factory() as (running, _):
        task_id = await run(running, "echo hi")
        url = f"ws://{running.http_address}/logs/{task_id}"
        host, port = running.http_address.rsplit(":", 1)
        for origin in ("http://evil.example", f"http://{host}:{int(port) + 1}", "null"):
            with pytest.raises(InvalidStatus) as err:
                await frames(url, origin=origin)
            assert err.value.response.status_code == 403
        got, code = await frames(url, origin=f"http://{running.http_address}")
        assert code == 1000 and got[-1]["isComplete"]


async def test_static_files_never_escape_web_and_pages_send_a_csp(master_factory):
    async with master_factory() as (running, _):
        base = f"http://{running.http_address}"

        def get(path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
            req = urllib.request.Request(base + path, headers={**auth_headers(), **(headers or {})})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, dict(resp.headers), resp.read()
            except urllib.error.HTTPError as exc:
                return exc.code, dict(exc.headers), exc.read()

        status, headers, body = await asyncio.to_thread(get, "/")
        assert status == 200 and b"logcast" in body
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        for path in (
            "/static/../pyproject.toml",
            "/static/..%2Fpyproject.toml",
            "/static/%2e%2e/pyproject.toml",
            "/static/.hidden",
            "/tasks/../../etc/passwd",
            "/etc/passwd",
        ):
            status, _, body = await asyncio.to_thread(get, path)
            assert status == 404, path
            assert b"[project]" not in body
        status, _, _ = await asyncio.to_thread(get, "/", {"Host": "evil.example:8080"})
        assert status == 421  # DNS rebinding: a loopback master answers loopback names only
