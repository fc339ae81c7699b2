"""/metrics counts exactly what the clients of a real master got and were told: lines read
from Docker, lines sent per sink, lines dropped per reason, subscribers, task exits and
refusals, scraped from one master with its embedded worker (real Docker, real WebSocket and
gRPC clients)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
import websockets

from master.master_client import MasterClient
from shared.hub import HubLimits
from tests.access import auth_headers, seed
from tests.fixtures import eventually, eventually_async
from tests.integration.test_http_api import finished, get, metric_samples, run

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]
AUTH = auth_headers()

LINES = 60_000  # of ~210 bytes: ~14 MB, more than loopback's socket buffers hold
ERR_LINES = 500
TOTAL = LINES + 1 + ERR_LINES
SCRIPT = (
    "echo ready; sleep 1; "
    f"awk 'BEGIN {{ for (i = 1; i <= {LINES}; i++) printf \"line %0200d\\n\", i }}'; "
    f"i=0; while [ $i -lt {ERR_LINES} ]; do i=$((i+1)); echo err $i >&2; done; "
    "sleep 6; exit 3"
)


@dataclass
class Seen:
    """What one client received and was told."""

    lines: int = 0
    dropped: int = 0
    gaps: int = 0
    end: dict | None = None


async def read_ws(ws, seen: Seen) -> None:
    async for raw in ws:
        frame = json.loads(raw)
        kind = frame["type"]
        if kind == "batch":
            seen.lines += len(frame["lines"])
        elif kind == "log" and frame.get("isComplete"):
            seen.end = frame
        elif kind == "log":
            seen.lines += 1
        elif kind == "dropped":
            seen.dropped += frame["count"]
        elif kind == "gap":
            seen.gaps += frame["toSeq"] - frame["fromSeq"] + 1


async def scrape(running) -> dict[str, float]:
    status, _, body = await get(running, "/metrics")
    assert status == 200
    return metric_samples(body)


async def test_metrics_match_what_the_clients_received_and_were_told(master_factory, tmp_path):
    limits = HubLimits(max_lag_lines=2000, max_lag_bytes=8 * 1024 * 1024)
    async with master_factory(
        workers=0, local_worker=True, state_dir=seed(tmp_path), relay_limits=limits
    ) as (running, _):
        await eventually(
            lambda: any(w.alive for w in running.master.registry.workers()), "the local worker"
        )
        task_id = await run(running, SCRIPT)
        url = f"ws://{running.http_address}/logs/{task_id}"
        fast, slow, cli = Seen(), Seen(), Seen()
        async with (
            websockets.connect(url + "?batch=1", max_size=None, additional_headers=AUTH) as ws_fast,
            websockets.connect(url, max_queue=1, additional_headers=AUTH) as ws_slow,
            MasterClient(running.grpc_address) as client,
        ):
            fast_reader = asyncio.create_task(read_ws(ws_fast, fast))

            async def follow() -> None:
                async for batch in client.stream(task_id, lossless=True):
                    cli.lines += len(batch.lines)
                    if batch.end is not None:
                        cli.end = {"status": batch.end.status.value}

            cli_reader = asyncio.create_task(follow())
            # the slow page reads nothing until the others have every line
            # (stdout and stderr interleave as Docker files them: count, not the last line)
            await eventually(
                lambda: fast.lines + fast.dropped == TOTAL and cli.lines == TOTAL,
                "the fast clients to get every line",
                60,
            )
            during = await scrape(running)  # the task still runs (its last `sleep 6`)
            slow_reader = asyncio.create_task(read_ws(ws_slow, slow))
            async with asyncio.timeout(60):
                await asyncio.gather(fast_reader, slow_reader, cli_reader)
        await finished(running, task_id)

        async def all_closed() -> bool:
            got = await scrape(running)
            return all(
                got[f'logcast_master_subscribers{{kind="{k}"}}'] == 0 for k in ("grpc", "websocket")
            )

        await eventually_async(all_closed, "the subscriptions to close")
        # refused: a malformed id and an unknown task, each counted with its reason
        for path, code in (("/logs/bad%20id", 4400), ("/logs/task-nosuchtask", 4404)):
            async with websockets.connect(
                f"ws://{running.http_address}{path}", additional_headers=AUTH
            ) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == code
        after = await scrape(running)

    # every client got the task's end (exit 3: failed), and the slow one was really slow
    assert fast.end is not None and slow.end is not None and cli.end == {"status": "failed"}
    assert slow.dropped > 0 and cli.dropped == 0
    # while the task ran: the three clients, and the relay's one lossless upstream stream
    assert during['logcast_master_subscribers{kind="websocket"}'] == 2
    assert during['logcast_master_subscribers{kind="grpc"}'] == 1
    assert during['logcast_worker_subscribers{kind="lossless"}'] == 1
    assert during['logcast_master_tasks{status="running"}'] == 1
    # exactly what the clients got and were told
    assert after['logcast_master_lines_sent_total{sink="websocket"}'] == fast.lines + slow.lines
    assert after['logcast_master_lines_sent_total{sink="grpc"}'] == cli.lines
    slow_consumer = 'logcast_master_lines_dropped_total{reason="slow_consumer",sink="websocket"}'
    assert after[slow_consumer] == fast.dropped + slow.dropped
    gaps = sum(v for k, v in after.items() if k.startswith("logcast_master_lines_dropped_total"))
    assert gaps == fast.dropped + slow.dropped + fast.gaps + slow.gaps + cli.gaps
    # what the worker read from Docker, to the line
    assert after['logcast_worker_docker_lines_total{stream="stdout"}'] == LINES + 1
    assert after['logcast_worker_docker_lines_total{stream="stderr"}'] == ERR_LINES
    assert after['logcast_worker_docker_bytes_total{stream="stderr"}'] == sum(
        len(f"err {i}") for i in range(1, ERR_LINES + 1)
    )
    assert after['logcast_worker_task_exits_total{outcome="failed"}'] == 1
    assert after['logcast_master_task_exits_total{outcome="failed"}'] == 1
    refusals = 'logcast_master_refusals_total{{interface="websocket",reason="{}"}}'
    assert after[refusals.format("invalid_task_id")] == 1
    assert after[refusals.format("not_found")] == 1
    assert after['logcast_master_fanout_latency_seconds_count{sink="websocket"}'] > 0
    assert after["logcast_worker_store_commit_seconds_count"] > 0
    assert after["logcast_worker_store_lines_written_total"] == TOTAL
