"""Two masters of one cluster relaying the same task (`worker serve --also-master`): a second
master process on the same state directory learns the worker's tasks from its heartbeats and
relays them; the worker still reads each container's log once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from master.config import MasterConfig
from master.master_client import MasterClient
from master.running import RunningMaster, run_master
from shared.errors import ConfigError
from shared.model import TaskSpec, TaskStatus
from tests.fixtures import TEST_IMAGE, eventually, remove_containers
from tests.integration.test_fanout import numbered
from tests.integration.test_websocket import frames, lines_of

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


@contextlib.asynccontextmanager
async def master(
    state_dir: Path | None = None, *, local_worker: bool = False
) -> AsyncIterator[RunningMaster]:
    """An in-process master on port 0 (``state_dir`` None: the session's, with its CA)."""
    config = MasterConfig(
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        cluster_listen="127.0.0.1:0",
        state_dir=state_dir,
        local_worker=local_worker,
    )
    async with run_master(config) as running:
        yield running


def knows(running: RunningMaster, worker: str) -> bool:
    return worker in {w.name for w in running.master.registry.workers()}


def ws_url(running: RunningMaster, task_id: str) -> str:
    return f"ws://{running.http_address}/logs/{task_id}"


async def test_a_second_master_relays_the_same_lines_from_one_docker_read(
    worker_factory, docker_proxy
):
    async with master() as first, master() as second:
        async with worker_factory(
            master=first.grpc_address, also_masters=(second.cluster_address,)
        ) as worker:
            name = worker.config.name
            for m in (first, second):
                await eventually(
                    functools.partial(knows, m, name),
                    f"the worker to report to the master on {m.grpc_address}",
                )
            async with MasterClient(first.grpc_address) as client:
                info = await client.run(
                    TaskSpec("", TEST_IMAGE, ("sh", "-c", f"sleep 1; {numbered(3000)}; exit 3"))
                )
            task = info.task_id
            await eventually(
                lambda: second.master.registry.has_task(task),
                "the second master to learn the task from a heartbeat",
            )
            (a, _), (b, _) = await asyncio.gather(
                frames(ws_url(first, task)), frames(ws_url(second, task))
            )
            expected = [(i, f"seq={i}") for i in range(1, 3001)]
            assert lines_of(a) == expected
            assert lines_of(b) == expected
            for got in (a, b):
                end = got[-1]
                assert end["type"] == "log" and end["isComplete"], end
                assert end["exitCode"] == 3
            assert second.master.registry.status(task) is TaskStatus.FAILED
            container = worker.executor.info(task).container_id
            # one follow stream, whatever the number of masters relaying it
            assert docker_proxy.log_requests(follow=True)[container] == 1
            # and the other way round: a task placed through the second master
            async with MasterClient(second.grpc_address) as client:
                info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", numbered(100))))
            await eventually(
                lambda: first.master.registry.has_task(info.task_id),
                "the first master to learn the second one's task",
            )
            got, _ = await frames(ws_url(first, info.task_id))
            assert lines_of(got) == [(i, f"seq={i}") for i in range(1, 101)]


async def test_a_master_of_another_cluster_is_refused_and_the_own_one_keeps_working(
    worker_factory, tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="worker.heartbeat")
    async with master() as own, master(tmp_path / "other-state") as stranger:
        async with worker_factory(
            master=own.grpc_address, also_masters=(stranger.cluster_address,)
        ) as worker:
            name = worker.config.name
            await eventually(lambda: knows(own, name), "the worker to report to its own master")
            await eventually(
                lambda: stranger.cluster_address in caplog.text,
                "the worker to say the other master refused it",
            )
            assert not knows(stranger, name)
            async with MasterClient(own.grpc_address) as client:
                info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", numbered(50))))
            got, _ = await frames(ws_url(own, info.task_id))
            assert lines_of(got) == [(i, f"seq={i}") for i in range(1, 51)]
    said = [r.getMessage() for r in caplog.records if stranger.cluster_address in r.getMessage()]
    assert len(said) == 1, said  # said once, not at every retry
    assert "not of this worker's cluster" in said[0]


async def test_also_master_without_a_master_is_a_config_error(worker_factory):
    with pytest.raises(ConfigError, match="--also-master needs --master"):
        async with worker_factory(also_masters=("127.0.0.1:9",)):
            pass


async def test_also_master_naming_the_own_master_or_one_twice_is_a_config_error(worker_factory):
    async with master() as own:
        for others, says in (
            ((own.cluster_address,), "is this worker's own master"),
            (("127.0.0.1:9", "127.0.0.1:9"), "is given twice"),
        ):
            with pytest.raises(ConfigError, match=f"--also-master .* {says}"):
                async with worker_factory(master=own.grpc_address, also_masters=others):
                    pass


async def test_a_second_master_with_an_embedded_worker_on_one_state_directory_is_refused(
    tmp_path, docker_engine
):
    state = tmp_path / "state"
    try:
        async with master(state, local_worker=True) as first:
            with pytest.raises(ConfigError, match="in use by another worker"):
                async with master(state, local_worker=True):
                    pass
            token = first.access.owner_token
            async with MasterClient(first.grpc_address, token=token) as client:
                info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", numbered(20))))
            got, _ = await frames(ws_url(first, info.task_id), additional_headers=owner(first))
            assert lines_of(got) == [(i, f"seq={i}") for i in range(1, 21)]
    finally:
        remove_containers(docker_engine.api, (state / "local-worker").read_text().strip())


def owner(running: RunningMaster) -> dict[str, str]:
    return {"Authorization": f"Bearer {running.access.owner_token}"}
