"""A master that stops (SIGTERM ends `master serve` this way) tells its WebSocket viewers
``master restarting`` and closes with 1001 ("going away"), so pages reconnect and resume."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.integration.test_http_api import run

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


async def read_all(ws) -> tuple[list[dict], int | None]:
    frames: list[dict] = []
    try:
        async for message in ws:
            frames.append(json.loads(message))
    except websockets.ConnectionClosed:
        pass
    return frames, ws.close_code


async def test_a_stopping_master_tells_its_viewers_and_closes_going_away(master_factory):
    async with master_factory() as (running, _):
        task_id = await run(running, "echo started; sleep 60")
        url = f"ws://{running.http_address}/logs/{task_id}"
        viewers = [await websockets.connect(url) for _ in range(3)]
        for ws in viewers:
            first = json.loads(await ws.recv())
            assert first.get("content") == "started" or first["type"] != "error", first
        readers = [asyncio.create_task(read_all(ws)) for ws in viewers]
    # the master has stopped
    for frames, code in await asyncio.gather(*readers):
        assert {"type": "state", "state": "master restarting"} in frames
        assert code == 1001
