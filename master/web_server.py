"""Adapter: the master's HTTP port -- the web view's files, a JSON task list, and the
WebSocket log stream ``/logs/<task_id>`` -- with the ``websockets`` library.

Every WebSocket client is served through ``Master.StreamTaskLogsUnified``. A browser that
stops reading holds at most the library's write buffer (``write_limit``) here: while its
sends wait, its position in the task's hub falls behind, and past the relay's queue bound
(10,000 lines / 8 MiB) it loses its oldest lines and gets an exact ``dropped`` frame when it
reads again. One that has not accepted anything for ``STALL_TIMEOUT`` seconds is disconnected
(close code 4408); its page reconnects with ``after=<last seq>``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from master.coordinator import LogUpdate, Master
from master.webroutes import (
    CONTENT_TYPES,
    SECURITY_HEADERS,
    host_allowed,
    origin_allowed,
    parse_logs_query,
    route,
    static_file,
)
from master.wsframes import error_frame, frames
from shared.errors import InvalidRequest, TaskNotFound, WorkerUnavailable
from shared.ids import validate_task_id

log = logging.getLogger(__name__)
# one INFO line per connection opened or closed is noise for a log server
logging.getLogger("websockets.server").setLevel(logging.WARNING)

STALL_TIMEOUT = 30.0  # seconds a browser may take to accept one frame
CLOSE_INVALID, CLOSE_NOT_FOUND, CLOSE_TOO_SLOW, CLOSE_UNAVAILABLE = 4400, 4404, 4408, 4503


def _response(status: HTTPStatus, body: bytes, content_type: str, *, cache: bool) -> Response:
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache" if cache else "no-store"),
            *SECURITY_HEADERS,
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def _text(status: HTTPStatus, text: str) -> Response:
    return _response(status, text.encode(), "text/plain; charset=utf-8", cache=False)


class WebServer:
    """HTTP + WebSocket on one port, for one master."""

    def __init__(self, master: Master, web_dir: Path, bind_host: str) -> None:
        self.master = master
        self.web_dir = web_dir
        self.bind_host = bind_host
        self.clients = 0  # open WebSocket log streams

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer plain HTTP requests; let a valid same-origin /logs/ upgrade through."""
        headers = request.headers
        if not host_allowed(headers.get("Host"), self.bind_host):
            return _text(HTTPStatus.MISDIRECTED_REQUEST, "unexpected Host header\n")
        target = route(request.path)
        if target.kind == "logs":
            if not origin_allowed(headers.get("Origin"), headers.get("Host")):
                return _text(HTTPStatus.FORBIDDEN, "cross-origin WebSocket refused\n")
            if "websocket" not in headers.get("Upgrade", "").lower():
                return _text(HTTPStatus.UPGRADE_REQUIRED, "this is a WebSocket endpoint\n")
            return None
        if target.kind in ("page", "static"):
            path = static_file(self.web_dir, target.file)
            if path is not None:
                content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
                return _response(HTTPStatus.OK, path.read_bytes(), content_type, cache=True)
        if target.kind == "api_tasks":
            rows = []
            for info in self.master.list_tasks():
                row = dataclasses.asdict(info)
                row["status"], row["command"] = info.status.value, list(info.command)
                rows.append(row)
            body = json.dumps(rows).encode()
            return _response(HTTPStatus.OK, body, "application/json", cache=False)
        return _text(HTTPStatus.NOT_FOUND, "not found\n")

    async def handle(self, ws: ServerConnection) -> None:
        """One WebSocket client: validate, then stream through StreamTaskLogsUnified."""
        assert ws.request is not None
        target = route(ws.request.path)
        try:
            task_id = validate_task_id(target.task_id)
            query = parse_logs_query(target.query)
        except InvalidRequest as exc:
            code = "invalid_task_id" if "task id" in str(exc) else "invalid_request"
            await self._refuse(ws, code, str(exc), CLOSE_INVALID)
            return
        self.clients += 1
        user = f"web:{ws.remote_address[0] if ws.remote_address else '?'}"

        async def send(update: LogUpdate) -> None:
            async with asyncio.timeout(STALL_TIMEOUT):
                for frame in frames(update.batch, batched=query.batch, status=update.status.value):
                    await ws.send(frame)

        try:
            await self.master.StreamTaskLogsUnified(
                task_id, user, send, tail=query.tail, after=query.after
            )
            await ws.close(1000, "task finished")
        except TaskNotFound as exc:
            await self._refuse(ws, "not_found", str(exc), CLOSE_NOT_FOUND)
        except WorkerUnavailable as exc:
            await self._refuse(ws, "unavailable", str(exc), CLOSE_UNAVAILABLE)
        except TimeoutError:
            log.info("%s: closing a WebSocket client that stopped reading", task_id)
            ws.transport.abort()
        except ConnectionClosed:
            pass
        finally:
            self.clients -= 1

    async def _refuse(self, ws: ServerConnection, code: str, message: str, close: int) -> None:
        try:
            await ws.send(error_frame(code, message))
            await ws.close(close, code)
        except ConnectionClosed:
            pass


@asynccontextmanager
async def run_web(
    master: Master, web_dir: Path, host: str, port: int
) -> AsyncIterator[tuple[Server, WebServer]]:
    """Serve the web view and the WebSocket endpoint on ``host:port`` until exit."""
    web = WebServer(master, web_dir, host)
    server = await serve(
        web.handle,
        host,
        port,
        process_request=web.process_request,
        compression=None,  # log frames are small and many: deflate costs more CPU than it saves
        max_size=64 * 1024,  # browsers send nothing but pings
        ping_interval=20,
        ping_timeout=20,
        write_limit=64 * 1024,
        server_header="logcast",
    )
    try:
        yield server, web
    finally:
        server.close()
        await server.wait_closed()
