"""The SQLite queue's timed wake-ups (``JobQueue.schedule``; table ``wakeups`` in sqlite_schema.py).

One row per key with the earliest moment asked for. A claim that finds some due turns them into
enqueues in the transaction that deletes them, so a crash neither loses nor doubles one. Unlike an
event's enqueue, a due wake-up hurries a waiting job of its key to run now: the moment must not wait
out a later due time (backoff, a rate limit's reset). A running job is marked dirty (it runs once
more when it ends). Functions over a connection the caller holds (inside ``SqliteQueue._write``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from bot.jobs import JobSpec
from bot.queue.base import PENDING, Wakeup
from bot.queue.hints import merge_hints
from bot.queue.sqlite_schema import UPSERT_WAKEUP

WAKE_BATCH = 500  # due wake-ups enqueued per claim: after downtime the backlog drains in short steps


def keep(db: sqlite3.Connection, spec: JobSpec, at: float) -> None:
    fields = (spec.key, spec.installation_id, spec.repo, spec.reason, json.dumps(spec.hints), at)
    db.execute(UPSERT_WAKEUP, fields)


def listed(db: sqlite3.Connection, limit: int) -> list[Wakeup]:
    rows = db.execute(
        "SELECT key, installation_id, repo, reason, hints, at FROM wakeups ORDER BY at, key LIMIT ?", (limit,)
    ).fetchall()
    return [
        Wakeup(
            JobSpec(row["key"], row["installation_id"], row["repo"], row["reason"], json.loads(row["hints"])),
            row["at"],
        )
        for row in rows
    ]


def any_due(db: sqlite3.Connection, now: float) -> bool:
    return db.execute("SELECT 1 FROM wakeups WHERE at <= ? LIMIT 1", (now,)).fetchone() is not None


def wake_due(db: sqlite3.Connection, now: float) -> None:
    due = db.execute(
        "SELECT key, installation_id, repo, reason, hints FROM wakeups WHERE at <= ? ORDER BY at LIMIT ?",
        (now, WAKE_BATCH),
    ).fetchall()
    for wake in due:
        _wake_one(db, wake, now)
        db.execute("DELETE FROM wakeups WHERE key = ?", (wake["key"],))


def _wake_one(db: sqlite3.Connection, wake: sqlite3.Row, now: float) -> None:
    hints: dict[str, Any] = json.loads(wake["hints"])
    live = db.execute(
        "SELECT id, state, hints, dirty_hints FROM jobs WHERE key = ? AND state IN ('pending', 'running')",
        (wake["key"],),
    ).fetchone()
    if live is None:
        db.execute(
            "INSERT INTO jobs (key, installation_id, repo, reason, hints, state, attempts, not_before,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
            (wake["key"], wake["installation_id"], wake["repo"], wake["reason"], wake["hints"])
            + (now, now, now),
        )
    elif live["state"] == PENDING:
        merged = json.dumps(merge_hints(json.loads(live["hints"]), hints))
        db.execute(
            "UPDATE jobs SET hints = ?, not_before = MIN(not_before, ?), updated_at = ? WHERE id = ?",
            (merged, now, now, live["id"]),
        )
    else:
        dirty = json.dumps(merge_hints(json.loads(live["dirty_hints"] or "{}"), hints))
        db.execute(
            "UPDATE jobs SET dirty = 1, dirty_hints = ?, updated_at = ? WHERE id = ?",
            (dirty, now, live["id"]),
        )
