"""The master's own metrics, read from its state at each scrape (see shared/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import Metric

from shared.metrics import counter, flow_metrics, gauge

if TYPE_CHECKING:
    from master.coordinator import Master
    from master.web_server import WebServer


def master_metrics(master: Master, web: WebServer) -> Iterator[Metric]:
    """Tasks, workers and viewers as the master sees them. No task-id labels."""
    by_status, known = master.registry.counts()
    tasks = gauge("logcast_master_tasks", "Unfinished tasks by status.", status="status")
    for status in ("pending", "running"):
        tasks.add_metric([status], by_status.get(status, 0))
    yield tasks
    yield gauge(
        "logcast_master_tasks_listed",
        "Tasks the master lists (finished ones bounded by --max-finished-tasks).",
        known,
    )
    workers = master.registry.workers()
    alive = sum(1 for w in workers if w.alive)
    liveness = gauge("logcast_master_workers", "Workers by liveness.", state="state")
    liveness.add_metric(["alive"], alive)
    liveness.add_metric(["down"], len(workers) - alive)
    yield liveness
    yield gauge("logcast_master_websocket_streams", "Open WebSocket log streams.", web.clients)
    yield counter(
        "logcast_master_websocket_keepalive_closed",
        "WebSocket clients closed because they answered no ping for an interval (1011).",
        web.keepalive.closed,
    )
    stats = master.stats
    kinds = gauge(
        "logcast_master_subscribers",
        "Clients following task logs, by kind (grpc: master monitor/logs; websocket: pages "
        "and other WebSocket clients; download: GET .../log in progress).",
        kind="kind",
    )
    for kind in ("grpc", "websocket", "download"):
        kinds.add_metric([kind], stats.subscribers[kind])
    yield kinds
    lags = [lag for relay in master.relays.values() for _, lag in relay.hub.lags()]
    yield gauge(
        "logcast_master_subscriber_max_lag_lines",
        "Lines the furthest-behind client has yet to receive.",
        max(lags, default=0),
    )
    yield from flow_metrics("master", stats)
    yield gauge("logcast_master_downloads", "Log downloads in progress.", len(web.downloads))
