"""The master's registry: heartbeats are the truth, silence makes tasks lost. Pure."""

from __future__ import annotations

import pytest

from master.registry import Registry, pick_worker
from shared.errors import TaskNotFound, WorkerUnavailable
from shared.model import TaskInfo, TaskStatus


def task(task_id: str, status: TaskStatus = TaskStatus.RUNNING, created: float = 0.0) -> TaskInfo:
    return TaskInfo(task_id=task_id, status=status, created_at=created)


def test_heartbeat_registers_workers_and_their_tasks():
    reg = Registry(worker_timeout=5)
    reg.heartbeat("w1", "127.0.0.1:1", [task("task-1")], now=100)
    assert reg.task("task-1").worker == "w1"
    assert [(w.name, w.alive) for w in reg.workers()] == [("w1", True)]


def test_silent_worker_is_marked_down_and_its_unfinished_tasks_lost():
    reg = Registry(worker_timeout=5)
    reg.heartbeat("w1", "a", [task("task-1"), task("task-2", TaskStatus.SUCCESS)], now=100)
    reg.heartbeat("w2", "b", [task("task-3")], now=100)
    assert reg.sweep(now=104) == []
    reg.heartbeat("w2", "b", [task("task-3")], now=104)
    assert reg.sweep(now=106) == ["w1"]
    assert reg.task("task-1").status is TaskStatus.LOST
    assert "w1 stopped answering" in reg.task("task-1").error
    assert reg.task("task-2").status is TaskStatus.SUCCESS  # finished tasks keep their status
    assert reg.task("task-3").status is TaskStatus.RUNNING


def test_worker_that_comes_back_and_reports_its_task_restores_it():
    reg = Registry(worker_timeout=5)
    reg.heartbeat("w1", "a", [task("task-1")], now=100)
    reg.sweep(now=110)
    assert reg.task("task-1").status is TaskStatus.LOST
    reg.heartbeat("w1", "a", [task("task-1")], now=111)
    assert reg.task("task-1").status is TaskStatus.RUNNING
    assert reg.worker("w1").alive


def test_task_a_worker_no_longer_knows_becomes_lost():
    reg = Registry(worker_timeout=5)
    reg.heartbeat("w1", "a", [task("task-1", created=100)], now=100)
    reg.heartbeat("w1", "a", [], now=102)  # just placed, may not be in this report yet
    assert reg.task("task-1").status is TaskStatus.RUNNING
    reg.heartbeat("w1", "a", [], now=110)
    assert reg.task("task-1").status is TaskStatus.LOST


def test_placement_picks_the_live_worker_with_fewest_running_tasks():
    reg = Registry(worker_timeout=5)
    reg.heartbeat("w1", "a", [task("task-1"), task("task-2")], now=100)
    reg.heartbeat("w2", "b", [task("task-3"), task("task-4", TaskStatus.SUCCESS)], now=100)
    assert pick_worker(reg).name == "w2"
    reg.heartbeat("w1", "a", [task("task-1"), task("task-2")], now=104)
    reg.sweep(now=106)  # w2 silent since 100
    assert pick_worker(reg).name == "w1"
    reg.sweep(now=200)
    with pytest.raises(WorkerUnavailable):
        pick_worker(reg)


def test_warm_up_after_a_master_restart():
    reg = Registry(worker_timeout=5, started_at=100)
    assert reg.warming_up(now=103)
    assert not reg.warming_up(now=106)
    with pytest.raises(TaskNotFound):
        reg.task("task-1")


def test_a_worker_out_of_sync_is_asked_again_and_nothing_is_marked_lost_meanwhile():
    reg = Registry(worker_timeout=5)
    assert reg.heartbeat("w1", "a", [task("task-1", created=0)], now=100, since=0, version=7) == 7
    # a restarted master: this worker thinks the master has version 7; it does not
    fresh = Registry(worker_timeout=5)
    fresh.add_task(task("task-9", created=0))
    fresh.heartbeat("w1", "a", [task("task-9", created=0)], now=100)
    synced = fresh.heartbeat("w1", "a", [], now=101, since=7, version=9)
    assert synced == 0  # "send me everything from 0"
    assert fresh.status("task-9") is TaskStatus.RUNNING  # not judged on a partial report


def test_finished_tasks_beyond_the_bound_are_forgotten_oldest_first():
    reg = Registry(max_finished=3)
    for i in range(6):
        reg.add_task(task(f"task-{i}", TaskStatus.SUCCESS, created=i))
    reg.add_task(task("task-run", created=0))
    assert [t.task_id for t in reg.newest_first()] == ["task-5", "task-4", "task-3", "task-run"]
    assert reg.status("task-run") is TaskStatus.RUNNING


def test_each_heartbeat_records_the_workers_clock_skew_from_its_send_time():
    reg = Registry(worker_timeout=5)
    reg.heartbeat("w1", "a", [], now=100.0)  # an older worker: no send time
    assert reg.worker("w1").clock_skew is None
    reg.heartbeat("w1", "a", [], now=200.0, sent_at=198.5)  # the worker's clock is behind
    assert reg.worker("w1").clock_skew == pytest.approx(1.5)
    reg.heartbeat("w1", "a", [], now=201.0, sent_at=201.25)  # ahead: negative
    assert reg.worker("w1").clock_skew == pytest.approx(-0.25)
    reg.heartbeat("w1", "a", [], now=202.0)  # the skew is the last heartbeat's, not a memory
    assert reg.worker("w1").clock_skew is None
