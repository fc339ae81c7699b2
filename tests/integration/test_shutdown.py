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
        master.popen.send_signal(signal.SIGTERM)  # (kill() would wait for its exit)
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


@pytest.mark.parametrize("drain", [True, False])
async def test_a_draining_worker_takes_no_new_task_and_waits_for_the_running_one(
    tmp_path, docker_engine, drain
):
    import time
    import uuid

    import grpc

    from shared.protos import logcast_pb2_grpc as pb_grpc
    from tests.fixtures import start_task
    from tests.procs import WORKER, Proc
    from worker.docker_containers import LABEL_WORKER

    name = f"drain{uuid.uuid4().hex[:6]}"
    args = [WORKER, "serve", "--listen", "127.0.0.1:0", "--name", name]
    worker = Proc(
        [*args, "--drain"] if drain else args,
        tmp_path / "worker.log",
        env={"LOGCAST_STATE_DIR": str(tmp_path / "state")},
    )
    try:
        address = worker.wait_listening()
        async with grpc.aio.insecure_channel(address) as channel:
            stub = pb_grpc.WorkerStub(channel)
            await start_task(stub, "sleep 3; echo done")
            stopped_at = time.monotonic()
            worker.popen.send_signal(signal.SIGTERM)
            if drain:  # still serving (a master still streams its logs), but no new task
                await asyncio.sleep(0.5)
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await start_task(stub, "echo late")
                assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
                assert "draining" in (refused.value.details() or "")
        rc = await asyncio.to_thread(worker.popen.wait, 30)
        took = time.monotonic() - stopped_at
        assert rc == 0
        if drain:
            assert took >= 2.0 and "draining: waiting for 1 task(s)" in worker.log.read_text()
        else:
            assert took < 2.0  # at once: the container keeps running, adopted on restart
    finally:
        worker.stop()
        api = docker_engine.api
        for c in api.containers(all=True, filters={"label": f"{LABEL_WORKER}={name}"}):
            api.remove_container(c["Id"], force=True)
