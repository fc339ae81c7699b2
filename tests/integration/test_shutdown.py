"""A master that stops (SIGTERM ends `master serve` this way) tells its WebSocket viewers
``master restarting`` and closes with 1001 ("going away"), so pages reconnect and resume."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.access import auth_headers
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
        viewers = [
            await websockets.connect(url, additional_headers=auth_headers()) for _ in range(3)
        ]
        for ws in viewers:
            first = json.loads(await ws.recv())
            assert first.get("content") == "started" or first["type"] != "error", first
        readers = [asyncio.create_task(read_all(ws)) for ws in viewers]
        await running.web.going_away()  # what a stop does first
        with pytest.raises(InvalidStatus) as refused:  # a page retrying now: the next master
            await websockets.connect(url, additional_headers=auth_headers())
        assert refused.value.response.status_code == 503
    # the master has stopped
    for frames, code in await asyncio.gather(*readers):
        assert {"type": "state", "state": "master restarting"} in frames
        assert code == 1001


async def test_a_stopping_master_tells_its_cli_monitors_before_they_reconnect(
    tmp_path, docker_engine
):
    """`master serve --local-worker` gets SIGTERM while `master monitor` (TUI and --plain read
    through MasterClient.stream) follows a task: the monitor is told ``master restarting``,
    then reconnects by itself."""
    from master.master_client import MasterClient
    from shared.model import ConnectionState, TaskSpec
    from tests.fixtures import TEST_IMAGE
    from tests.integration.test_logs_cli import remove_tasks
    from tests.procs import free_port, start_master

    master = start_master(tmp_path, free_port(), "--local-worker")
    states: list[ConnectionState] = []
    client = MasterClient(master.address)
    task_ids = []
    try:
        info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", "echo started; sleep 60")))
        task_ids.append(info.task_id)
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
        remove_tasks(docker_engine, task_ids)  # still running: no worker removes it
    assert states == [ConnectionState.MASTER_RESTARTING, ConnectionState.RECONNECTING]


async def test_a_monitor_follows_a_task_across_a_master_restart_without_gap_or_duplicate(
    tmp_path, docker_engine
):
    """SIGTERM to `master serve --local-worker` while `master monitor --plain` follows a task
    that keeps printing; the master is started again on the same ports and state directory
    while the task still runs (its embedded worker adopts the container). The monitor says
    ``master restarting``, reconnects by itself and prints every line exactly once, in order,
    as `docker logs` has them, then exits 0 when the task succeeds."""
    import time

    from tests.access import seed
    from tests.fixtures import TEST_IMAGE
    from tests.integration.test_logs_cli import remove_tasks
    from tests.procs import MASTER, Proc, free_port, master_cli
    from worker.docker_containers import LABEL_TASK

    lines = 1500  # ~18 s at one line every ~12 ms: the task outlives the master's restart
    script = f"i=0; while [ $i -lt {lines} ]; do i=$((i+1)); echo line $i; sleep 0.01; done"
    expected = [f"line {i}" for i in range(1, lines + 1)]
    grpc_port, http_port = free_port(), free_port()

    def serve(log: str) -> Proc:
        args = ["serve", "--grpc", f"127.0.0.1:{grpc_port}", "--http", f"127.0.0.1:{http_port}"]
        args += ["--cluster", "127.0.0.1:0"]  # (the embedded worker is told the new one)
        state = ["--local-worker", "--state-dir", str(seed(tmp_path / "state"))]
        return Proc([MASTER, *args, *state], tmp_path / log)  # a log each: its own "listening"

    def docker_logs() -> list[str]:
        """What Docker has of the task's output (the worker removes the container at its end)."""
        api = docker_engine.api
        found = api.containers(filters={"label": f"{LABEL_TASK}={task_id}"})  # running ones
        assert len(found) == 1, "the task ended before the master was back"
        lines = api.logs(found[0]["Id"], stdout=True, stderr=True).decode().splitlines()
        assert lines == expected[: len(lines)]
        return lines

    shown: list[str] = []  # the monitor's stdout
    told: list[str] = []  # its stderr
    flowing = asyncio.Event()

    async def collect(pipe: asyncio.StreamReader | None, into: list[str]) -> None:
        assert pipe is not None
        async for raw in pipe:
            into.append(raw.decode().removesuffix("\n"))
            if len(shown) >= 100:
                flowing.set()

    masters = [serve("master-1.log")]
    task_id = ""
    monitor: asyncio.subprocess.Process | None = None
    try:
        address = await asyncio.to_thread(masters[0].wait_listening)
        ran = await asyncio.to_thread(
            master_cli, address, "run", "--image", TEST_IMAGE, "--", "sh", "-c", script
        )
        assert ran.returncode == 0, ran.stderr
        task_id = ran.stdout.strip()
        monitor = await asyncio.create_subprocess_exec(
            *[MASTER, "monitor", task_id, "--plain", "--master", address],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        readers = asyncio.gather(collect(monitor.stdout, shown), collect(monitor.stderr, told))
        async with asyncio.timeout(30):
            await flowing.wait()
        masters[0].popen.send_signal(signal.SIGTERM)  # (kill() would wait for its exit)
        assert await asyncio.to_thread(masters[0].popen.wait, 30) == 0
        when_stopped = len(docker_logs())
        await asyncio.sleep(1.0)  # the task prints on while no master runs
        told_while_down = list(told)
        masters.append(serve("master-2.log"))
        assert await asyncio.to_thread(masters[1].wait_listening) == address
        when_back, before_resume = len(docker_logs()), len(shown)
        started = time.monotonic()
        async with asyncio.timeout(90):
            rc = await monitor.wait()
            await readers
        took = time.monotonic() - started
    finally:
        if monitor is not None and monitor.returncode is None:
            monitor.kill()
            await monitor.wait()
        for master in masters:
            master.stop()
        remove_tasks(docker_engine, [task_id])
    assert when_stopped < when_back < lines  # lines came while no master ran ...
    assert before_resume < when_back  # ... and reached the monitor through the new master
    assert rc == 0, told
    assert shown == expected, (len(shown), before_resume, told)  # no gap, no duplicate
    assert told_while_down == [
        "logcast: connection: master restarting",
        "logcast: connection: reconnecting",
    ]
    connection = [ln for ln in told if ln.startswith("logcast: connection: ")]
    assert connection == [*told_while_down, "logcast: connection: streaming"], told
    assert took < 60, took


@pytest.mark.parametrize("drain", [True, False])
async def test_a_draining_worker_takes_no_new_task_and_waits_for_the_running_one(
    tmp_path, docker_engine, drain
):
    import time
    import uuid

    import grpc

    from shared.protos import logcast_pb2_grpc as pb_grpc
    from tests.cluster import provision, worker_channel
    from tests.fixtures import remove_containers, start_task
    from tests.procs import WORKER, Proc

    name = f"drain{uuid.uuid4().hex[:6]}"
    provision(tmp_path / "state" / "workers" / name, name)  # the test is its master
    args = [WORKER, "serve", "--listen", "127.0.0.1:0", "--name", name]
    worker = Proc(
        [*args, "--drain"] if drain else args,
        tmp_path / "worker.log",
        env={"LOGCAST_STATE_DIR": str(tmp_path / "state")},
    )
    try:
        address = worker.wait_listening()
        async with worker_channel(address, name) as channel:
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
        remove_containers(docker_engine.api, name)
