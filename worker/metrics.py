"""The worker's own metrics, read from its state at each scrape (see shared/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from shared.metrics import counter, gauge
from worker.executor import TaskExecutor
from worker.manager import LogStreamManager
from worker.store import LogStore


def worker_metrics(
    executor: TaskExecutor, manager: LogStreamManager, store: LogStore | None
) -> Iterator[Metric]:
    """Tasks, followed logs, subscribers and the store. No task-id labels."""
    unfinished = executor.unfinished()
    tasks = gauge("logcast_worker_tasks", "Unfinished tasks by status.", status="status")
    for status in ("pending", "running"):
        tasks.add_metric([status], sum(1 for t in unfinished if t.status.value == status))
    yield tasks
    hubs, subscribers = manager.audience()
    yield gauge("logcast_worker_logs_open", "Task logs held open in memory (hubs).", hubs)
    yield gauge("logcast_worker_subscribers", "Subscriptions to task logs (masters).", subscribers)
    if store is not None:
        yield counter(
            "logcast_worker_store_lines_written",
            "Lines committed to the store.",
            store.lines_written,
        )
        yield counter("logcast_worker_store_commits", "Store transactions.", store.commits)
        yield gauge("logcast_worker_store_tasks", "Tasks in the store's catalog.", len(store.tasks))
        yield gauge(
            "logcast_worker_store_bytes",
            "Bytes of the tasks' log files (as of their last commit).",
            sum(t.bytes for t in store.tasks.values()),
        )
