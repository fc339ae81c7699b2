"""The worker's own metrics, read from its state at each scrape (see shared/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from shared.metrics import counter, flow_metrics, gauge, histogram
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
    hubs = manager.hubs()
    yield gauge("logcast_worker_logs_open", "Task logs held open in memory (hubs).", len(hubs))
    lags = [lag for hub in hubs for lag in hub.lags()]
    kinds = gauge(
        "logcast_worker_subscribers",
        "Subscriptions to task logs (masters' relays, readers), by kind: live (may be told "
        "`dropped`) or lossless (continues from the store).",
        kind="kind",
    )
    kinds.add_metric(["live"], sum(1 for lossless, _ in lags if not lossless))
    kinds.add_metric(["lossless"], sum(1 for lossless, _ in lags if lossless))
    yield kinds
    yield gauge(
        "logcast_worker_subscriber_max_lag_lines",
        "Lines the furthest-behind subscriber has yet to receive.",
        max((lag for _, lag in lags), default=0),
    )
    if manager.stats is not None:
        yield from flow_metrics("worker", manager.stats)
    if store is not None:
        yield counter(
            "logcast_worker_store_lines_written",
            "Lines committed to the store.",
            store.lines_written,
        )
        yield counter("logcast_worker_store_commits", "Store transactions.", store.commits)
        yield counter(
            "logcast_worker_store_bytes_written",
            "Bytes written to the store (compressed lines).",
            store.bytes_written,
        )
        yield histogram(
            "logcast_worker_store_commit_seconds",
            "Time to write and commit one batch of lines.",
            {"": store.commit_seconds},
        )
        yield gauge("logcast_worker_store_tasks", "Tasks in the store's catalog.", len(store.tasks))
        yield gauge(
            "logcast_worker_store_bytes",
            "Bytes of the tasks' log files (as of their last commit).",
            sum(t.bytes for t in store.tasks.values()),
        )
