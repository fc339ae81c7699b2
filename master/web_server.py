"""Adapter: the master's HTTP port -- the web view's files, a JSON task list, and the
WebSocket log stream ``/logs/<task_id>`` -- with the ``websockets`` library.

Every WebSocket client is served through ``Master.StreamTaskLogsUnified``. A browser that
stops reading holds at most the library's write buffer (``write_limit``) here: while its
sends wait, its position in the task's hub falls behind, and past the relay's queue bound
(10,000 lines / 8 MiB) it loses its oldest lines and gets an exact ``dropped`` frame when it
reads again. One that has not accepted anything for ``STALL_TIMEOUT`` seconds is disconnected
(close code 4408); its page reconnects with ``after=<last seq>``. A ``lossless=1`` client is
never dropped: when it falls behind it continues from the worker's store at its own pace.

Clients send nothing but control frames: any data frame ends the stream (close 1008), a
message over MAX_CLIENT_MESSAGE is refused by websockets (1009), and open connections are
capped in all and per client address (:class:`~master.connection_caps.ConnectionCaps`: 503
before the upgrade). A request repeating a header that must be single is a 400.

The log download ``/api/tasks/<task_id>/log`` is answered from ``process_request`` too, but
streamed: websockets wants a whole :class:`Response` from there, so the download writes its
own head and chunked body to the connection's transport, with the connection's flow control,
closes it, and hands websockets a connection that is already closed (it then writes nothing).
A client that goes away mid-download frees its subscription at once.

A search ``/api/tasks/<task_id>/search`` runs on the task's worker (``Master.search``, the
relay of its ``SearchLogs``), newest first with a time budget of :data:`SEARCH_BUDGET`; its
answer is one JSON document once the search is done, and a client that goes away stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from ssl import SSLContext
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import DATA_OPCODES, Frame
from websockets.http11 import Request, Response
from websockets.protocol import Event

from master import keepalive
from master.access import MasterAccess
from master.connection_caps import ConnectionCaps
from master.coordinator import LogUpdate, Master
from master.export import LAST_CHUNK, chunk, download_headers, encode_lines, response_head
from master.interruption import Interruption
from master.keepalive import Keepalive
from master.metrics import master_metrics
from master.webroutes import (
    CONTENT_TYPES,
    LOG_KINDS,
    OPEN_KINDS,
    SECURITY_HEADERS,
    ExportQuery,
    Route,
    host_allowed,
    login_code,
    origin_allowed,
    parse_export_query,
    parse_logs_query,
    parse_search_query,
    parse_tasks_query,
    repeated_header,
    route,
    scoped_task_ids,
    static_file,
)
from master.wsframes import error_frame, frames
from shared.access import Principal, bearer
from shared.errors import (
    InvalidRequest,
    LogExpired,
    PermissionDenied,
    TaskNotFound,
    Unauthenticated,
    WorkerUnavailable,
)
from shared.ids import is_valid_task_id, validate_task_id
from shared.metrics import CONTENT_TYPE_LATEST, Metrics, StateCollector
from shared.model import ConnectionState
from shared.protos import logcast_pb2 as pb
from shared.sessions import clear_cookie, cookie_value, set_cookie

log = logging.getLogger(__name__)
# one INFO line per connection opened or closed is noise for a log server
logging.getLogger("websockets.server").setLevel(logging.WARNING)

STALL_TIMEOUT = 30.0  # seconds a browser may take to accept one frame (or download chunk)
GOING_AWAY_TIMEOUT = 2.0  # seconds a shutting-down master gives each client to be told
OPEN_TIMEOUT = 10.0  # seconds to receive a request and answer it (a download: to start it)
CLOSE_INVALID, CLOSE_NOT_FOUND, CLOSE_TOO_SLOW = 4400, 4404, 4408
FrameSink = Callable[[Iterable[str]], Awaitable[None]]
"""Sends a batch's frames to a WebSocket client (:meth:`WebServer.serve_stream`)."""
CLOSE_EXPIRED, CLOSE_UNAVAILABLE = 4410, 4503
CLOSE_POLICY = 1008  # the client sent data: a log stream takes none
MAX_CLIENT_MESSAGE = 4 * 1024  # bigger inbound messages are refused (close 1009)
MAX_CLIENT_QUEUE = 4  # inbound frames buffered before the server stops reading the socket
SEARCH_BUDGET = 10.0  # seconds a search over HTTP may scan (then it stops, "time budget")
SEARCH_GRACE = 10.0  # ... and beyond that, seconds to wait for its worker's last answer


