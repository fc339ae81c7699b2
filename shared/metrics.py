"""Adapter: Prometheus metrics (``prometheus_client``) for one logcast server.

Each server has its own registry (tests run several in one process; the embedded worker adds
its collector to its master's). The process collectors give CPU, memory, open files and the
interpreter's GC; logcast's own figures are read from its state when scraped (collectors), so
counting costs nothing on the line path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from shared.flowstats import FlowStats, Histogram

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Metrics",
    "StateCollector",
    "counter",
    "flow_metrics",
    "gauge",
    "histogram",
]


class StateCollector(Collector):
    """Metrics computed from a server's state at each scrape."""

    def __init__(self, read: Callable[[], Iterable[Metric]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        return list(self._read())


def gauge(name: str, doc: str, value: float | None = None, **labels: str) -> GaugeMetricFamily:
    """A gauge; with ``labels`` (names -> the label of each sample), add samples later."""
    if value is not None:
        return GaugeMetricFamily(name, doc, value=value)
    return GaugeMetricFamily(name, doc, labels=list(labels))


def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    """A counter read from state (it must only grow while the process lives)."""
    return CounterMetricFamily(name, doc, value=value)


def labelled_counter(
    name: str, doc: str, labels: tuple[str, ...], values: dict[Any, int]
) -> CounterMetricFamily:
    """A counter with one sample per key of ``values`` (a label value, or a tuple of them)."""
    family = CounterMetricFamily(name, doc, labels=list(labels))
    for key, value in sorted(values.items()):
        family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
    return family


def histogram(
    name: str, doc: str, hists: dict[str, Histogram], label: str = ""
) -> HistogramMetricFamily:
    """A histogram family: one per key of ``hists`` (its ``label`` value; "" and no label for
    a single one)."""
    family = HistogramMetricFamily(name, doc, labels=[label] if label else None)
    for key, hist in sorted(hists.items()):
        family.add_metric([key] if label else [], hist.cumulative(), hist.total)
    return family


def flow_metrics(role: str, stats: FlowStats) -> Iterator[Metric]:
    """The log-flow families of ``stats`` (``role``: master or worker), read at scrape."""
    p = f"logcast_{role}"
    if role == "worker":
        yield labelled_counter(
            f"{p}_docker_lines", "Lines read from Docker, by stream.", ("stream",), stats.read_lines
        )
        yield labelled_counter(
            f"{p}_docker_bytes",
            "Bytes of line content read from Docker, by stream.",
            ("stream",),
            stats.read_bytes,
        )
    yield labelled_counter(
        f"{p}_lines_sent", "Lines sent to subscribers, by sink.", ("sink",), stats.sent
    )
    yield labelled_counter(
        f"{p}_lines_dropped",
        "Lines a subscriber was told it will not get, by sink and reason (slow_consumer: it "
        "fell too far behind; expired, evicted, not_stored, upstream: a gap).",
        ("sink", "reason"),
        stats.dropped,
    )
    yield histogram(
        f"{p}_fanout_latency_seconds",
        "Docker's timestamp of the newest line of a live batch to the batch's sending, by sink.",
        stats.latency,
        "sink",
    )
    yield labelled_counter(
        f"{p}_upstream_reconnects",
        "Upstream log streams opened again (docker: a container's log; worker: a relay's).",
        ("upstream",),
        stats.reconnects,
    )
    yield labelled_counter(
        f"{p}_task_exits", "Tasks that ended, by outcome.", ("outcome",), stats.exits
    )
    yield labelled_counter(
        f"{p}_refusals",
        "Requests refused, by interface and reason.",
        ("interface", "reason"),
        stats.refusals,
    )


class Metrics:
    """A registry with the process collectors, and its text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def add(self, collector: Collector) -> None:
        self.registry.register(collector)

    def remove(self, collector: Collector) -> None:
        self.registry.unregister(collector)

    def exposition(self) -> bytes:
        """``GET /metrics``'s body (Prometheus text format)."""
        return generate_latest(self.registry)
