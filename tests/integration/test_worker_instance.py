"""Two workers of the same name on one Docker engine (two embedded workers called ``local``,
two hosts sharing an engine) never adopt each other's containers: each labels its containers
with the instance id of its data directory and adopts only those. A restarted worker on the
same data directory adopts its own."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.model import TaskSpec
from tests.cluster import provision
from tests.fixtures import DOCKER_HOST, TEST_IMAGE, remove_containers
from worker.config import WorkerConfig
from worker.docker_containers import LABEL_INSTANCE, LABEL_WORKER
from worker.instance import FILE_NAME
from worker.running import RunningWorker, run_worker

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


def running_tasks(worker: RunningWorker) -> set[str]:
    """The tasks the worker supervises (started or adopted) and has not seen end."""
    return {info.task_id for info in worker.executor.unfinished()}


def provisioned(name: str, data_dir: Path) -> WorkerConfig:
    """Worker ``name`` on ``data_dir``, with a certificate: the test is its master."""
    provision(data_dir, name)
    return WorkerConfig(
        name=name, listen="127.0.0.1:0", docker_host=DOCKER_HOST, stop_grace=1.0, data_dir=data_dir
    )


async def test_same_name_other_data_directory_never_adopts_the_others_containers(
    tmp_path: Path, docker_engine
):
    name = f"t{uuid.uuid4().hex[:10]}"
    first = provisioned(name, tmp_path / "first")
    second = provisioned(name, tmp_path / "second")
    api = docker_engine.api
    try:
        async with run_worker(first) as one:
            a = await one.executor.start(TaskSpec("task-a00001", TEST_IMAGE, ("sleep", "60")))
            # the second one starts while the first one's container runs: it is not its own
            async with run_worker(second) as two:
                assert running_tasks(two) == set()
                b = await two.executor.start(TaskSpec("task-b00002", TEST_IMAGE, ("sleep", "60")))
                assert running_tasks(one) == {a.task_id}
                assert running_tasks(two) == {b.task_id}
        # both stopped: their containers keep running, each labelled with its instance id
        for info, data_dir in ((a, first.data_dir), (b, second.data_dir)):
            state = api.inspect_container(info.container_id)
            assert state["State"]["Running"]
            labels = state["Config"]["Labels"]
            assert labels[LABEL_WORKER] == name
            assert labels[LABEL_INSTANCE] == (data_dir / FILE_NAME).read_text().strip()
        # each restarts on its own data directory: it adopts its container, only its own
        async with run_worker(second) as two, run_worker(first) as one:
            assert running_tasks(one) == {a.task_id}
            assert running_tasks(two) == {b.task_id}
            await one.executor.stop(a.task_id)  # ends it (and removes its container) ...
            assert one.executor.info(a.task_id).status.is_final
            assert api.inspect_container(b.container_id)["State"]["Running"]  # ... not the other
            assert running_tasks(two) == {b.task_id}
    finally:
        remove_containers(api, name)


async def test_a_second_worker_on_the_same_data_directory_is_refused_and_the_first_goes_on(
    tmp_path: Path, docker_engine
):
    name = f"t{uuid.uuid4().hex[:10]}"
    config = provisioned(name, tmp_path / "data")
    try:
        async with run_worker(config) as one:
            a = await one.executor.start(TaskSpec("task-a00001", TEST_IMAGE, ("sleep", "60")))
            with pytest.raises(
                ConfigError, match=rf"in use by another worker \(pid {os.getpid()}\)"
            ):
                async with run_worker(config):
                    pass
            assert running_tasks(one) == {a.task_id}  # not adopted, not stopped by the other
            assert one.store.tasks  # its store still open and in use
        async with run_worker(config) as again:  # let go when it stopped: a restart adopts
            assert running_tasks(again) == {a.task_id}
    finally:
        remove_containers(docker_engine.api, name)
