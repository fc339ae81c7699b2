"""Two masters of one cluster relaying the same task (`worker serve --also-master`): a second
master process on the same state directory learns the worker's tasks from its heartbeats and
relays them; the worker still reads each container's log once."""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest

from master.master_client import MasterClient
from master.running import RunningMaster
from shared.errors import ConfigError
from shared.model import TaskSpec, TaskStatus
from tests.fixtures import TEST_IMAGE, eventually, remove_containers
from tests.integration.test_fanout import numbered
from tests.integration.test_websocket import frames, lines_of

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


def knows(running: RunningMaster, worker: str) -> bool:
    return worker in {w.name for w in running.master.registry.workers()}


def ws_url(running: RunningMaster, task_id: str) -> str:
    return f"ws://{running.http_address}/logs/{task_id}"


async def test_a_second_master_relays_the_same_lines_from_one_docker_read(
    master_factory, worker_factory, docker_proxy
):
    async with master_factory(workers=0) as (first, _), master_factory(workers=0) as (second, _):
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
    master_factory, worker_factory, tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="worker.heartbeat")
    other_state = tmp_path / "other-state"
    async with (
        master_factory(workers=0) as (own, _),
        master_factory(workers=0, state_dir=other_state) as (stranger, _),
    ):
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


async def test_also_master_naming_the_own_master_or_one_twice_is_a_config_error(
    master_factory, worker_factory
):
    async with master_factory(workers=0) as (own, _):
        for others, says in (
            ((own.cluster_address,), "is this worker's own master"),
            (("127.0.0.1:9", "127.0.0.1:9"), "is given twice"),
        ):
            with pytest.raises(ConfigError, match=f"--also-master .* {says}"):
                async with worker_factory(master=own.grpc_address, also_masters=others):
                    pass


async def test_a_second_master_with_an_embedded_worker_on_one_state_directory_is_refused(
    master_factory, tmp_path, docker_engine
):
    state = tmp_path / "state"
    embedded = functools.partial(master_factory, workers=0, state_dir=state, local_worker=True)
    try:
        async with embedded() as (first, _):
            with pytest.raises(ConfigError, match="in use by another worker"):
                async with embedded():
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