def _response(
    status: HTTPStatus,
    body: bytes,
    content_type: str,
    *,
    cache: bool,
    extra: list[tuple[str, str]] | None = None,
) -> Response:
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache" if cache else "no-store"),
            *SECURITY_HEADERS,
            *(extra or []),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def _json(status: HTTPStatus, data: object) -> Response:
    return _response(status, json.dumps(data).encode(), "application/json", cache=False)


def _text(status: HTTPStatus, text: str) -> Response:
    return _response(status, text.encode(), "text/plain; charset=utf-8", cache=False)


def _redirect(location: str, *, cookie: str = "") -> Response:
    """303 See Other to ``location`` (setting ``cookie`` on the way)."""
    extra = [("Location", location)] + ([("Set-Cookie", cookie)] if cookie else [])
    return _response(HTTPStatus.SEE_OTHER, b"", "text/plain", cache=False, extra=extra)


def _peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    return str(address[0]) if address else "?"


class _Connection(ServerConnection):
    """websockets' server connection, with an opening deadline a download can lift, and a log
    stream that the client's data or departure interrupts.

    websockets bounds the whole of ``process_request`` by its ``open_timeout``; a download is
    answered from there and may rightly take minutes. So the deadline is ours: a request must
    arrive and be answered within :data:`OPEN_TIMEOUT`, except a download, which lifts it once
    it starts (each of its writes has :data:`STALL_TIMEOUT` instead).

    Once open, the handshake's headers are dropped (the cookie or token among them: what the
    server needs, the principal, was read from them in ``process_request``): a connection is
    kept for as long as its viewer watches, and a viewer's memory is what 10,000 of them cost.
    For the same reason a log stream runs in the connection's own handler task, with no reader
    task beside it: the connection interrupts that task when a data frame arrives or when the
    connection is lost (:class:`~master.interruption.Interruption`), so that its subscription
    is freed at once."""

    # slots: the library's connection has 27 attributes, and Python shares one dict layout
    # among instances only up to 30 keys (beyond, each connection holds a 1.5 KiB dict)
    __slots__ = ("client_data", "deadline", "interruption", "principal")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: asyncio.Timeout | None = None
        self.principal: Principal | None = None  # who, once process_request has checked
        self.interruption = Interruption()
        self.client_data = False  # the client sent a data frame (a log stream takes none)

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        async with asyncio.timeout(OPEN_TIMEOUT) as deadline:
            self.deadline = deadline
            await super().handshake(*args, **kwargs)
        # the library keeps the request for the connection's life (its parser holds it)
        if self.request is not None:
            self.request.headers = Headers()
        if self.response is not None:
            self.response.headers = Headers()

    def lift_deadline(self) -> None:
        """No opening deadline any more (this request is a download that has started)."""
        if self.deadline is not None:
            self.deadline.reschedule(None)

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if isinstance(event, Frame) and event.opcode in DATA_OPCODES:
            self.client_data = True
            self.interruption.interrupt()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.interruption.interrupt()


class _ClientGone(Exception):
    """The download's client closed its connection."""


