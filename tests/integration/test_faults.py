"""Faults between the worker and Docker: the engine goes away for a while and comes back."""

from __future__ import annotations

import asyncio

import pytest

from shared.model import ConnectionState, TaskStatus
from tests.fixtures import collect, start_task
from tests.integration.test_fanout import numbered

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


async def test_docker_unreachable_for_a_while_resumes_without_duplicates(
    worker, stub, docker_proxy
):
    info = await start_task(stub, numbered(300, "sleep 0.01"))
    subscriber = asyncio.create_task(collect(stub, info.task_id))
    await asyncio.sleep(1.0)
    docker_proxy.refuse(True)  # cut the log stream and refuse new connections
    await asyncio.sleep(1.0)
    broadcaster = worker.manager.get(info.task_id)
    docker_proxy.refuse(False)
    got = await subscriber
    assert got.numbers() == list(range(1, 301))  # nothing lost, nothing twice
    assert got.check(published=300) == []
    assert got.end.status is TaskStatus.SUCCESS
    # the subscriber was told while it happened, and when the log flowed again
    assert got.states == [ConnectionState.DOCKER_UNREACHABLE, ConnectionState.STREAMING]
    assert broadcaster.reads >= 2
    # refused attempts never reach Docker; the first read and the resumed one do
    assert 2 <= docker_proxy.log_requests(follow=True)[info.container_id] <= broadcaster.reads
