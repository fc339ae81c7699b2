"""Adapter: Prometheus metrics (``prometheus_client``) for one logcast server.

Each server has its own registry (tests run several in one process; the embedded worker adds
its collector to its master's). The process collectors give CPU, memory, open files and the
interpreter's GC; logcast's own figures are read from its state when scraped (collectors), so
counting costs nothing on the line path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "StateCollector", "counter", "gauge"]


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