class _Download:
    """One log download, written straight to the connection's transport: the head at the
    first batch (once the task is known to have a log), one chunk per batch, waiting for the
    client to take each (flow control), then the last chunk."""

    def __init__(self, connection: ServerConnection, task_id: str, query: ExportQuery) -> None:
        self.connection = connection
        self.transport = connection.transport
        self.query = query
        self.started = False
        self.lines = 0
        self._head = response_head(
            200,
            "OK",
            [
                ("Date", email.utils.formatdate(usegmt=True)),
                ("Server", "logcast"),
                *download_headers(task_id, query.format),
                *SECURITY_HEADERS,
            ],
        )

    def _take_head(self) -> bytes:
        if self.started:
            return b""
        self.started = True
        return self._head

    async def send(self, update: LogUpdate) -> None:
        """A :data:`~master.coordinator.LogStreamHandler`: the batch's lines as one chunk."""
        lines = update.batch.lines
        data = encode_lines(lines, self.query.format, timestamps=self.query.timestamps)
        out = self._take_head() + (chunk(data) if data else b"")
        self.lines += len(lines)
        if out:
            await self._write(out)

    async def finish(self) -> None:
        """The last chunk (the head first if nothing was sent), then close the connection."""
        await self._write(self._take_head() + LAST_CHUNK)
        self.transport.close()

    async def _write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise _ClientGone
        self.transport.write(data)
        async with asyncio.timeout(STALL_TIMEOUT):
            await self.connection.drain()


_DOWNLOAD_ERRORS: list[tuple[type[Exception], HTTPStatus]] = [
    (InvalidRequest, HTTPStatus.BAD_REQUEST),
    (TaskNotFound, HTTPStatus.NOT_FOUND),
    (LogExpired, HTTPStatus.GONE),
    (WorkerUnavailable, HTTPStatus.SERVICE_UNAVAILABLE),
]


def _error_status(error: Exception) -> HTTPStatus:
    """The status of one of :data:`_DOWNLOAD_ERRORS`."""
    return next(status for kind, status in _DOWNLOAD_ERRORS if isinstance(error, kind))


