"""The HTTP API on the web port: the task list (GET /api/tasks) and the log download
(GET /api/tasks/<task_id>/log), against a real master, worker, store and Docker."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from types import SimpleNamespace
from typing import Any

import pytest
import websockets

from master.master_client import MasterClient
from shared.model import TaskSpec
from tests.access import auth_headers
from tests.fixtures import TEST_IMAGE, eventually, eventually_async
from tests.integration.test_websocket import frames, ws_lines

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


async def run(running, script: str, labels: tuple[tuple[str, str], ...] = ()) -> str:
    async with MasterClient(running.grpc_address) as client:
        info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script), labels=labels))
    return info.task_id


async def finished(running, task_id: str) -> None:
    await eventually(
        lambda: running.master.registry.status(task_id).is_final, f"{task_id} to end", 60
    )


async def get(running, path: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the whole body of ``GET path``."""

    def fetch() -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            f"http://{running.http_address}{path}", headers=auth_headers()
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    return await asyncio.to_thread(fetch)


async def test_the_download_is_the_whole_stored_log_as_the_websocket_gives_it(master_factory):
    async with master_factory() as (running, _):
        # 3000 lines: the relay keeps the last 1000, the first 2000 come from the store
        script = (
            "i=1; while [ $i -le 3000 ]; do "
            'if [ $((i % 7)) -eq 0 ]; then echo "err $i" >&2; else echo "out $i"; fi; '
            "i=$((i+1)); done; printf 'tab\\there \\303\\251 \\342\\230\\203 \"q\" <b>\\n'"
        )
        task_id = await run(running, script)
        await finished(running, task_id)
        got, code = await frames(f"ws://{running.http_address}/logs/{task_id}?after=0&batch=1")
        assert code == 1000
        reference = ws_lines(got)
        assert [ln["seq"] for ln in reference] == list(range(1, 3002))
        out = [ln["content"] for ln in reference if ln["stream"] == "stdout"]
        err = [ln["content"] for ln in reference if ln["stream"] == "stderr"]
        assert err == [f"err {i}" for i in range(7, 3001, 7)]
        assert out[:-1] == [f"out {i}" for i in range(1, 3001) if i % 7]
        assert 'tab\there é ☃ "q" <b>' in [ln["content"] for ln in reference]

        status, headers, body = await get(running, f"/api/tasks/{task_id}/log")
        assert status == 200
        assert headers["Content-Disposition"] == f'attachment; filename="{task_id}.log"'
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["Transfer-Encoding"] == "chunked" and headers["Connection"] == "close"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert body.decode() == "".join(ln["content"] + "\n" for ln in reference)

        status, headers, body = await get(running, f"/api/tasks/{task_id}/log?format=jsonl")
        assert status == 200
        assert headers["Content-Disposition"] == f'attachment; filename="{task_id}.jsonl"'
        rows = [json.loads(row) for row in body.decode().split("\n")[:-1]]
        assert rows == reference
        assert {r["stream"] for r in rows} == {"stdout", "stderr"}

        _, _, body = await get(running, f"/api/tasks/{task_id}/log?tail=3")
        assert body.decode().split("\n") == [ln["content"] for ln in reference[-3:]] + [""]
        _, _, body = await get(running, f"/api/tasks/{task_id}/log?after={3001 - 3}&format=jsonl")
        assert [json.loads(r) for r in body.decode().split("\n")[:-1]] == reference[-3:]
        _, _, body = await get(running, f"/api/tasks/{task_id}/log?tail=0")
        assert body == b""
        _, _, body = await get(running, f"/api/tasks/{task_id}/log?tail=1&timestamps=1")
        assert body.decode() == f"{reference[-1]['timestamp']} {reference[-1]['content']}\n"


async def test_download_errors_are_short_plain_answers(master_factory):
    async with master_factory() as (running, workers):
        running.master.registry.started_at = 0  # past the warm-up
        task_id = await run(running, "echo one; echo two")
        await finished(running, task_id)
        cases = [
            ("/api/tasks/task-424242/log", 404, "no task task-424242"),
            ("/api/tasks/x/log", 400, "invalid task id"),
            ("/api/tasks/..%2F..%2Fetc/log", 400, "invalid task id"),
            ("/api/tasks/task-1%00/log", 400, "invalid task id"),
            (f"/api/tasks/{task_id}/log?format=csv", 400, "format must be"),
            (f"/api/tasks/{task_id}/log?after=1&tail=1", 400, "after or tail"),
            (f"/api/tasks/{task_id}/log?after=-1", 400, "non-negative"),
            (f"/api/tasks/{task_id}/log?evil=1", 400, "unknown query parameter"),
        ]
        for path, want, message in cases:
            status, headers, body = await get(running, path)
            assert (status, headers["Content-Type"]) == (want, "text/plain; charset=utf-8"), path
            assert message in body.decode() and len(body) < 300, path

        await workers[0].store.remove(task_id)  # retention removed its log
        await eventually(lambda: running.master.registry.task(task_id).expired, "the heartbeat")
        status, _, body = await get(running, f"/api/tasks/{task_id}/log")
        assert status == 410 and b"expired" in body


