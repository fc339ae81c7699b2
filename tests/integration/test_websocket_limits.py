"""The master's HTTP port against clients that send what they should not: data frames on a log
stream, oversized frames, too many connections, repeated headers, Unicode digits. Real
websockets clients and raw sockets against a real master; each refusal is clean (a clear
code and message, no traceback in the master's log) and the other viewers keep receiving."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Close, Frame, Opcode
from websockets.uri import parse_uri

from master import keepalive
from master.master_client import MasterClient
from master.web_server import MAX_CLIENT_MESSAGE
from shared.model import TaskSpec
from tests.access import auth_headers, owner_token
from tests.fixtures import TEST_IMAGE, eventually
from tests.integration.test_fanout import numbered
from tests.integration.test_metrics import scrape

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every ERROR (or worse) record and every record with a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


async def long_task(running) -> str:
    """A task printing seq=1, seq=2, ... for minutes (stopped by the test)."""
    script = numbered(100_000, "sleep 0.01")
    async with MasterClient(running.grpc_address) as client:
        info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
    return info.task_id


async def stop(running, task_id: str) -> None:
    async with MasterClient(running.grpc_address) as client:
        await client.stop(task_id)


async def viewer(url: str, **kw) -> ClientConnection:
    return await connect(url, max_size=None, additional_headers=auth_headers(), **kw)


async def next_seq(ws: ClientConnection) -> int:
    """The seq of the next line the (batched) stream brings."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "batch":
            return frame["lines"][-1]["seq"]


async def until_closed(ws: ClientConnection) -> list[dict]:
    """The frames a client gets until the server closes (within 15 s: else the test fails)."""
    frames = []
    try:
        async with asyncio.timeout(15):
            async for message in ws:
                frames.append(json.loads(message))
    except ConnectionClosed:
        pass
    return frames


async def http(address: str, request: str) -> tuple[int, str]:
    """Send a raw HTTP/1.1 request; the status code and the body of the answer."""
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request.encode())
        answer = (await asyncio.wait_for(reader.read(), 10)).decode()
    finally:
        writer.close()
    head, _, body = answer.partition("\r\n\r\n")
    return int(head.split()[1]), body


async def test_a_client_sending_data_is_closed_with_1008_and_the_others_keep_receiving(
    master_factory, caplog
):
    async with master_factory() as (running, _):
        task_id = await long_task(running)
        url = f"ws://{running.http_address}/logs/{task_id}?batch=1"
        watching = await viewer(url)
        chatty = await viewer(url)
        await next_seq(watching)
        await next_seq(chatty)
        relay = running.master.relays[task_id]
        assert relay.hub.subscriber_count == 2
        await chatty.send("hello")
        frames = await until_closed(chatty)
        assert chatty.close_code == 1008
        assert chatty.close_reason == "a log stream takes no data from its client: closed"
        assert frames[-1]["type"] == "error" and frames[-1]["code"] == "client_data"
        await eventually(lambda: relay.hub.subscriber_count == 1, "its subscription freed")
        assert running.master.stats.refusals["websocket", "client_data"] == 1
        # the other viewer goes on, line after line
        before = await next_seq(watching)
        assert await next_seq(watching) > before
        await watching.close()
        await stop(running, task_id)
    assert errors_logged(caplog) == []


async def test_binary_and_oversized_frames_are_refused_too(master_factory, caplog):
    async with master_factory() as (running, _):
        task_id = await long_task(running)
        url = f"ws://{running.http_address}/logs/{task_id}?batch=1"
        watching = await viewer(url)
        await next_seq(watching)
        binary = await viewer(url)
        await binary.send(b"\x00\x01")
        await until_closed(binary)
        assert binary.close_code == 1008
        oversized = await viewer(url)
        await oversized.send("x" * (MAX_CLIENT_MESSAGE + 1))
        await until_closed(oversized)
        assert oversized.close_code == 1009  # message too big: refused before it is buffered
        relay = running.master.relays[task_id]
        await eventually(lambda: relay.hub.subscriber_count == 1, "their subscriptions freed")
        before = await next_seq(watching)
        assert await next_seq(watching) > before
        await watching.close()
        await stop(running, task_id)
    assert errors_logged(caplog) == []


async def test_connections_beyond_the_caps_are_refused_with_503_before_the_upgrade(
    master_factory,
):
    async with master_factory(max_websockets=3, max_websockets_per_address=2) as (running, _):
        task_id = await long_task(running)
        url = f"ws://{running.http_address}/logs/{task_id}?batch=1"
        first, second = await viewer(url), await viewer(url)
        with pytest.raises(InvalidStatus) as err:
            await viewer(url)
        assert err.value.response.status_code == 503
        assert b"2 per client address" in err.value.response.body
        # another client address still gets in, up to the total
        host, port = running.http_address.rsplit(":", 1)

        async def from_address(source: str) -> ClientConnection:
            sock = socket.socket()
            sock.bind((source, 0))
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
            return await viewer(url, sock=sock)

        third = await from_address("127.0.0.2")
        with pytest.raises(InvalidStatus) as err:
            await from_address("127.0.0.3")
        assert err.value.response.status_code == 503
        assert b"the master's limit is 3" in err.value.response.body
        assert running.master.stats.refusals["websocket", "service_unavailable"] == 2
        await next_seq(first)  # those admitted stream as usual
        # a closed connection frees its place
        await second.close()
        await eventually(lambda: running.web.caps.open == 2, "the closed one to be released")
        again = await viewer(url)
        await next_seq(again)
        for ws in (first, third, again):
            await ws.close()
        await eventually(lambda: running.web.caps.open == 0, "every connection released")
        await stop(running, task_id)