class WebServer:
    """HTTP + WebSocket on one port, for one master."""

    def __init__(
        self,
        master: Master,
        access: MasterAccess,
        web_dir: Path,
        bind_host: str,
        *,
        secure: bool = False,
    ) -> None:
        """``secure``: the port serves HTTPS/WSS (the session cookie is ``Secure``, and only
        ``https://`` Origins are this server's own)."""
        self.master = master
        self.access = access
        self.metrics = Metrics()
        self.metrics.add(StateCollector(lambda: master_metrics(master, self)))
        self.web_dir = web_dir
        self.bind_host = bind_host
        self.secure = secure
        self.clients = 0  # open WebSocket log streams
        self.streams: set[ServerConnection] = set()  # ... and their connections
        self.keepalive = Keepalive(keepalive.PING_INTERVAL)  # (run_web runs it)
        self.downloads: set[ServerConnection] = set()  # log downloads in progress
        self.stopping = False  # going_away() was called: no new log streams
        config = master.config
        self.caps = ConnectionCaps(config.max_websockets, config.max_websockets_per_address)

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Answer plain HTTP requests; let a valid same-origin /logs/ upgrade through. Errors
        are counted as refusals (by interface and status) for /metrics."""
        assert isinstance(connection, _Connection)
        response = await self._answer(connection, request)
        if response is not None and response.status_code >= 400:
            kind = "websocket" if route(request.path).kind in LOG_KINDS else "http"
            reason = HTTPStatus(response.status_code).name.lower()
            self.master.stats.refusals[kind, reason] += 1
        return response

    async def _answer(self, connection: _Connection, request: Request) -> Response | None:
        headers = request.headers
        repeated = repeated_header(name for name, _ in headers.raw_items())
        if repeated is not None:
            return _text(HTTPStatus.BAD_REQUEST, f"more than one {repeated} header\n")
        config = self.master.config
        if not host_allowed(headers.get("Host"), self.bind_host, config.allowed_hosts):
            return _text(HTTPStatus.MISDIRECTED_REQUEST, "unexpected Host header\n")
        target = route(request.path)
        if target.kind in ("login", "session", "logout"):
            return self._login(target, headers)
        if target.kind not in OPEN_KINDS:
            try:
                who = self._principal(headers)
                for task_id in scoped_task_ids(target):  # (a merged stream: each of its tasks)
                    self._in_scope(who, task_id)
            except Unauthenticated as exc:
                if target.kind == "page":  # a browser: to the login page, and back
                    return _redirect("/login")
                log.info("refused %s from %s: %s", target.kind, _peer(connection), exc)
                return _response(
                    HTTPStatus.UNAUTHORIZED,
                    f"not authenticated: {exc}\n".encode(),
                    "text/plain; charset=utf-8",
                    cache=False,
                    extra=[("WWW-Authenticate", 'Bearer realm="logcast"')],
                )
            except PermissionDenied as exc:
                log.info("refused %s from %s: %s", target.kind, _peer(connection), exc)
                return _text(HTTPStatus.FORBIDDEN, f"permission denied: {exc}\n")
            connection.principal = who
        if target.kind in LOG_KINDS and self.stopping:
            return _text(HTTPStatus.SERVICE_UNAVAILABLE, "the master is restarting\n")
        if target.kind in LOG_KINDS:
            if not self._same_origin(headers.get("Origin"), headers.get("Host")):
                return _text(HTTPStatus.FORBIDDEN, "cross-origin WebSocket refused\n")
            if "websocket" not in headers.get("Upgrade", "").lower():
                return _text(HTTPStatus.UPGRADE_REQUIRED, "this is a WebSocket endpoint\n")
            return self._admit(connection)
        if target.kind in ("page", "static"):
            path = static_file(self.web_dir, target.file)
            if path is not None:
                content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
                return _response(HTTPStatus.OK, path.read_bytes(), content_type, cache=True)
        if target.kind == "api_tasks":
            assert connection.principal is not None  # (not an open kind: checked above)
            return self._task_list(target, connection.principal)
        if target.kind == "metrics":
            return _response(
                HTTPStatus.OK, self.metrics.exposition(), CONTENT_TYPE_LATEST, cache=False
            )
        if target.kind == "healthz":
            return _json(HTTPStatus.OK, {"status": "ok"})
        if target.kind == "readyz":
            return self._readiness()
        if target.kind == "api_task_log":
            return await self._download(connection, target)
        if target.kind == "api_task_search":
            return await self._search(connection, target)
        return _text(HTTPStatus.NOT_FOUND, "not found\n")

    def _same_origin(self, origin: str | None, host: str | None) -> bool:
        """:func:`~master.webroutes.origin_allowed`; on a TLS port, a page of this host served
        over plain ``http://`` is not this server's (only an Origin the operator allowed)."""
        allowed = self.master.config.allowed_origins
        if not origin_allowed(origin, host, allowed):
            return False
        if not self.secure or origin is None:
            return True
        origin = origin.lower().rstrip("/")
        return origin.startswith("https://") or origin in (a.lower().rstrip("/") for a in allowed)

    def _principal(self, headers: Headers) -> Principal:
        """Who asks: ``Authorization: Bearer TOKEN``, else the browser's session cookie."""
        token = bearer(headers.get("Authorization"))
        if token is not None:
            return self.access.authenticate(token)
        who = self.access.session(cookie_value(headers.get("Cookie")))
        if who is None:
            raise Unauthenticated(
                "no token and no session (log in at /login, or send Authorization: Bearer TOKEN)"
            )
        return who

    def _in_scope(self, who: Principal, task_id: str) -> None:
        """PermissionDenied when ``who`` may not see ``task_id`` (an unknown or invalid id is
        left to the request's own answer)."""
        if who.scope.everything or not is_valid_task_id(task_id):
            return
        try:
            info = self.master.get_task(task_id)
        except TaskNotFound:
            raise PermissionDenied(f"token {who.token_id} is limited to some tasks") from None
        who.require_task(task_id, info.labels)

    def _login(self, target: Route, headers: Headers) -> Response:
        """``/login`` (the page, or a single-use link), ``/api/session``, ``/logout``."""
        now = self.access.clock()
        if target.kind == "logout":
            self.access.sessions.close(cookie_value(headers.get("Cookie")))
            return _redirect("/login", cookie=clear_cookie(secure=self.secure))
        if target.kind == "session":
            try:
                who = self.access.authenticate(bearer(headers.get("Authorization")))
            except Unauthenticated as exc:
                return _text(HTTPStatus.UNAUTHORIZED, f"not authenticated: {exc}\n")
            session = self.access.sessions.open(who, now)
            body = json.dumps({"user": who.user, "role": who.role.label}).encode()
            return _response(
                HTTPStatus.OK,
                body,
                "application/json",
                cache=False,
                extra=[("Set-Cookie", set_cookie(session, secure=self.secure))],
            )
        try:
            code, after = login_code(target.query)
        except InvalidRequest as exc:
            return _text(HTTPStatus.BAD_REQUEST, f"{exc}\n")
        if code is None:
            path = static_file(self.web_dir, "login.html")
            assert path is not None
            return _response(HTTPStatus.OK, path.read_bytes(), CONTENT_TYPES[".html"], cache=True)
        owner = self.access.sessions.redeem(code, now)
        if owner is None:
            return _text(
                HTTPStatus.UNAUTHORIZED,
                "this login link was used already or has expired: ask for a new one "
                "(master login-link), or log in with a token at /login\n",
            )
        session = self.access.sessions.open(owner, now)
        return _redirect(after, cookie=set_cookie(session, secure=self.secure))

    def _admit(self, connection: ServerConnection) -> Response | None:
        """Count a WebSocket connection against the caps until it closes, or refuse it (503)."""
        address = _peer(connection)
        refusal = self.caps.admit(address)
        if refusal is not None:
            return _text(HTTPStatus.SERVICE_UNAVAILABLE, f"{refusal}\n")
        connection.connection_lost_waiter.add_done_callback(lambda _: self.caps.release(address))
        return None

    def _readiness(self) -> Response:
        """``GET /readyz``: 200 when the master can run and show tasks (a live worker)."""
        live = sum(1 for w in self.master.registry.workers() if w.alive)
        if live:
            return _json(HTTPStatus.OK, {"status": "ready", "live_workers": live})
        body = {"status": "not ready", "reason": "no live worker", "live_workers": 0}
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, body)

    def _task_list(self, target: Route, who: Principal) -> Response:
        """``GET /api/tasks``: one page, newest first; the next page's token in a header
        (tasks ``who`` may not see are left out)."""
        try:
            tasks, next_token = self.master.list_tasks(parse_tasks_query(target.query))
        except InvalidRequest as exc:
            return _text(HTTPStatus.BAD_REQUEST, f"{exc}\n")
        tasks = [t for t in tasks if who.may_see(t.task_id, t.labels)]
        rows = []
        for info in tasks:
            row = dataclasses.asdict(info)
            row["status"], row["command"] = info.status.value, list(info.command)
            rows.append(row)
        body = json.dumps(rows).encode()
        extra = [("X-Next-Page-Token", next_token)] if next_token else []
        return _response(HTTPStatus.OK, body, "application/json", cache=False, extra=extra)

    async def _download(self, connection: ServerConnection, target: Route) -> Response:
        """``GET /api/tasks/<task_id>/log``: the stored log, streamed (see the module
        docstring). Errors found before the first byte are plain responses (400, 404, 410,
        503); one after it cuts the connection, so the client sees an incomplete body."""
        try:
            task_id = validate_task_id(target.task_id)
            query = parse_export_query(target.query)
        except InvalidRequest as exc:
            return _text(HTTPStatus.BAD_REQUEST, f"{exc}\n")
        if isinstance(connection, _Connection):
            connection.lift_deadline()
        download = _Download(connection, task_id, query)
        stream = asyncio.create_task(self._stream(download, task_id), name=f"download-{task_id}")
        self.downloads.add(connection)
        try:
            await asyncio.wait(
                (stream, connection.connection_lost_waiter),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self.downloads.discard(connection)
            if not stream.done():  # the client went away: free the subscription now
                stream.cancel()
                await asyncio.wait((stream,))
        error = None if stream.cancelled() else stream.exception()
        if stream.cancelled() or isinstance(error, (_ClientGone, OSError)):
            log.info("%s: download client went away after %d lines", task_id, download.lines)
            connection.transport.abort()
        elif isinstance(error, TimeoutError):
            log.info("%s: closing a download client that stopped reading", task_id)
            connection.transport.abort()
        elif error is not None and not download.started:
            for kind, status in _DOWNLOAD_ERRORS:
                if isinstance(error, kind):
                    return _text(status, f"{error}\n")
            log.error("%s: download failed", task_id, exc_info=error)
            return _text(HTTPStatus.INTERNAL_SERVER_ERROR, "the download failed\n")
        elif error is not None:
            log.warning("%s: download cut short after %d lines: %s", task_id, download.lines, error)
            connection.transport.abort()
        else:
            try:
                await download.finish()
            except (_ClientGone, OSError, TimeoutError):
                connection.transport.abort()
        await _closed(connection)
        # websockets sends nothing on a connection that is already closed
        return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, Headers())

    async def _search(self, connection: ServerConnection, target: Route) -> Response:
        """``GET /api/tasks/<task_id>/search``: the task's whole log searched on its worker,
        newest first, as one JSON document (400 invalid id, parameter or pattern, 404 unknown
        task, 410 expired, 503 worker unreachable, 504 no answer). The search runs while the
        client waits, and stops when it goes away."""
        try:
            task_id = validate_task_id(target.task_id)
            query = parse_search_query(target.query)
            if self.master.get_task(task_id).expired:  # as the download says it
                raise LogExpired(f"the log of {task_id} has expired (removed by retention)")
        except (InvalidRequest, TaskNotFound, LogExpired, WorkerUnavailable) as exc:
            return _text(_error_status(exc), f"{exc}\n")
        request = pb.SearchRequest(
            task_id=task_id,
            pattern=query.pattern,
            regex=query.regex,
            ignore_case=query.ignore_case,
            limit=query.limit,
            newest_first=True,
            time_budget=SEARCH_BUDGET,
        )
        if isinstance(connection, _Connection):
            connection.lift_deadline()  # the search has its own: its budget, and a grace
        search = asyncio.create_task(self._searched(request), name=f"search-{task_id}")
        await asyncio.wait(
            (search, connection.connection_lost_waiter), return_when=asyncio.FIRST_COMPLETED
        )
        if not search.done():  # the client went away: stop the search on the worker
            search.cancel()
            await asyncio.wait((search,))
            log.info("%s: search client went away", task_id)
            connection.transport.abort()
            await _closed(connection)
            # websockets sends nothing on a connection that is already closed
            return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, Headers())
        error = search.exception()
        if error is None:
            return _json(HTTPStatus.OK, search.result())
        if isinstance(error, TimeoutError):
            return _text(HTTPStatus.GATEWAY_TIMEOUT, f"the worker of {task_id} did not answer\n")
        if isinstance(error, (InvalidRequest, TaskNotFound, LogExpired, WorkerUnavailable)):
            return _text(_error_status(error), f"{error}\n")
        log.error("%s: search failed", task_id, exc_info=error)
        return _text(HTTPStatus.INTERNAL_SERVER_ERROR, "the search failed\n")

    async def _searched(self, request: pb.SearchRequest) -> dict[str, object]:
        """The relayed search, gathered into the endpoint's JSON document."""
        matches: list[dict[str, object]] = []
        last = pb.SearchBatch()
        # a cancellation (the client left, or the deadline) ends the worker's call too: it
        # lands where the relay waits for the worker's next message
        async with asyncio.timeout(SEARCH_BUDGET + SEARCH_GRACE):
            async for batch in self.master.search(request):
                matches += (
                    {"seq": seq, "content": content}
                    for seq, content, match in zip(
                        batch.seqs, batch.contents, batch.matches, strict=True
                    )
                    if match
                )
                last = batch
        return {
            "task_id": request.task_id,
            "matches": matches,
            "match_count": last.match_count,
            "scanned": last.scanned,
            "lowest": last.lowest,
            "highest": last.highest,
            "complete": last.done and not last.stopped,
            "stopped": last.stopped,
        }

    async def _stream(self, download: _Download, task_id: str) -> None:
        """The download's lines, from the store, through StreamTaskLogsUnified (lossless, no
        follow: the log up to the worker's newest line when the download starts)."""
        address = download.connection.remote_address
        await self.master.StreamTaskLogsUnified(
            task_id,
            f"download:{address[0] if address else '?'}",
            download.send,
            tail=download.query.tail,
            after=download.query.after,
            follow=False,
            lossless=True,
            sink="download",
            line_filter=download.query.line_filter,
        )

    def abort_downloads(self) -> None:
        """Cut every download in progress (the server is stopping)."""
        for connection in list(self.downloads):
            connection.transport.abort()

    async def handle(self, ws: ServerConnection) -> None:
        """One WebSocket client: its log stream (:meth:`_log_stream`), until it ends or the
        client interrupts it (:class:`_Connection`): a data frame ends the stream
        (an error frame, close 1008) and frees its subscription at once, as does the client
        closing. An unexpected error goes on to websockets, which logs it and closes (1011)."""
        assert isinstance(ws, _Connection)
        with ws.interruption.watching():
            await self._log_stream(ws)
        if ws.interruption.happened and ws.client_data:
            message = "a log stream takes no data from its client: closed"
            await self._refuse(ws, "client_data", message, CLOSE_POLICY, reason=message)

    async def _log_stream(self, ws: ServerConnection) -> None:
        """The stream the client asked for: one task's (``/logs/<task_id>``), or several tasks'
        merged (``/logs?tasks=A,B``: :mod:`master.merged_ws`)."""
        assert ws.request is not None
        if route(ws.request.path).kind == "merged_logs":
            from master.merged_ws import stream_merged  # (it builds on this module)

            await stream_merged(self, ws)
        else:
            await self._stream_logs(ws)

    async def _stream_logs(self, ws: ServerConnection) -> None:
        """Validate the request, then stream through StreamTaskLogsUnified."""
        assert ws.request is not None
        target = route(ws.request.path)
        try:
            task_id = validate_task_id(target.task_id)
            query = parse_logs_query(target.query)
        except InvalidRequest as exc:
            await self.refuse_invalid(ws, exc)
            return

        async def stream(user: str, send: FrameSink) -> None:
            async def handler(update: LogUpdate) -> None:
                status = update.status.value
                await send(frames(update.batch, batched=query.batch, status=status))

            await self.master.StreamTaskLogsUnified(
                task_id,
                user,
                handler,
                tail=query.tail,
                after=query.after,
                lossless=query.lossless,
                sink="websocket",
                line_filter=query.line_filter,
            )

        await self.serve_stream(ws, task_id, stream, "task finished")

    async def refuse_invalid(self, ws: ServerConnection, exc: InvalidRequest) -> None:
        """A log stream's request that is no request: an error frame, close 4400."""
        code = "invalid_task_id" if "task id" in str(exc) else "invalid_request"
        await self._refuse(ws, code, str(exc), CLOSE_INVALID)

    async def serve_stream(
        self,
        ws: ServerConnection,
        what: str,
        stream: Callable[[str, FrameSink], Awaitable[object]],
        finished: str,
    ) -> None:
        """Run a validated log stream (one task's or several tasks' merged) to its end, then
        close with 1000 (``finished``). ``stream`` gets the client's user name and a sink for
        its frames (a client that takes none for STALL_TIMEOUT is cut). A task that is unknown,
        expired or unreachable is refused with its error frame and close code."""
        self.clients += 1
        self.streams.add(ws)
        who = ws.principal if isinstance(ws, _Connection) else None
        address = ws.remote_address[0] if ws.remote_address else "?"
        user = f"web:{who.user if who else '?'}@{address}"

        async def send(batch_frames: Iterable[str]) -> None:
            async with asyncio.timeout(STALL_TIMEOUT):
                for frame in batch_frames:
                    await ws.send(frame)

        try:
            await stream(user, send)
            await ws.close(1000, finished)
        except TaskNotFound as exc:
            await self._refuse(ws, "not_found", str(exc), CLOSE_NOT_FOUND)
        except LogExpired as exc:
            await self._refuse(ws, "expired", str(exc), CLOSE_EXPIRED)
        except WorkerUnavailable as exc:
            await self._refuse(ws, "unavailable", str(exc), CLOSE_UNAVAILABLE)
        except TimeoutError:
            log.info("%s: closing a WebSocket client that stopped reading", what)
            ws.transport.abort()
        except ConnectionClosed:
            pass
        finally:
            self.clients -= 1
            self.streams.discard(ws)

    async def going_away(self) -> None:
        """The master is shutting down: tell every WebSocket client (a ``state`` frame,
        ``master restarting``) and close with 1001, within :data:`GOING_AWAY_TIMEOUT`. Their
        pages reconnect, and resume after the last line they have; a log stream asked for from
        now on is refused (503), so a page retries and reaches the next master."""
        self.stopping = True
        frame = json.dumps({"type": "state", "state": ConnectionState.MASTER_RESTARTING.value})

        async def tell(ws: ServerConnection) -> None:
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                async with asyncio.timeout(GOING_AWAY_TIMEOUT):
                    await ws.send(frame)
                    await ws.close(1001, "master restarting")

        if self.streams:
            log.info("telling %d WebSocket client(s) the master is restarting", len(self.streams))
            await asyncio.gather(*(tell(ws) for ws in list(self.streams)))

    async def _refuse(
        self, ws: ServerConnection, code: str, message: str, close: int, *, reason: str = ""
    ) -> None:
        self.master.stats.refusals["websocket", code] += 1
        try:
            await ws.send(error_frame(code, message))
            await ws.close(close, reason or code)
        except ConnectionClosed:
            pass


