"""Adapter: the WebSocket stream of several tasks merged, ``ws://HOST/logs?tasks=A,B``.

The request passed the same checks as a one-task stream before its upgrade (token or session,
each task in the token's scope, Origin, connection caps: :class:`~master.web_server.WebServer`),
and is refused the same way after it: an error frame, then close 4400 (invalid request),
4404 (unknown task), 4410 (expired log) or 4503 (unavailable). Frames are the one-task
stream's, each with ``"task"`` first; each task's final ``isComplete`` frame comes after its
last line, and the connection closes with 1000 once every task ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from master.merged import MergedUpdate, stream_merged_logs
from master.webroutes import parse_merged_logs_query, route
from master.wsframes import task_frames
from shared.errors import InvalidRequest

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from master.web_server import FrameSink, WebServer


async def stream_merged(web: WebServer, ws: ServerConnection) -> None:
    """Validate the request, then stream its tasks merged through
    :func:`~master.merged.stream_merged_logs` (each through ``StreamTaskLogsUnified``), served
    and refused as one task's stream is (:meth:`WebServer.serve_stream`)."""
    assert ws.request is not None
    try:
        query = parse_merged_logs_query(route(ws.request.path).query)
    except InvalidRequest as exc:
        await web.refuse_invalid(ws, exc)
        return

    async def stream(user: str, send: FrameSink) -> None:
        async def handler(update: MergedUpdate) -> None:
            status = update.status.value
            await send(
                task_frames(update.task_id, update.batch, batched=query.batch, status=status)
            )

        await stream_merged_logs(
            web.master,
            query.tasks,
            user,
            handler,
            tail=query.tail,
            after=dict(query.after),
            lossless=query.lossless,
            sink="websocket",
            line_filter=query.line_filter,
        )

    await web.serve_stream(ws, ",".join(query.tasks), stream, "tasks finished")
