"""Every line is kept: a task's log at any depth, after its container is gone, through a
`kill -9` of its worker mid-burst, and through restarts of the master -- always equal to what
`docker logs` has for the same container."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from master.config import MasterConfig
from master.master_client import MasterClient
from master.running import run_master
from shared.model import Stream, TaskSpec, TaskStatus
from tests.access import auth_headers
from tests.comparator import Received
from tests.fixtures import DOCKER_HOST, TEST_IMAGE, eventually, eventually_async, remove_containers
from tests.procs import MASTER, free_port, start_master, start_worker
from worker.docker_containers import LABEL_WORKER

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


def docker_lines(container_id: str) -> list[str]:
    """What `docker logs` prints for the container (stdout and stderr together, as on a
    terminal; the Docker CLI: docker-py takes ~10x longer for a million lines)."""
    out = subprocess.run(
        ["docker", "logs", container_id], capture_output=True, check=True, timeout=120
    )
    return out.stdout.decode().splitlines() + out.stderr.decode().splitlines()


async def ws_lines(url: str) -> tuple[list[tuple[int, str]], list[dict], int | None]:
    """Every (seq, content) of a WebSocket log stream, its other frames, and the close code."""
    lines: list[tuple[int, str]] = []
    other: list[dict] = []
    async with connect(url, max_size=None, additional_headers=auth_headers()) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                frame = json.loads(message)
                if frame["type"] == "batch":
                    lines += [(ln["seq"], ln["content"]) for ln in frame["lines"]]
                else:
                    other.append(frame)
        return lines, other, ws.close_code


async def history(address: str, task_id: str, **kw: Any) -> Received:
    """The whole stored log through the master (lossless, no follow)."""
    got = Received()
    async with MasterClient(address) as client:
        async for batch in client.stream(task_id, after=0, follow=False, lossless=True, **kw):
            got.add(batch)
    return got


@contextlib.asynccontextmanager
async def master_and_worker(worker_factory, **worker: Any) -> AsyncIterator[tuple[Any, Any]]:
    config = MasterConfig(
        grpc_listen="127.0.0.1:0", http_listen="127.0.0.1:0", cluster_listen="127.0.0.1:0"
    )
    async with (
        run_master(config) as running,
        worker_factory(master=running.grpc_address, **worker) as w,
    ):
        await eventually(lambda: running.master.registry.workers(), "the worker to register")
        yield running, w


async def wait_finished(address: str, task_id: str, timeout: float = 120) -> TaskStatus:
    async with MasterClient(address) as client:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                info = await client.get(task_id)
                if info.status.is_final:
                    return info.status
            await asyncio.sleep(0.2)
    raise AssertionError(f"{task_id} did not finish in {timeout} s")


async def test_a_million_line_task_is_served_whole_after_its_container_is_gone(
    worker_factory, docker_engine
):
    """after=0 on the WebSocket gives all 1,000,000 lines (relay → worker store), equal to
    `docker logs`; tail=5000 exactly the last 5000."""
    total = 1_000_000
    # Docker's own copy bounded at 20 MB x 3 would hold only the last ~740k
    # lines of this task (logcast keeps them all); raise it so there is something to compare
    # (straight to the engine, not through the tests' counting proxy: a million lines)
    async with master_and_worker(
        worker_factory, keep_containers=True, docker_log_max_size="500m", docker_host=DOCKER_HOST
    ) as (running, w):
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("seq", "1", str(total))))
        task_id = info.task_id
        assert await wait_finished(running.grpc_address, task_id) is TaskStatus.SUCCESS
        container = w.executor.info(task_id).container_id
        expected = await asyncio.to_thread(docker_lines, container)
        assert len(expected) == total
        docker_engine.api.remove_container(container, force=True)  # the log outlives it
        w.manager.forget(task_id)  # and the worker's memory: only the store is left
        base = f"ws://{running.http_address}/logs/{task_id}?batch=1"
        lines, other, code = await ws_lines(f"{base}&after=0")
        assert code == 1000
        assert [seq for seq, _ in lines] == list(range(1, total + 1))
        assert [content for _, content in lines] == expected
        assert not [f for f in other if f["type"] in ("gap", "dropped")]
        assert other[-1]["isComplete"] and other[-1]["status"] == "success"
        tail, _, _ = await ws_lines(f"{base}&tail=5000")
        assert tail == lines[-5000:]
        # and `master logs`, the CLI, from the same store
        out = await asyncio.to_thread(
            subprocess.run,
            [MASTER, "logs", task_id, "--master", running.grpc_address],
            capture_output=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.decode().splitlines() == expected


def _burst(total: int) -> str:
    # ~10,000 lines/s in bursts of 1000: long enough to kill the worker in the middle
    return (
        f"i=1; while [ $i -le {total} ]; do echo seq=$i; "
        "[ $((i % 1000)) -eq 0 ] && sleep 0.1; i=$((i+1)); done"
    )


async def test_kill_9_of_the_worker_mid_burst_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, docker_engine
):
    """The worker is killed (SIGKILL) while a task prints 30,000 lines and restarted on the
    same data directory: it adopts the container and resumes exactly after the last stored
    line. The history then equals `docker logs`, seq N is line N, no duplicate. The master's
    restart keeps it too (it learns the finished task from the worker)."""
    total = 30_000
    port = free_port()
    name = f"w{uuid.uuid4().hex[:6]}"
    data = tmp_path / "worker-data"
    master = start_master(tmp_path, port, "--worker-timeout", "3")
    args = ("--keep-containers", "--data-dir", str(data))
    worker = start_worker(tmp_path, master.address, name, *args)
    try:
        async with MasterClient(master.address) as client:

            async def registered() -> bool:
                return any(w.name == name and w.alive for w in await client.workers())

            await eventually_async(registered, "the worker to register")
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", _burst(total))))
            task_id = info.task_id

            async def stored() -> int:
                return (await client.get(task_id)).lines

            for _ in range(300):
                if await stored() > 8000:
                    break
                await asyncio.sleep(0.05)
            worker.kill()  # SIGKILL: no chance to flush anything
            killed_at = await stored()
            assert killed_at < total, "the task ended before the worker was killed"
            worker = start_worker(tmp_path, master.address, name, *args)
        assert await wait_finished(master.address, task_id) is TaskStatus.SUCCESS
        container = docker_engine.api.containers(
            all=True, filters={"label": f"{LABEL_WORKER}={name}"}
        )[0]["Id"]
        expected = await asyncio.to_thread(docker_lines, container)
        assert expected == [f"seq={i}" for i in range(1, total + 1)]
        got = await history(master.address, task_id)
        assert got.check(published=total) == []
        assert [ln.content for ln in got.lines] == expected
        assert got.end is not None and got.end.status is TaskStatus.SUCCESS

        master.stop()  # a restarted master learns the finished task from the worker
        master = start_master(tmp_path, port, "--worker-timeout", "3")
        async with MasterClient(master.address) as client:
            await eventually_async(
                lambda: _listed_with(client, task_id, TaskStatus.SUCCESS), "the task to be listed"
            )
        again = await history(master.address, task_id)
        assert [ln.content for ln in again.lines] == expected
    finally:
        worker.stop()
        master.stop()
        remove_containers(docker_engine.api, name)


async def test_an_embedded_master_keeps_finished_logs_across_its_restart(tmp_path: Path):
    """`master serve --local-worker` (the quick start) restarted: the finished task is still
    listed and its whole log served, from the state directory."""
    port = free_port()
    master = start_master(tmp_path, port, "--local-worker")
    try:
        async with MasterClient(master.address) as client:
            info = await client.run(
                TaskSpec("", TEST_IMAGE, ("sh", "-c", "seq 1 3000; echo bye >&2; exit 3"))
            )
        assert await wait_finished(master.address, info.task_id) is TaskStatus.FAILED
        master.stop()
        master = start_master(tmp_path, port, "--local-worker")
        async with MasterClient(master.address) as client:
            await eventually_async(
                lambda: _listed_with(client, info.task_id, TaskStatus.FAILED), "the task"
            )
        got = await history(master.address, info.task_id)
        assert got.check(published=3001) == []
        # stdout and stderr are copied by Docker concurrently: "bye" may land anywhere
        out = [ln.content for ln in got.lines if ln.stream is Stream.STDOUT]
        err = [ln.content for ln in got.lines if ln.stream is Stream.STDERR]
        assert (out, err) == ([str(i) for i in range(1, 3001)], ["bye"])
        assert got.end is not None and got.end.exit_code == 3
    finally:
        master.stop()


async def _listed_with(client: MasterClient, task_id: str, status: TaskStatus) -> bool:
    tasks, _ = await client.tasks(limit=50)
    return any(t.task_id == task_id and t.status is status for t in tasks)


async def test_retention_removes_the_oldest_task_and_it_then_answers_expired(worker_factory):
    """A worker with room for two of three finished tasks (~1 MB each on disk: random data,
    which the store cannot compress): the oldest goes first and answers `expired` through the
    master (never an empty success), and is no longer listed; the others are whole."""
    from shared.errors import LogExpired

    async with master_and_worker(
        worker_factory, retention_bytes=100_000_000, retention_interval=0.2
    ) as (running, w):
        address = running.grpc_address
        ids = []
        async with MasterClient(address) as client:
            for _ in (1, 2, 3):
                script = "head -c 750000 /dev/urandom | base64"
                info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
                assert await wait_finished(address, info.task_id) is TaskStatus.SUCCESS
                ids.append(info.task_id)
        await w.store.flush()
        sizes = [w.store.tasks[t].bytes for t in ids]
        assert all(size > 500_000 for size in sizes) and not any(
            w.store.tasks[t].expired for t in ids
        )
        w.retention.max_bytes = sizes[1] + sizes[2] + 10_000  # room for the newest two
        await eventually(lambda: w.store.tasks[ids[0]].expired, "the oldest task to expire", 10)
        assert not w.store.tasks[ids[1]].expired and not w.store.tasks[ids[2]].expired
        await eventually(
            lambda: running.master.registry.task(ids[0]).expired, "the master to learn it", 10
        )
        with pytest.raises(LogExpired, match="expired"):
            await history(address, ids[0])
        async with MasterClient(address) as client:
            listed, _ = await client.tasks(limit=50)
        assert ids[0] not in {t.task_id for t in listed}
        for kept in ids[1:]:
            got = await history(address, kept)
            assert got.check(published=13158) == []  # 1,000,000 base64 characters, 76 a line


async def test_a_task_over_its_cap_starts_with_an_expired_gap(worker_factory):
    async with master_and_worker(worker_factory, task_max_bytes=1_000_000) as (running, _):
        address = running.grpc_address
        async with MasterClient(address) as client:
            script = "head -c 3000000 /dev/urandom | base64; echo the end"
            big = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
        assert await wait_finished(address, big.task_id) is TaskStatus.SUCCESS
        capped = await history(address, big.task_id)
        assert capped.gaps and capped.gaps[0].from_seq == 1
        assert capped.gaps[0].reason == "expired"
        total = 3_000_000 * 4 // 3 // 76 + 2  # base64 lines, then "the end"
        assert capped.check(published=total) == []
        assert capped.lines[-1].content == "the end"
        assert len(capped.lines) < total / 2


async def test_each_state_directory_has_its_own_embedded_worker(tmp_path: Path):
    """Two embedded masters on one engine must not adopt each other's containers."""
    from master.running import embedded_worker_name

    first = embedded_worker_name(tmp_path / "a")
    assert first == embedded_worker_name(tmp_path / "a")  # a restart keeps it
    assert first != embedded_worker_name(tmp_path / "b")
    assert first.startswith("local-")