def stalled_download(address: str, path: str) -> socket.socket:
    """A client that sends the request, reads the response head, then stops reading."""
    host, port = address.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # no room to hide in
    sock.settimeout(10)
    sock.connect((host, int(port)))
    auth = auth_headers()["Authorization"]
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: {auth}\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1024)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    return sock


async def test_a_client_leaving_mid_download_frees_its_subscription_at_once(master_factory):
    async with master_factory() as (running, _):
        task_id = await run(running, "seq 1 100000")  # as JSON Lines: ~8 MB, more than buffers
        await finished(running, task_id)
        path = f"/api/tasks/{task_id}/log?format=jsonl"
        sock = await asyncio.to_thread(stalled_download, running.http_address, path)
        await asyncio.sleep(0.5)
        hub = running.master.relays[task_id].hub
        assert hub.subscriber_count == 1 and len(running.web.downloads) == 1  # blocked on it
        sock.close()
        await eventually(lambda: hub.subscriber_count == 0, "the subscription to go", 1.0)
        await eventually(lambda: not running.web.downloads, "the download to end", 1.0)

        # the server stays healthy, and stopping it cuts a download still in progress
        status, _, _ = await get(running, f"/api/tasks/{task_id}/log?tail=1")
        assert status == 200
        left = await asyncio.to_thread(stalled_download, running.http_address, path)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3  # it is cut, not waited for
    left.close()


async def test_the_task_list_filters_pages_and_refuses_bad_parameters(master_factory):
    async with master_factory() as (running, _):
        web = await run(running, "exit 0", labels=(("team", "web"),))
        db = await run(running, "exit 3", labels=(("team", "db"), ("env", "prod")))
        newest = await run(running, "exit 0", labels=(("team", "web"), ("env", "prod")))
        for task_id in (web, db, newest):
            await finished(running, task_id)

        async def ids(query: str) -> list[str]:
            status, headers, body = await get(running, f"/api/tasks?{query}")
            assert status == 200 and headers["Content-Type"] == "application/json"
            return [t["task_id"] for t in json.loads(body)]

        assert await ids("") == [newest, db, web]  # newest first
        assert await ids("label=team=web") == [newest, web]
        assert await ids("label=team=web&label=env=prod") == [newest]
        assert await ids("status=failed") == [db]
        assert await ids("status=failed,success") == [newest, db, web]
        assert await ids("status=running&status=failed") == [db]
        assert await ids("status=&label=&limit=") == [newest, db, web]

        status, headers, body = await get(running, "/api/tasks?limit=2")
        assert [t["task_id"] for t in json.loads(body)] == [newest, db]
        token = headers["X-Next-Page-Token"]
        status, headers, body = await get(running, f"/api/tasks?limit=2&page_token={token}")
        assert [t["task_id"] for t in json.loads(body)] == [web]
        assert "X-Next-Page-Token" not in headers
        row = json.loads(body)[0]
        assert (row["status"], row["labels"], row["command"]) == (
            "success",
            {"team": "web"},
            ["sh", "-c", "exit 0"],
        )

        for query, message in [
            ("status=bogus", "unknown status"),
            ("label=novalue", "KEY=VALUE"),
            ("limit=0", "limit"),
            ("limit=100000", "limit"),
            ("limit=x", "limit"),
            ("page_token=garbage", "page token"),
            ("sort=asc", "unknown query parameter"),
        ]:
            status, headers, body = await get(running, f"/api/tasks?{query}")
            assert status == 400, query
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
            assert message in body.decode() and len(body) < 300, query


