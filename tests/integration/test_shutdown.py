"""A master that stops (SIGTERM ends `master serve` this way) tells its WebSocket viewers
``master restarting`` and closes with 1001 ("going away"), so pages reconnect and resume."""

from __future__ import annotations

import asyncio
import json
import signal

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


async def test_a_stopping_master_tells_its_cli_monitors_before_they_reconnect(tmp_path):
    """`master serve --local-worker` gets SIGTERM while `master monitor` (TUI and --plain read
    through MasterClient.stream) follows a task: the monitor is told ``master restarting``,
    then reconnects by itself."""
    from master.master_client import MasterClient
    from shared.model import ConnectionState, TaskSpec
    from tests.fixtures import TEST_IMAGE
    from tests.procs import free_port, start_master

    master = start_master(tmp_path, free_port(), "--local-worker")
    states: list[ConnectionState] = []
    client = MasterClient(master.address)
    try:
        info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", "echo started; sleep 60")))
        batches = client.stream(info.task_id, give_up_after=5.0)
        while not any(ln.content == "started" for ln in (await anext(batches)).lines):
            pass
        master.kill(signal.SIGTERM)
        async with asyncio.timeout(30):
            async for batch in batches:  # until it starts reconnecting to the stopped master
                if batch.state is not None:
                    states.append(batch.state)
                if batch.state is ConnectionState.RECONNECTING:
                    break
        await batches.aclose()
    finally:
        await client.close()
        master.stop()
    assert states == [ConnectionState.MASTER_RESTARTING, ConnectionState.RECONNECTING]
