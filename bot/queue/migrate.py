"""`release-bot queue migrate FROM TO`: move queued work and the bot's state between backends.

What is copied: every waiting and running job (a running job's process is expected to be stopped;
if it still runs, the key runs once more on the target, which at-least-once allows), the delivery
ids seen within the retention window (so a redelivery arriving after the move is still recognized)
and the key-value state (last valid configurations, hints, caches). Dead letters stay in the
source for people to read unless ``include_failed`` queues them afresh. The source is left as it
was, so a move that stopped half-way can simply be run again: enqueues coalesce.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from bot.queue.base import FAILED, PENDING, RUNNING, JobQueue, sqlite_path


@dataclass
class MigrationReport:
    jobs: int = 0
    failed_requeued: int = 0
    failed_left: int = 0
    deliveries: int = 0
    state: int = 0
    wakeups: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _sqlite_rows(queue_url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    path = sqlite_path(queue_url)
    if path is None:
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def _deliveries(source: JobQueue, source_url: str) -> list[str]:
    client = getattr(source, "client", None)
    if client is not None:  # Redis: the ids that have not expired
        prefix = f"{source.prefix}delivery:"  # type: ignore[attr-defined]
        return [
            key[len(prefix) :]
            for key in client.scan_iter(match=prefix + "*", count=500)
            if source.delivery_seen(key[len(prefix) :])
        ]  # type: ignore[attr-defined]
    horizon = time.time() - getattr(source, "delivery_ttl_seconds", 3 * 24 * 3600)
    return [
        row[0]
        for row in _sqlite_rows(source_url, "SELECT id FROM deliveries WHERE received_at >= ?", (horizon,))
    ]


def _state(source: JobQueue, source_url: str) -> list[tuple[str, Any]]:
    items = getattr(source, "state_items", None)
    if items is not None:
        return items()
    import json

    return [
        (name, json.loads(value))
        for name, value in _sqlite_rows(source_url, "SELECT name, value FROM kv", ())
    ]


def migrate(
    source: JobQueue, source_url: str, target: JobQueue, include_failed: bool = False
) -> MigrationReport:
    report = MigrationReport()
    for name, value in _state(source, source_url):
        target.set_state(name, value)
        report.state += 1
    for delivery_id in _deliveries(source, source_url):
        target.accept_delivery(delivery_id, [])  # remembered from now: at worst a little longer
        report.deliveries += 1
    live = source.list_jobs((PENDING, RUNNING), limit=10**9)
    target.enqueue([job.spec for job in live])
    report.jobs = len(live)
    for wakeup in source.list_wakeups(limit=10**9):
        target.schedule(wakeup.spec, wakeup.at)  # one past its moment while moving runs now
        report.wakeups += 1
    failed = source.list_jobs((FAILED,), limit=10**9)
    if include_failed:
        target.enqueue([job.spec for job in failed])
        report.failed_requeued = len(failed)
    else:
        report.failed_left = len(failed)
    return report
