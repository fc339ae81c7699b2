"""A generated task id the worker already has (a task another master on the same workers just
made, or one this master has forgotten while the worker keeps it) is replaced, not reported;
a name the user gave is refused as it was. The coordinator with an in-memory worker."""

from __future__ import annotations

import pytest

from master.config import MasterConfig
from master.coordinator import ID_ATTEMPTS, Master
from shared.errors import TaskExists
from shared.model import TaskSpec
from tests.fakes.workers import FakeWorkers

pytestmark = pytest.mark.asyncio
ADDRESS = "10.0.0.1:50052"


def master_with(monkeypatch, ids: list[str]) -> tuple[Master, FakeWorkers]:
    workers = FakeWorkers()
    master = Master(MasterConfig(), workers, lambda: 1000.0)
    master.heartbeat("w1", ADDRESS, [])
    queue = iter(ids)
    monkeypatch.setattr("master.coordinator.new_task_id", lambda: next(queue))
    return master, workers


async def test_a_generated_id_the_worker_has_is_replaced(monkeypatch):
    master, workers = master_with(monkeypatch, ["task-111111", "task-222222"])
    workers.get(ADDRESS).add_task("task-111111")  # made through another master
    info = await master.run_task(TaskSpec("", "img", ("true",)))
    assert info.task_id == "task-222222"
    assert master.registry.has_task("task-222222")


async def test_a_name_the_user_gave_that_the_worker_has_is_refused(monkeypatch):
    master, workers = master_with(monkeypatch, [])
    workers.get(ADDRESS).add_task("task-111111")
    with pytest.raises(TaskExists, match="task-111111"):
        await master.run_task(TaskSpec("task-111111", "img", ("true",)))


async def test_the_attempts_are_bounded(monkeypatch):
    taken = [f"task-{100_000 + i}" for i in range(ID_ATTEMPTS)]
    master, workers = master_with(monkeypatch, taken)
    for task_id in taken:
        workers.get(ADDRESS).add_task(task_id)
    with pytest.raises(TaskExists):
        await master.run_task(TaskSpec("", "img", ("true",)))
