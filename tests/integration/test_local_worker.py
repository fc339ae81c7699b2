"""The embedded worker is called in process: a master with ``--local-worker`` (real Docker,
real gRPC and WebSocket clients) relays its task's log, reads its history, searches it and
stops it without one gRPC call to its own worker, and every client gets exactly the lines
Docker has."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from master.master_client import MasterClient
from shared.errors import TaskNotFound
from shared.linefilter import LineFilter
from shared.model import TaskSpec, TaskStatus
from shared.protos import logcast_pb2 as pb
from tests.access import auth_headers, seed
from tests.fixtures import TEST_IMAGE, eventually, remove_containers

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]

LINES = 3000
# numbered lines, one needle, a line on stderr; then it waits to be stopped
SCRIPT = (
    f"i=1; while [ $i -le {LINES} ]; do echo line-$i; i=$((i+1)); done; "
    "echo needle-42; echo oops >&2; sleep 600"
)


def docker_lines(container_id: str) -> list[str]:
    out = subprocess.run(["docker", "logs", container_id], capture_output=True, check=True)
    return out.stdout.decode().splitlines() + out.stderr.decode().splitlines()


async def ws_follow(url: str, until: int) -> list[tuple[int, str]]:
    """(seq, content) from a WebSocket log view, until ``until`` lines arrived."""
    got: list[tuple[int, str]] = []
    async with websockets.connect(url, max_size=None, additional_headers=auth_headers()) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "batch":
                    got += [(ln["seq"], ln["content"]) for ln in frame["lines"]]
                if len(got) >= until:
                    break
    return got


async def test_the_embedded_workers_log_reaches_every_client_without_a_grpc_call_to_it(
    master_factory, docker_engine, tmp_path: Path
):
    state = seed(tmp_path / "state")
    async with master_factory(workers=0, local_worker=True, state_dir=state) as (running, _):
        local = running.local_worker
        assert local is not None
        try:
            await eventually(
                lambda: any(w.alive for w in running.master.registry.workers()), "the worker"
            )
            async with MasterClient(running.grpc_address) as client:
                info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", SCRIPT)))
                task = info.task_id
                assert info.worker == local.config.name
                url = f"ws://{running.http_address}/logs/{task}?batch=1&after=0"
                total = LINES + 2
                # two browsers and a lossless gRPC client at once, all from the relay
                browsers = [asyncio.create_task(ws_follow(url, total)) for _ in range(2)]
                streamed: list[tuple[int, str]] = []
                async with asyncio.timeout(60):
                    async for batch in client.stream(task, after=0, lossless=True):
                        streamed += [(ln.seq, ln.content) for ln in batch.lines]
                        if len(streamed) >= total:
                            break
                    seen = await asyncio.gather(*browsers)
                container = local.executor.tasks()[0].container_id
                expected = docker_lines(container)
                assert sorted(c for _, c in streamed) == sorted(expected)
                assert [s for s, _ in streamed] == list(range(1, total + 1))
                for got in seen:
                    assert got == streamed

                # history deeper than the relay keeps (its newest lines only): the worker's
                # store, read in process
                old: list[tuple[int, str]] = []
                async with asyncio.timeout(30):
                    async for batch in client.stream(task, after=10, follow=False, lossless=True):
                        old += [(ln.seq, ln.content) for ln in batch.lines]
                assert old == streamed[10:]
                # a filtered stream (the worker filters) and a search (the worker searches)
                found: list[str] = []
                async with asyncio.timeout(30):
                    async for batch in client.stream(
                        task, follow=False, line_filter=LineFilter(pattern="needle")
                    ):
                        found += [ln.content for ln in batch.lines]
                assert found == ["needle-42"]
                hits: list[int] = []
                async for msg in client.search(pb.SearchRequest(task_id=task, pattern="line-2999")):
                    hits += list(msg.seqs)
                # (stderr's line may come anywhere among stdout's: as Docker files them)
                assert hits == [s for s, c in streamed if c == "line-2999"]

                stopped = await client.stop(task)
                assert stopped.status is TaskStatus.CANCELLED
                assert (await client.get(task)).worker == local.config.name
                # the worker's own record is its own: the master's copy does not share it
                assert local.executor.tasks()[0] is not running.master.registry.task(task)
                with pytest.raises(TaskNotFound):
                    async for _ in client.stream("task-nosuchtask1"):
                        pass

            # not one StreamLogs call reached the worker's gRPC server: all in process
            assert local.service.subscriptions[task] == 0
            assert local.service.subscriptions.total() == 0
            # the worker's metrics count the in-process sink
            assert local.service.stats is not None
            assert local.service.stats.sent["local"] >= total
            assert local.service.stats.sent["grpc"] == 0
        finally:
            remove_containers(docker_engine.api, local.config.name)
