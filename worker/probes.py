"""Adapter: the worker's HTTP port for operators (``worker serve --metrics ADDRESS``):
``GET /healthz``, ``/readyz`` (Docker answers) and ``/metrics``, nothing else. Served with
``websockets``' HTTP handling (no WebSocket is ever accepted here)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from shared.metrics import CONTENT_TYPE_LATEST, Metrics

READY_TIMEOUT = 2.0  # seconds Docker has to answer a readiness probe


def _response(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body)))])
    headers["Cache-Control"] = "no-store"
    return Response(status.value, status.phrase, headers, body)


def _json(status: HTTPStatus, data: object) -> Response:
    return _response(status, json.dumps(data).encode(), "application/json")


class Probes:
    """What the port answers: ``ready()`` raises (with the reason) when the worker cannot
    do its job."""

    def __init__(self, metrics: Metrics, ready: Callable[[], Awaitable[None]]) -> None:
        self.metrics = metrics
        self._ready = ready

    async def process_request(self, _: ServerConnection, request: Request) -> Response:
        path = request.path.partition("?")[0]
        if path == "/healthz":
            return _json(HTTPStatus.OK, {"status": "ok"})
        if path == "/readyz":
            try:
                async with asyncio.timeout(READY_TIMEOUT):
                    await self._ready()
            except Exception as exc:  # any failure is "not ready", with its reason
                reason = str(exc) or type(exc).__name__
                if isinstance(exc, TimeoutError):
                    reason = f"Docker did not answer within {READY_TIMEOUT:g} s"
                body = {"status": "not ready", "reason": reason}
                return _json(HTTPStatus.SERVICE_UNAVAILABLE, body)
            return _json(HTTPStatus.OK, {"status": "ready"})
        if path == "/metrics":
            return _response(HTTPStatus.OK, self.metrics.exposition(), CONTENT_TYPE_LATEST)
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")


async def _refuse(connection: ServerConnection) -> None:  # never reached: all answered above
    await connection.close()


@contextlib.asynccontextmanager
async def run_probes(probes: Probes, host: str, port: int) -> AsyncIterator[Server]:
    """Serve ``probes`` on ``host:port`` until exit."""
    server = await serve(
        _refuse, host, port, process_request=probes.process_request, server_header="logcast"
    )
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