async def grpc_health(address: str, service: str, worker: str = "") -> str:
    """The status a ``grpc.health.v1.Health/Check`` call gets (what grpc_health_probe asks);
    to worker ``worker`` with the master's certificate (a worker's port is mutual TLS)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from tests.cluster import worker_channel

    channel = worker_channel(address, worker) if worker else grpc.aio.insecure_channel(address)
    async with channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)  # (the stubs type the sync channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def test_health_and_readiness_on_http_and_grpc(master_factory, worker_factory):
    async with master_factory(workers=0, worker_timeout=1.0) as (running, _):
        status, headers, body = await get(running, "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert headers["Content-Type"] == "application/json"
        # no worker: the master answers, but cannot run or show a task
        status, _, body = await get(running, "/readyz")
        assert status == 503 and json.loads(body)["reason"] == "no live worker"
        for service in ("", "logcast.v1.Master"):
            assert await grpc_health(running.grpc_address, service) == "SERVING"
        assert await grpc_health(running.grpc_address, "no.such.Service") == "NOT_FOUND"
        async with worker_factory(master=running.grpc_address) as worker:
            for service in ("", "logcast.v1.Worker"):
                assert await grpc_health(worker.address, service, worker.config.name) == "SERVING"

            async def ready() -> bool:
                return (await get(running, "/readyz"))[0] == 200

            await eventually_async(ready, "the master to be ready")
            _, _, body = await get(running, "/readyz")
            assert json.loads(body) == {"status": "ready", "live_workers": 1}
        # the worker is gone: not ready once it is missed (worker_timeout)
        await eventually_async(lambda: not_ready(running), "the master to be not ready")


async def not_ready(running) -> bool:
    return (await get(running, "/readyz"))[0] == 503


def metric_samples(body: bytes) -> dict[str, float]:
    """``name{label="v"}`` -> value, parsed as Prometheus parses the exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def test_metrics_say_what_the_master_sees_and_reflection_lists_the_api(master_factory):
    async with master_factory(workers=1) as (running, _):
        task_id = await run(running, "echo started; sleep 30")
        async with websockets.connect(
            f"ws://{running.http_address}/logs/{task_id}", additional_headers=auth_headers()
        ) as ws:
            await ws.recv()  # the stream is open: its first frame arrived

            async def streaming() -> bool:
                _, _, body = await get(running, "/metrics")
                return metric_samples(body)['logcast_master_tasks{status="running"}'] == 1

            await eventually_async(streaming, "the running task in the metrics")
            status, headers, body = await get(running, "/metrics")
            assert status == 200 and headers["Content-Type"].startswith("text/plain")
            got = metric_samples(body)
            assert got['logcast_master_workers{state="alive"}'] == 1
            assert got['logcast_master_workers{state="down"}'] == 0
            assert got["logcast_master_websocket_streams"] == 1
            assert got["logcast_master_tasks_listed"] >= 1
            assert got["process_resident_memory_bytes"] > 0  # the process collectors
            assert not any(task_id in name for name in got)  # no task-id labels
        async with MasterClient(running.grpc_address) as client:
            await client.stop(task_id)
        services = await asyncio.to_thread(reflected_services, running.grpc_address)
        assert {"logcast.v1.Master", "grpc.health.v1.Health"} <= set(services)


def reflected_services(address: str) -> list[str]:
    """The services a gRPC reflection client (what grpcurl does) finds on ``address``."""
    import grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    with grpc.insecure_channel(address) as channel:
        return list(ProtoReflectionDescriptorDatabase(channel).get_services())


async def test_the_worker_serves_health_readiness_and_metrics_on_its_own_port(
    worker_factory, docker_proxy
):
    async with worker_factory(metrics_listen="127.0.0.1:0") as worker:
        base = SimpleNamespace(http_address=worker.metrics_address)
        status, _, body = await get(base, "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, _, body = await get(base, "/readyz")
        assert (status, json.loads(body)) == (200, {"status": "ready"})
        status, headers, body = await get(base, "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        got = metric_samples(body)
        assert got['logcast_worker_tasks{status="running"}'] == 0
        assert "logcast_worker_store_lines_written_total" in got
        assert got["process_resident_memory_bytes"] > 0
        assert (await get(base, "/logs/x"))[0] == 404
        docker_proxy.refuse(True)  # Docker stops answering the worker
        try:
            status, _, body = await get(base, "/readyz")
            assert status == 503 and json.loads(body)["status"] == "not ready"
            assert json.loads(body)["reason"]  # says why
            assert (await get(base, "/healthz"))[0] == 200  # the process itself is fine
        finally:
            docker_proxy.refuse(False)
        assert (await get(base, "/readyz"))[0] == 200
