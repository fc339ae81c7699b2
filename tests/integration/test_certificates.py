"""Certificates of the master<->worker link over time: a worker renews its certificate
before it expires, over its own link, and goes on running and serving tasks with the new
one (a real master and worker in this process, real TLS on loopback)."""

from __future__ import annotations

import asyncio
import time

import pytest

from master.master_client import MasterClient
from shared import pki
from shared.model import TaskSpec, TaskStatus
from tests.comparator import Received
from tests.fixtures import TEST_IMAGE, eventually
from tests.integration.test_fanout import numbered
from worker.identity import IdentityFiles

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


async def test_a_worker_renews_its_certificate_and_keeps_working(master_factory):
    # 8 s certificates: renewed after ~5.9 s; a heartbeat every 0.2 s
    async with master_factory(worker_cert_lifetime=8.0, worker_timeout=1.0) as (running, ws):
        worker = ws[0]
        holder = worker.heartbeat.identity if worker.heartbeat else None
        assert holder is not None
        first = holder.current.issued()
        await eventually(
            lambda: holder.current.issued().serial != first.serial, "a renewal", timeout=30
        )
        renewed = holder.current.issued()
        assert renewed.key_id == first.key_id  # the same key: the name stays bound to it
        assert renewed.not_after > first.not_after
        kept = IdentityFiles(worker.config.data_dir).load(worker.config.name)
        assert kept is not None and pki.describe(kept.cert).serial == renewed.serial
        # the first certificate has expired by now: the link works on the renewed one
        await asyncio.sleep(max(0.0, first.not_after + 0.5 - time.time()))
        assert [w.alive for w in running.master.registry.workers()] == [True]
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", numbered(50))))
            got = Received()
            async for batch in client.stream(info.task_id):
                got.add(batch)
        assert got.numbers() == list(range(1, 51))
        assert got.end is not None and got.end.status is TaskStatus.SUCCESS
