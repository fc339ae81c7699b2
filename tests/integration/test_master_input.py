"""The master refuses what it must not believe or run, from workers and clients alike: bad
heartbeats, oversized or malformed task specs; and a client that cancels its log stream
leaves no error in the master's log. A real master, real workers, real gRPC clients."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest

from master.master_client import MasterClient
from shared.convert import info_to_pb, spec_to_pb
from shared.grpc_options import channel_options
from shared.model import TaskInfo, TaskSpec, TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.taskcheck import MAX_REPORTED_INFO_BYTES, MAX_SPEC_BYTES
from tests.access import owner_token
from tests.cluster import cluster_channel, join_as, worker_channel
from tests.comparator import Received
from tests.fixtures import TEST_IMAGE, eventually
from tests.integration.test_fanout import numbered

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]

BIN = Path(sys.executable).parent


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every ERROR (or worse) record and every record with a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


def task(task_id: str, **kw) -> pb.TaskInfo:
    return info_to_pb(TaskInfo(task_id, TaskStatus.RUNNING, created_at=1.0, **kw))


async def run_cli(*args: str) -> tuple[int, str]:
    """Run a console script (``master ...``, ``worker ...``); its exit code and stderr."""
    proc = await asyncio.create_subprocess_exec(
        str(BIN / args[0]),
        *args[1:],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def follow_to_end(client: MasterClient, task_id: str) -> Received:
    got = Received()
    async for batch in client.stream(task_id):
        got.add(batch)
    return got


def bad_heartbeats() -> list[tuple[str, str, list[pb.TaskInfo], str]]:
    """(name, address, tasks, what the refusal says), from worker evil-1's certificate: a
    name not its own is refused before anything else (PERMISSION_DENIED), the rest as
    invalid (INVALID_ARGUMENT)."""
    fine = "127.0.0.1:50052"
    return [
        ("a[/]", fine, [], "cannot report as 'a[/]'"),
        ("w\x1b[31m", fine, [], "cannot report as 'w\\x1b[31m'"),
        ("x" * 10_000, fine, [], "cannot report as 'xxxxxxxx"),
        ("", fine, [], "cannot report as ''"),
        ("evil-1", "nohost", [], "invalid address 'nohost'"),
        ("evil-1", "dns:///evil:1", [], "invalid address 'dns:///evil:1'"),
        ("evil-1", "127.0.0.1:0", [], "invalid address '127.0.0.1:0'"),
        ("evil-1", fine, [task("task-1"), task("../../x")], "invalid task id '../../x'"),
        (
            "evil-1",
            fine,
            [task("task-1", error="e" * (MAX_REPORTED_INFO_BYTES + 1))],
            f"the limit is {MAX_REPORTED_INFO_BYTES} bytes",
        ),
        (
            "evil-1",
            fine,
            [task("task-1", labels={"k": "v" * 1_500_000})],  # under gRPC's message limits
            "the info of task-1 is 1500001 bytes",
        ),
    ]


async def test_bad_heartbeats_are_refused_change_nothing_and_real_workers_keep_working(
    master_factory, caplog
):
    async with master_factory() as (running, _workers):
        registry = running.master.registry
        workers_before = [(w.name, w.address) for w in registry.workers()]
        identity = await join_as(running.grpc_address, "evil-1")  # a worker with a certificate
        async with cluster_channel(identity) as channel:
            stub = pb_grpc.ClusterStub(channel)
            for name, address, tasks, reason in bad_heartbeats():
                request = pb.HeartbeatRequest(name=name, address=address, tasks=tasks, sent_at=1.0)
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.Heartbeat(request, timeout=10)
                details = err.value.details() or ""
                assert reason in details, details
                if name == "evil-1":
                    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT, name[:20]
                    assert details.startswith("heartbeat ")
                else:
                    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED, name[:20]
                assert len(details) < 400
                assert "\x1b" not in details
                # nothing changed: no new worker, no task, no other address
                assert [(w.name, w.address) for w in registry.workers()] == workers_before
                assert registry.tasks() == []
        refused = running.master.stats.refusals
        others = [b for b in bad_heartbeats() if b[0] != "evil-1"]
        assert refused["grpc", "invalid_argument"] == len(bad_heartbeats()) - len(others)
        assert refused["grpc", "permission_denied"] == len(others)
        # and the real worker keeps working
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", numbered(3))))
            got = await follow_to_end(client, info.task_id)
        assert got.numbers() == [1, 2, 3] and got.end.status is TaskStatus.SUCCESS
        assert [w.alive for w in registry.workers()] == [True]
    assert errors_logged(caplog) == []


def bad_specs() -> list[tuple[dict[str, Any], str]]:
    """(fields of a TaskSpec, what the refusal says)."""
    return [
        ({"env": (("1X", "y"),)}, "invalid environment variable name '1X'"),
        ({"env": (("A-B", "y"),)}, "invalid environment variable name 'A-B'"),
        ({"labels": (("a=b", "v"),)}, "invalid label key 'a=b'"),
        ({"labels": (("k\x1b]0;x\x07", "v"),)}, "invalid label key 'k\\x1b]0;x\\x07'"),
        ({"labels": (("k" * 254, "v"),)}, "invalid label key"),
        (
            {"command": ("echo", "x" * MAX_SPEC_BYTES)},
            f"are {MAX_SPEC_BYTES + 4} bytes in all: the limit is {MAX_SPEC_BYTES} bytes (64 KiB)",
        ),
        (
            {"env": tuple((f"V{i}", "x" * 1000) for i in range(70))},
            "bytes in all: the limit is 65536 bytes",
        ),
        ({"image": "busy box"}, "invalid image name 'busy box'"),
    ]


async def test_bad_task_specs_are_refused_before_any_worker_or_docker_call(
    master_factory, docker_proxy
):
    async with master_factory() as (running, workers):
        docker_calls = len(docker_proxy.requests)
        metadata = (("authorization", f"Bearer {owner_token()}"),)
        async with (
            grpc.aio.insecure_channel(running.grpc_address, options=channel_options()) as channel,
            worker_channel(workers[0].address, workers[0].config.name) as direct,
        ):
            stub = pb_grpc.MasterStub(channel)
            worker = pb_grpc.WorkerStub(direct)
            for fields, reason in bad_specs():
                spec = TaskSpec(**{"task_id": "", "image": TEST_IMAGE, **fields})
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.RunTask(
                        pb.RunTaskRequest(spec=spec_to_pb(spec)), metadata=metadata, timeout=10
                    )
                assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
                assert reason in (err.value.details() or ""), err.value.details()
                # the worker's own entry (StartTask) refuses it the same way
                start = pb.StartTaskRequest(spec=spec_to_pb(replace(spec, task_id="task-bad1")))
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await worker.StartTask(start, timeout=10)
                assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
                assert reason in (err.value.details() or ""), err.value.details()
        assert running.master.registry.tasks() == [] and workers[0].executor.tasks() == []
        assert len(docker_proxy.requests) == docker_calls  # no container made, nothing asked


async def test_master_run_refuses_a_bad_env_name_with_exit_2(master_factory, docker_proxy):
    async with master_factory() as (running, _):
        docker_calls = len(docker_proxy.requests)
        code, err = await run_cli(
            "master", "run", "--master", running.grpc_address, "--image", TEST_IMAGE,
            "--env", "1X=y", "--", "true",
        )  # fmt: skip
        assert code == 2, err
        assert "invalid environment variable name '1X'" in err and "Traceback" not in err
        assert running.master.registry.tasks() == []
        assert len(docker_proxy.requests) == docker_calls


@pytest.mark.parametrize("name", ["a[/]", "w\x1b[31m", "Upper", "x" * 64])
async def test_worker_serve_refuses_a_name_that_breaks_the_rule_with_exit_2(name):
    code, err = await run_cli("worker", "serve", "--name", name, "--master", "127.0.0.1:1")
    assert code == 2, err
    assert "invalid worker name" in err and "\x1b" not in err and "Traceback" not in err


async def test_a_log_stream_cancelled_mid_way_leaves_no_error_in_the_masters_log(
    master_factory, caplog
):
    async with master_factory() as (running, _):
        async with MasterClient(running.grpc_address) as client:
            script = numbered(100_000, "sleep 0.01")  # lines flow for minutes
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
            for _ in range(5):
                reading = asyncio.create_task(follow_to_end(client, info.task_id))
                await asyncio.sleep(0.5)  # lines flow: a write is under way or about to be
                relay = running.master.relays[info.task_id]
                assert relay.hub.subscriber_count == 1
                reading.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await reading
                for _ in range(250):
                    if relay.hub.subscriber_count == 0:
                        break
                    await asyncio.sleep(0.02)
                assert relay.hub.subscriber_count == 0
            gc.collect()  # asyncio reports an unread task error when the task is collected
            await asyncio.sleep(0.2)
            await client.stop(info.task_id)
    assert errors_logged(caplog) == []


async def test_a_worker_on_ipv6_loopback_reports_an_address_the_check_accepts(
    master_factory, worker_factory
):
    """``[::1]:PORT``, not ``::1:PORT`` (which gRPC cannot dial and the master refuses)."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:  # e.g. a container without IPv6
        pytest.skip(f"this host has no IPv6 loopback ({exc})")
    async with master_factory(workers=0) as (running, _):
        async with worker_factory(master=running.grpc_address, listen="[::1]:0"):
            registry = running.master.registry
            await eventually(lambda: any(w.alive for w in registry.workers()), "it registers")
            (worker,) = registry.workers()
            assert worker.address.startswith("[::1]:")
            async with MasterClient(running.grpc_address) as client:
                info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", numbered(2))))
                got = await follow_to_end(client, info.task_id)
            assert got.numbers() == [1, 2]
