"""100,000 finished tasks: a worker reports them over real gRPC heartbeats (a few hundred per
heartbeat, as a restarted master learns them), the master's event loop never stalls, and
`master list-tasks --limit 20` answers at once, newest first."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import grpc
import pytest

from master.config import MasterConfig
from master.running import run_master
from shared.convert import info_to_pb
from shared.grpc_options import channel_options
from shared.listing import TaskQuery
from shared.model import TaskInfo, TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.procs import MASTER

pytestmark = pytest.mark.asyncio

TASKS = 100_000
PER_HEARTBEAT = 300


async def test_a_hundred_thousand_finished_tasks_never_stall_the_master():
    config = MasterConfig(grpc_listen="127.0.0.1:0", http_listen="127.0.0.1:0")
    stalls: list[float] = []

    async def watch_the_loop() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append(time.perf_counter() - start - 0.01)

    async with run_master(config) as running:
        watcher = asyncio.create_task(watch_the_loop())
        base = time.time() - TASKS

        def info(i: int) -> pb.TaskInfo:
            return info_to_pb(
                TaskInfo(
                    f"task-{i:06d}",
                    TaskStatus.SUCCESS if i % 3 else TaskStatus.FAILED,
                    image="img",
                    command=("sh", "-c", "echo " + "x" * 200),
                    exit_code=0 if i % 3 else 1,
                    created_at=base + i,
                    finished_at=base + i + 0.5,
                    labels={"job": "nightly" if i % 2 else "hourly"},
                )
            )

        async with grpc.aio.insecure_channel(
            running.grpc_address, options=channel_options()
        ) as channel:
            stub = pb_grpc.MasterStub(channel)
            synced = 0
            for start in range(0, TASKS, PER_HEARTBEAT):
                chunk = [info(i) for i in range(start, min(start + PER_HEARTBEAT, TASKS))]
                version = start + len(chunk)
                reply = await stub.Heartbeat(
                    pb.HeartbeatRequest(
                        name="w1",
                        address="127.0.0.1:1",
                        tasks=chunk,
                        since_version=synced,
                        catalog_version=version,
                        more=version < TASKS,
                    )
                )
                assert reply.synced_version == version
                synced = version
        watcher.cancel()
        assert max(stalls) < 0.1, f"the event loop stalled {max(stalls) * 1000:.0f} ms"

        started = time.monotonic()
        out = await asyncio.to_thread(
            subprocess.run,
            [MASTER, "list-tasks", "--master", running.grpc_address, "--limit", "20", "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        took = time.monotonic() - started
        assert out.returncode == 0, out.stderr
        listed = [row["task_id"] for row in json.loads(out.stdout)]
        assert listed == [f"task-{i:06d}" for i in range(TASKS - 1, TASKS - 21, -1)]
        assert took < 1.0, f"list-tasks --limit 20 took {took:.2f} s"

        query = TaskQuery(
            statuses=frozenset({TaskStatus.FAILED}), labels=(("job", "nightly"),), limit=5
        )
        page, token = running.master.list_tasks(query)
        assert [t.task_id for t in page] == [
            f"task-{i:06d}" for i in range(TASKS - 1, 0, -1) if i % 3 == 0 and i % 2
        ][:5]
        assert token
