"""Prometheus metrics (prometheus-client), shared by intake, workers and the github layer.

Under gunicorn several processes serve; when PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py
sets it) ``render_metrics`` aggregates every process's values with prometheus-client's
multiprocess collector. The queue depth is read from the queue at scrape time, so it is right
whichever process answers.

For the github layer: ``record_github_call(installation_id, status)`` per request and
``set_rate_limit_remaining(installation_id, n)`` from X-RateLimit-Remaining.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# outcome: accepted | duplicate | ignored | ping | rejected (bad signature, body, type, size)
WEBHOOK_EVENTS = Counter(
    "release_bot_webhook_events", "Webhook deliveries received, by event and outcome", ["event", "outcome"]
)
# kind: pr | release | repo; outcome: success | retry | retry_later | dead_letter | permanent | stale
JOBS = Counter("release_bot_jobs", "Jobs run, by key kind and outcome", ["kind", "outcome"])
JOB_DURATION = Histogram(
    "release_bot_job_duration_seconds",
    "Time a job took, by key kind",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
GITHUB_API_CALLS = Counter(
    "release_bot_github_api_calls",
    "GitHub REST requests made, by installation and status class (2xx, 4xx, ...)",
    ["installation", "status_class"],
)
GITHUB_RATE_LIMIT_REMAINING = Gauge(
    "release_bot_github_rate_limit_remaining",
    "X-RateLimit-Remaining last seen, by installation",
    ["installation"],
    multiprocess_mode="mostrecent",
)



def record_github_call(installation_id: int | None, status: int) -> None:
    """Called by the github layer once per REST request (the app's own JWT calls: installation '-')."""
    GITHUB_API_CALLS.labels(
        installation="-" if installation_id is None else str(installation_id),
        status_class=f"{status // 100}xx",
    ).inc()


def set_rate_limit_remaining(installation_id: int | None, remaining: int) -> None:
    GITHUB_RATE_LIMIT_REMAINING.labels(
        installation="-" if installation_id is None else str(installation_id)
    ).set(remaining)


CountsSource = Callable[[], dict[str, int]]


class QueueDepthCollector(Collector):
    """release_bot_queue_jobs{state=pending|running|failed}, read from the queue at scrape time."""

    def __init__(self, counts: CountsSource) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("release_bot_queue_jobs", "Jobs in the queue by state", labels=["state"])
        for state, n in self._counts().items():
            family.add_metric([state], n)
        yield family


def render_metrics(counts: CountsSource) -> tuple[bytes, str]:
    """The exposition text and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in list(REGISTRY._collector_to_names):  # the process's own metrics
            registry.register(collector)
    registry.register(QueueDepthCollector(counts))
    return generate_latest(registry), CONTENT_TYPE_LATEST