async def test_repeated_headers_are_a_clean_400(master_factory, caplog):
    async with master_factory() as (running, _):
        address = running.http_address
        token = owner_token()
        for path, extra in [
            ("/", f"Host: {address}\r\nHost: evil.example\r\n"),
            ("/api/tasks", f"Host: {address}\r\nHost: {address}\r\n"),
            (
                "/logs/task-123456",
                f"Host: {address}\r\nOrigin: http://{address}\r\nOrigin: http://evil.example\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            ),
            ("/api/tasks", f"Host: {address}\r\nAuthorization: Bearer {token}\r\n"),
        ]:
            request = f"GET {path} HTTP/1.1\r\n{extra}Authorization: Bearer {token}\r\n\r\n"
            status, body = await http(address, request)
            assert status == 400, (path, body)
            assert body.startswith("more than one ") and body.endswith(" header\n"), body
        assert running.master.stats.refusals["http", "bad_request"] == 3
        assert running.master.stats.refusals["websocket", "bad_request"] == 1
    assert errors_logged(caplog) == []


async def test_unicode_digits_in_queries_are_refused_with_a_clear_message(master_factory, caplog):
    async with master_factory() as (running, _):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", "echo one")))
        base = f"ws://{running.http_address}/logs/{info.task_id}"
        for query, name in [("tail=%C2%B2", "tail"), ("after=%EF%BC%91%EF%BC%92", "after")]:
            ws = await viewer(f"{base}?{query}")
            frames = await until_closed(ws)
            assert ws.close_code == 4400, query
            assert frames[-1]["code"] == "invalid_request"
            assert frames[-1]["message"] == f"{name} must be a non-negative integer"
        address = running.http_address
        for path in (
            f"/api/tasks/{info.task_id}/log?after=%EF%BC%91%EF%BC%92",
            f"/api/tasks/{info.task_id}/log?tail=%C2%B2",
            "/api/tasks?limit=%EF%BC%95",
        ):
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {address}\r\n"
                f"Authorization: Bearer {owner_token()}\r\nConnection: close\r\n\r\n"
            )
            status, body = await http(address, request)
            assert status == 400, (path, body)
            assert "must be a" in body and "integer" in body
    assert errors_logged(caplog) == []


async def test_an_open_stream_keeps_no_handshake_headers_and_a_leaving_viewer_frees_it_at_once(
    master_factory, caplog
):
    """A viewer's connection lives as long as it watches: it keeps neither the token it came
    with nor the rest of its handshake (a viewer's memory is what 10,000 of them cost), and an
    idle viewer that goes away frees its subscription without waiting for a line or a ping."""
    async with master_factory() as (running, _):
        async with MasterClient(running.grpc_address) as client:  # one line, then quiet
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", "echo seq=1; sleep 600")))
        task_id = info.task_id
        url = f"ws://{running.http_address}/logs/{task_id}?batch=1"
        watching, leaving = await viewer(url), await viewer(url)
        await next_seq(watching)
        await next_seq(leaving)
        token = auth_headers()["Authorization"]
        (served_first, served_second) = running.web.streams
        for served in (served_first, served_second):
            assert served.request is not None and served.response is not None
            assert served.request.path.startswith(f"/logs/{task_id}")
            assert list(served.request.headers.raw_items()) == []
            assert list(served.response.headers.raw_items()) == []
            assert token not in repr(vars(served.request))
        relay = running.master.relays[task_id]
        assert relay.hub.subscriber_count == 2
        await leaving.close()
        await eventually(lambda: relay.hub.subscriber_count == 1, "its subscription freed")
        assert running.web.clients == 1 and not watching.close_code
        await watching.close()
        await stop(running, task_id)
    assert errors_logged(caplog) == []


async def test_a_viewer_that_answers_no_ping_is_closed_and_one_that_does_stays(
    master_factory, monkeypatch, caplog
):
    """The master pings every viewer (one task for all: master/keepalive.py). A client that
    answers none (here: a real WebSocket handshake over a raw socket, and nothing sent after
    it) is closed with 1011 after an interval, which frees its subscription; a websockets
    client, which answers pings, is kept."""
    monkeypatch.setattr(keepalive, "PING_INTERVAL", 0.5)
    async with master_factory() as (running, _):
        async with MasterClient(running.grpc_address) as client:  # one line, then quiet
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", "echo seq=1; sleep 600")))
        url = f"ws://{running.http_address}/logs/{info.task_id}?batch=1"
        answering = await viewer(url)
        await next_seq(answering)
        host, port = running.http_address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        silent = ClientProtocol(parse_uri(url))
        request = silent.connect()
        request.headers.update(auth_headers())
        silent.send_request(request)
        writer.write(b"".join(silent.data_to_send()))  # the handshake; never a pong after it
        relay = running.master.relays[info.task_id]
        await eventually(lambda: relay.hub.subscriber_count == 2, "the silent client's stream")
        ping_seen, close = False, None
        async with asyncio.timeout(15):
            while close is None and (data := await reader.read(65536)):
                silent.receive_data(data)
                for event in silent.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.PING:
                        ping_seen = True
                    if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                        close = Close.parse(event.data)
        writer.close()
        assert ping_seen
        assert close == Close(1011, "keepalive ping timeout")
        await eventually(lambda: relay.hub.subscriber_count == 1, "its subscription freed")
        assert running.web.keepalive.closed == 1
        scraped = await scrape(running)
        assert scraped["logcast_master_websocket_keepalive_closed_total"] == 1
        assert not answering.close_code
        (served,) = running.web.streams
        assert served.latency > 0  # pinged by the master, and answered
        await answering.close()
        await stop(running, info.task_id)
    assert errors_logged(caplog) == []