async def _closed(connection: ServerConnection) -> None:
    """Wait until the connection is closed (what it still had to send sent, at most
    STALL_TIMEOUT seconds)."""
    lost = connection.connection_lost_waiter
    try:
        async with asyncio.timeout(STALL_TIMEOUT):
            await asyncio.shield(lost)
    except TimeoutError:
        connection.transport.abort()
        await asyncio.shield(lost)


@asynccontextmanager
async def run_web(
    master: Master,
    access: MasterAccess,
    web_dir: Path,
    host: str,
    port: int,
    *,
    ssl: SSLContext | None = None,
) -> AsyncIterator[tuple[Server, WebServer]]:
    """Serve the web view and the WebSocket endpoint on ``host:port`` until exit (HTTPS and
    WSS with ``ssl``)."""
    web = WebServer(master, access, web_dir, host, secure=ssl is not None)
    server = await serve(
        web.handle,
        host,
        port,
        process_request=web.process_request,
        create_connection=_Connection,
        open_timeout=None,  # _Connection has its own (a download may take long)
        compression=None,  # log frames are small and many: deflate costs more CPU than it saves
        # clients send nothing but control frames (pings, close): a data frame closes the
        # stream (see WebServer.handle), and a big one is refused before it is buffered
        max_size=MAX_CLIENT_MESSAGE,
        max_queue=MAX_CLIENT_QUEUE,
        ping_interval=None,  # one task pings every viewer (master/keepalive.py), not one each
        write_limit=64 * 1024,
        server_header="logcast",
        ssl=ssl,
    )
    pinger = asyncio.create_task(web.keepalive.run(lambda: web.streams), name="ws-keepalive")
    try:
        yield server, web
    finally:
        pinger.cancel()
        web.abort_downloads()
        server.close()
        await server.wait_closed()
        await asyncio.wait((pinger,))
