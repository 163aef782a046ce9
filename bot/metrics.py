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
from typing import Any

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
# outcome: revalidated (304) | refetched (200 to a conditional request) | reused_in_job |
# reused_fresh (no request: bot.github.freshness) | stored | dropped_by_writes
GITHUB_CACHE = Counter("release_bot_github_cache", "The read cache's answers, by outcome", ["outcome"])
GITHUB_CACHE_BYTES = Gauge(
    "release_bot_github_cache_bytes", "Bytes of bodies the read cache holds", multiprocess_mode="livesum"
)
GITHUB_CACHE_ENTRIES = Gauge(
    "release_bot_github_cache_entries", "Answers the read cache holds", multiprocess_mode="livesum"
)
GITHUB_PACING_WAIT = Histogram(
    "release_bot_github_pacing_wait_seconds",
    "Time a request waited for the pacer (GitHub's secondary limits), requeued waits included",
    buckets=(0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)
GITHUB_PACING_WAIT_MAX = Gauge(
    "release_bot_github_pacing_wait_max_seconds",
    "The longest pacing wait since the process started",
    multiprocess_mode="max",
)


def record_cache(outcome: str, entries: int, size: int) -> None:
    GITHUB_CACHE.labels(outcome=outcome).inc()
    GITHUB_CACHE_ENTRIES.set(entries)
    GITHUB_CACHE_BYTES.set(size)


_pacing_max = 0.0


def record_pacing_wait(seconds: float) -> None:
    global _pacing_max
    GITHUB_PACING_WAIT.observe(seconds)
    if seconds > _pacing_max:
        _pacing_max = seconds
        GITHUB_PACING_WAIT_MAX.set(seconds)


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


class QueueBacklogCollector(Collector):
    """The shared queue's backlog at scrape time: waiting jobs per installation, the oldest waiting
    job's age and the dead letters (any web process answers for the whole queue)."""

    def __init__(self, stats: Callable[[], Any]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self._stats()
        depth = GaugeMetricFamily("release_bot_queue_pending_by_installation", "Waiting jobs by installation",
                                  labels=["installation"])
        for installation, n in sorted(stats.pending_by_installation.items()):
            depth.add_metric([installation], n)
        yield depth
        oldest = stats.oldest_waiting_seconds or 0.0
        yield GaugeMetricFamily("release_bot_queue_oldest_waiting_seconds",
                                "Age of the job waiting longest (0: none)", value=oldest)
        yield GaugeMetricFamily("release_bot_queue_dead_letters", "Dead-lettered jobs kept for operators",
                                value=stats.counts.failed)


def render_metrics(counts: CountsSource, stats: Callable[[], Any] | None = None) -> tuple[bytes, str]:
    """The exposition text and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in list(REGISTRY._collector_to_names):  # the process's own metrics
            registry.register(collector)
    registry.register(QueueDepthCollector(counts))
    if stats is not None:
        registry.register(QueueBacklogCollector(stats))
    return generate_latest(registry), CONTENT_TYPE_LATEST
