"""Adapter: the WebSocket stream of several tasks merged, ``ws://HOST/logs?tasks=A,B``.

The request passed the same checks as a one-task stream before its upgrade (token or session,
each task in the token's scope, Origin, connection caps: :class:`~master.web_server.WebServer`),
and is refused the same way after it: an error frame, then close 4400 (invalid request),
4404 (unknown task), 4410 (expired log) or 4503 (unavailable). Frames are the one-task
stream's, each with ``"task"`` first; each task's final ``isComplete`` frame comes after its
last line, and the connection closes with 1000 once every task ended.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed

from master.merged import MergedUpdate, stream_merged_logs
from master.web_server import (
    CLOSE_EXPIRED,
    CLOSE_INVALID,
    CLOSE_NOT_FOUND,
    CLOSE_UNAVAILABLE,
    STALL_TIMEOUT,
)
from master.webroutes import parse_merged_logs_query, route
from master.wsframes import task_frames
from shared.errors import InvalidRequest, LogExpired, TaskNotFound, WorkerUnavailable

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from master.web_server import WebServer

log = logging.getLogger(__name__)

_REFUSALS: list[tuple[type[Exception], str, int]] = [
    (TaskNotFound, "not_found", CLOSE_NOT_FOUND),
    (LogExpired, "expired", CLOSE_EXPIRED),
    (WorkerUnavailable, "unavailable", CLOSE_UNAVAILABLE),
]
"""What a task's stream may raise, and how the client is told (as for one task)."""


async def stream_merged(web: WebServer, ws: ServerConnection) -> None:
    """Validate the request, then stream its tasks merged through
    :func:`~master.merged.stream_merged_logs` (each through ``StreamTaskLogsUnified``)."""
    assert ws.request is not None
    try:
        query = parse_merged_logs_query(route(ws.request.path).query)
    except InvalidRequest as exc:
        code = "invalid_task_id" if "task id" in str(exc) else "invalid_request"
        await web._refuse(ws, code, str(exc), CLOSE_INVALID)
        return
    web.clients += 1
    web.streams.add(ws)
    who = getattr(ws, "principal", None)
    address = ws.remote_address[0] if ws.remote_address else "?"
    user = f"web:{who.user if who else '?'}@{address}"

    async def send(update: MergedUpdate) -> None:
        status = update.status.value
        async with asyncio.timeout(STALL_TIMEOUT):
            for frame in task_frames(
                update.task_id, update.batch, batched=query.batch, status=status
            ):
                await ws.send(frame)

    try:
        await stream_merged_logs(
            web.master,
            query.tasks,
            user,
            send,
            tail=query.tail,
            after=dict(query.after),
            lossless=query.lossless,
            sink="websocket",
            line_filter=query.line_filter,
        )
        await ws.close(1000, "tasks finished")
    except (TaskNotFound, LogExpired, WorkerUnavailable) as exc:
        code, close = next((c, n) for kind, c, n in _REFUSALS if isinstance(exc, kind))
        await web._refuse(ws, code, str(exc), close)
    except TimeoutError:
        log.info("%s: closing a WebSocket client that stopped reading", ",".join(query.tasks))
        ws.transport.abort()
    except ConnectionClosed:
        pass
    finally:
        web.clients -= 1
        web.streams.discard(ws)
