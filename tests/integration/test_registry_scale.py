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

from shared.convert import info_to_pb
from shared.grpc_options import channel_options
from shared.model import TaskInfo, TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.access import auth_headers
from tests.cluster import cluster_channel, join_as
from tests.procs import MASTER, free_port, start_master

AUTH = (("authorization", auth_headers()["Authorization"]),)
pytestmark = pytest.mark.asyncio

TASKS = 100_000
PER_HEARTBEAT = 300


async def test_a_hundred_thousand_finished_tasks_never_stall_the_master(tmp_path):
    """A real `master serve` process; the test is its worker (heartbeats over gRPC) and a
    probe that asks it something every 10 ms: no answer may take 100 ms or more."""
    master = start_master(tmp_path, free_port())
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

    latencies: list[float] = []
    try:
        identity = await join_as(master.address, "w1")
        async with (
            grpc.aio.insecure_channel(master.address, options=channel_options()) as ch,
            cluster_channel(identity) as cluster,
        ):
            stub = pb_grpc.MasterStub(ch)
            as_worker = pb_grpc.ClusterStub(cluster)
            await stub.ListWorkers(pb.ListWorkersRequest(), metadata=AUTH)

            async def probe() -> None:
                while True:
                    start = time.perf_counter()
                    await stub.ListWorkers(pb.ListWorkersRequest(), metadata=AUTH)
                    latencies.append(time.perf_counter() - start)
                    await asyncio.sleep(0.01)

            prober = asyncio.create_task(probe())
            synced = 0
            for first in range(0, TASKS, PER_HEARTBEAT):
                chunk = [info(i) for i in range(first, min(first + PER_HEARTBEAT, TASKS))]
                version = first + len(chunk)
                reply = await as_worker.Heartbeat(
                    pb.HeartbeatRequest(
                        name="w1",
                        address="127.0.0.1:1",
                        tasks=chunk,
                        since_version=synced,
                        catalog_version=version,
                        more=version < TASKS,
                    ),
                )
                assert reply.synced_version == version
                synced = version
            prober.cancel()
        assert len(latencies) > 100
        assert max(latencies) < 0.1, f"the master took {max(latencies) * 1000:.0f} ms to answer"

        started = time.monotonic()
        out = await asyncio.to_thread(
            subprocess.run,
            [MASTER, "list-tasks", "--master", master.address, "--limit", "20", "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        took = time.monotonic() - started
        assert out.returncode == 0, out.stderr
        listed = [row["task_id"] for row in json.loads(out.stdout)]
        assert listed == [f"task-{i:06d}" for i in range(TASKS - 1, TASKS - 21, -1)]
        assert took < 1.0, f"list-tasks --limit 20 took {took:.2f} s"

        failed_nightly = await asyncio.to_thread(
            subprocess.run,
            [MASTER, "list-tasks", "--master", master.address, "--json", "--limit", "5",
             "--status", "failed", "--label", "job=nightly"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert [row["task_id"] for row in json.loads(failed_nightly.stdout)] == [
            f"task-{i:06d}" for i in range(TASKS - 1, 0, -1) if i % 3 == 0 and i % 2
        ][:5]
    finally:
        master.stop()
