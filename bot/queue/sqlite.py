"""The embedded work queue: one SQLite file in WAL mode (QUEUE_URL=sqlite:///path).

Why SQLite: the default deployment is one machine (`release-bot serve`), and a WAL database gives
durable, multi-process, multi-thread access with no server to run. Every write is a short
``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so two writers never deadlock
upgrading read locks) with ``synchronous=FULL``: when ``accept_delivery`` returns, the delivery and
its jobs are on disk, which is what allows intake to answer 202.

Writers queue on an advisory ``flock`` of ``<db>.lock`` before ``BEGIN IMMEDIATE``: the kernel
hands the lock to the next waiter the moment it is released, where SQLite's own busy handler
polls with sleeps of 1 to 100 ms (which made tail latencies of tens of milliseconds under several
gunicorn processes). ``accept_delivery`` group-commits: concurrent deliveries in one process share
one transaction and one fsync, and none returns before that commit.

Rows: ``jobs`` holds live jobs (at most one pending-or-running row per key, enforced by a partial
unique index) and dead-lettered ones (state ``failed``, kept for operators). A key enqueued while
it runs is recorded in the running row (``dirty``, ``dirty_hints``) and turned back into a pending
row when that run ends. ``wakeups`` holds the timed wake-ups (``schedule``), one per key, turned
into enqueues by the claim that finds them due. Connections are per process and thread (sqlite3
connections must not cross threads, and a connection inherited over gunicorn's fork must not be used).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.jobs import JobSpec
from bot.queue import sqlite_wakeups
from bot.queue.base import (
    FAILED,
    PENDING,
    RUNNING,
    FinishResult,
    Job,
    JobQueue,
    QueueCounts,
    RetryPolicy,
    Wakeup,
)
from bot.queue.group_commit import Acceptance, GroupCommit
from bot.queue.hints import merge_hints
from bot.queue.sqlite_schema import JOB_COLUMNS, SCHEMA, UPSERT_PLAIN, UPSERT_STATE

FAILED_RETENTION_SECONDS = 14 * 24 * 3600  # dead letters are for people to look at, not forever
PURGE_EVERY_N_DELIVERIES = 1000  # on average: expired ids are swept as intake goes, no cron needed


def _hints_with_dirty(row: sqlite3.Row) -> dict[str, Any]:
    """A live row's hints plus those that arrived while it ran: a run that starts (claim) or goes
    back to waiting (retry) must look at every place any of its events pointed to."""
    hints: dict[str, Any] = json.loads(row["hints"])
    if row["dirty"]:
        hints = merge_hints(hints, json.loads(row["dirty_hints"] or "{}"))
    return hints


class SqliteQueue(JobQueue):
    def __init__(
        self,
        path: str,
        retry_policy: RetryPolicy | None = None,
        delivery_ttl_seconds: int = 3 * 24 * 3600,
        clock: Any = time.time,
    ) -> None:
        self.path = path
        self.retry_policy = retry_policy or RetryPolicy()
        self.delivery_ttl_seconds = delivery_ttl_seconds
        self._clock = clock
        self._local = threading.local()
        self._lock_path = None if path == ":memory:" else os.path.abspath(path) + ".lock"
        self._group = GroupCommit()
        self._max_pages: int | None = None  # cap_size
        if path != ":memory:":
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
        self._init_schema()

    # --- connections and transactions ---

    def _conn(self) -> sqlite3.Connection:
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != pid:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at each commit, so an accepted delivery survives power loss.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            if self._max_pages is not None:
                conn.execute(f"PRAGMA max_page_count={int(self._max_pages)}")
            self._local.conn = conn
            self._local.pid = pid
            # One open file description per thread: flock excludes other threads as well as
            # other processes only when they do not share the descriptor.
            self._local.lock_fd = (
                os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                if self._lock_path
                else None
            )
        return conn

    def _init_schema(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def cap_size(self, max_bytes: int) -> None:
        """Cap the database at ``max_bytes`` (QUEUE_MAX_BYTES): past it a write fails with
        SQLITE_FULL ("database or disk is full"), exactly as on a full disk, and rolls back whole.
        Call before other threads use the queue (connections read the cap when they open)."""
        conn = self._conn()
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        self._max_pages = max(1, max_bytes // page_size)
        conn.execute(f"PRAGMA max_page_count={self._max_pages}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        lock_fd = self._local.lock_fd
        if lock_fd is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back (SQLITE_FULL in a COMMIT does): a ROLLBACK
                # then fails and would hide the error that matters.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
            if self._local.lock_fd is not None:
                os.close(self._local.lock_fd)
        self._local = threading.local()

    # --- intake ---

    def accept_delivery(self, delivery_id: str, jobs: list[JobSpec]) -> bool:
        group = self._group
        if group.pid != os.getpid():  # inherited over a fork: start afresh
            group = self._group = GroupCommit()
        item = Acceptance(delivery_id, jobs)
        if not group.join(item):
            item.done.acquire()  # committed by another thread, or elected to lead the next batch
        if not item.settled:
            self._lead(group)  # ``item`` is still pending, so it is part of the batch committed
        if item.error is not None:
            raise item.error
        return bool(item.accepted)

    def _lead(self, group: GroupCommit) -> None:
        """Commit one batch: every delivery that arrived while the previous batch waited for the
        write lock or its fsync. Then wake the next leader first (its batch can start while this
        one's threads answer) and the batch's waiters."""
        batch: list[Acceptance] = []
        try:
            with self._write() as db:
                batch = group.take()
                now = self._clock()
                self._accept_batch(db, batch, now)
                if random.random() < len(batch) / PURGE_EVERY_N_DELIVERIES:
                    db.execute(
                        "DELETE FROM deliveries WHERE received_at < ?", (now - self.delivery_ttl_seconds,)
                    )
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter of the batch
            batch = batch or group.take()
            for item in batch:
                item.accepted, item.error = None, exc
        successor = group.successor()
        if successor is not None:
            successor.done.release()
        for item in batch:
            item.done.release()

    def _accept_batch(self, db: sqlite3.Connection, batch: list[Acceptance], now: float) -> None:
        """Record a batch of deliveries with as few statements as possible: the leader holds the
        cross-process write lock meanwhile, and every statement is a point where it may have to
        wait for the GIL behind the process's other request threads."""
        seen: dict[str, float] = {}
        for start in range(0, len(batch), 500):  # SQLite's bound-parameter limit
            ids = [item.delivery_id for item in batch[start : start + 500]]
            marks = ",".join("?" * len(ids))
            seen.update(
                db.execute(f"SELECT id, received_at FROM deliveries WHERE id IN ({marks})", ids).fetchall()
            )
        fresh: list[Acceptance] = []
        renewed: list[str] = []
        for item in batch:
            received = seen.get(item.delivery_id)
            if received is not None and received >= now - self.delivery_ttl_seconds:
                item.accepted = False  # a redelivery (or the same id twice in this batch)
                continue
            if received is not None:
                # Past the retention window: GitHub cannot redeliver it anymore, so it is new.
                renewed.append(item.delivery_id)
            seen[item.delivery_id] = now
            item.accepted = True
            fresh.append(item)
        new_ids = [(item.delivery_id, now) for item in fresh if item.delivery_id not in renewed]
        if new_ids:
            db.executemany("INSERT INTO deliveries (id, received_at) VALUES (?, ?)", new_ids)
        if renewed:
            db.executemany("UPDATE deliveries SET received_at = ? WHERE id = ?", [(now, i) for i in renewed])
        plain: list[tuple[Any, ...]] = []
        for item in fresh:
            for spec in item.jobs:
                if spec.hints:
                    self._enqueue_one(db, spec, now)
                else:
                    plain.append((spec.key, spec.installation_id, spec.repo, spec.reason, now, now, now))
        if plain:
            db.executemany(UPSERT_PLAIN, plain)

    def enqueue(self, jobs: list[JobSpec]) -> None:
        if not jobs:
            return
        now = self._clock()
        with self._write() as db:
            for spec in jobs:
                self._enqueue_one(db, spec, now)

    def _enqueue_one(self, db: sqlite3.Connection, spec: JobSpec, now: float) -> None:
        if not spec.hints:
            # Nothing to merge (most events): one upsert does insert-or-coalesce-or-mark-dirty.
            db.execute(UPSERT_PLAIN, (spec.key, spec.installation_id, spec.repo, spec.reason, now, now, now))
            return
        live = db.execute(
            "SELECT id, state, hints, dirty_hints FROM jobs"
            " WHERE key = ? AND state IN ('pending', 'running')",
            (spec.key,),
        ).fetchone()
        if live is None:
            db.execute(
                "INSERT INTO jobs (key, installation_id, repo, reason, hints, state, attempts, not_before,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                (
                    spec.key,
                    spec.installation_id,
                    spec.repo,
                    spec.reason,
                    json.dumps(spec.hints),
                    now,
                    now,
                    now,
                ),
            )
        elif live["state"] == PENDING:
            # Coalesce: one waiting job per key. Its due time is kept, so a key in backoff or
            # waiting out a rate limit is not hurried by a burst of events.
            hints = json.dumps(merge_hints(json.loads(live["hints"]), spec.hints))
            db.execute(
                "UPDATE jobs SET hints = ?, reason = ?, installation_id = COALESCE(?, installation_id),"
                " repo = COALESCE(?, repo), updated_at = ? WHERE id = ?",
                (hints, spec.reason, spec.installation_id, spec.repo, now, live["id"]),
            )
        else:
            # Running: what it read may already be stale, so it must run once more afterwards.
            dirty = merge_hints(json.loads(live["dirty_hints"] or "{}"), spec.hints)
            db.execute(
                "UPDATE jobs SET dirty = 1, dirty_hints = ?, updated_at = ? WHERE id = ?",
                (json.dumps(dirty), now, live["id"]),
            )

    # --- timed wake-ups (bot/queue/sqlite_wakeups.py) ---

    def _keep_wakeup(self, spec: JobSpec, at: float) -> None:
        with self._write() as db:
            sqlite_wakeups.keep(db, spec, at)

    def list_wakeups(self, limit: int = 1000) -> list[Wakeup]:
        return sqlite_wakeups.listed(self._conn(), limit)

    def _wake_due(self, now: float) -> None:
        if not sqlite_wakeups.any_due(self._conn(), now):
            return  # the common case, a read without the write lock
        with self._write() as db:
            sqlite_wakeups.wake_due(db, now)

    # --- workers ---

    def has_runnable(self) -> bool:
        """A cheap read (no write lock) so idle workers can poll without contending with intake."""
        now = self._clock()
        row = (
            self._conn()
            .execute(
                "SELECT 1 FROM jobs WHERE (state = 'pending' AND not_before <= ?)"
                " OR (state = 'running' AND lease_expires < ?) LIMIT 1",
                (now, now),
            )
            .fetchone()
        )
        return row is not None

    def claim(self, lease_seconds: float) -> Job | None:
        self._wake_due(self._clock())
        if not self.has_runnable():
            return None
        now = self._clock()
        token = uuid.uuid4().hex
        with self._write() as db:
            row = db.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'pending' AND not_before <= ?"
                " ORDER BY not_before, id LIMIT 1",
                (now,),
            ).fetchone()
            if row is None:
                # A running job whose lease lapsed: its process died (or hung) mid-job.
                row = db.execute(
                    f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'running' AND lease_expires < ?"
                    " ORDER BY lease_expires LIMIT 1",
                    (now,),
                ).fetchone()
            if row is None:
                return None
            hints = _hints_with_dirty(row)
            db.execute(
                "UPDATE jobs SET state = 'running', claim_token = ?, lease_expires = ?,"
                " attempts = attempts + 1, hints = ?, dirty = 0, dirty_hints = NULL, updated_at = ?"
                " WHERE id = ?",
                (token, now + lease_seconds, json.dumps(hints), now, row["id"]),
            )
        return Job(
            id=row["id"],
            spec=JobSpec(row["key"], row["installation_id"], row["repo"], row["reason"], hints),
            state=RUNNING,
            attempts=row["attempts"] + 1,
            not_before=row["not_before"],
            claim_token=token,
            last_error=row["last_error"],
            created_at=row["created_at"],
            updated_at=now,
        )

    def renew(self, job: Job, lease_seconds: float) -> bool:
        now = self._clock()
        with self._write() as db:
            changed = db.execute(
                "UPDATE jobs SET lease_expires = ? WHERE id = ? AND claim_token = ? AND state = 'running'",
                (now + lease_seconds, job.id, job.claim_token),
            ).rowcount
        return bool(changed)

    def _owned(self, db: sqlite3.Connection, job: Job) -> sqlite3.Row | None:
        return db.execute(
            "SELECT id, key, installation_id, repo, reason, hints, attempts, dirty, dirty_hints FROM jobs"
            " WHERE id = ? AND claim_token = ? AND state = 'running'",
            (job.id, job.claim_token),
        ).fetchone()

    def complete(self, job: Job) -> FinishResult:
        now = self._clock()
        with self._write() as db:
            row = self._owned(db, job)
            if row is None:
                return FinishResult(stale=True)
            if row["dirty"]:
                db.execute(
                    "UPDATE jobs SET state = 'pending', hints = ?, attempts = 0, not_before = ?,"
                    " claim_token = NULL, lease_expires = NULL, dirty = 0, dirty_hints = NULL,"
                    " last_error = NULL, updated_at = ? WHERE id = ?",
                    (row["dirty_hints"] or "{}", now, now, row["id"]),
                )
                return FinishResult(requeued=True)
            db.execute("DELETE FROM jobs WHERE id = ?", (row["id"],))
        return FinishResult()

    def fail(self, job: Job, error: str) -> FinishResult:
        now = self._clock()
        with self._write() as db:
            row = self._owned(db, job)
            if row is None:
                return FinishResult(stale=True)
            if row["attempts"] >= self.retry_policy.max_attempts:
                self._dead_letter(db, row, error, permanent=False, now=now)
                return FinishResult(dead_lettered=True, requeued=bool(row["dirty"]))
            hints = _hints_with_dirty(row)
            db.execute(
                "UPDATE jobs SET state = 'pending', hints = ?, not_before = ?, claim_token = NULL,"
                " lease_expires = NULL, dirty = 0, dirty_hints = NULL, last_error = ?, updated_at = ?"
                " WHERE id = ?",
                (json.dumps(hints), now + self.retry_policy.delay(row["attempts"]), error, now, row["id"]),
            )
        return FinishResult(requeued=True)

    def fail_permanently(self, job: Job, reason: str) -> FinishResult:
        now = self._clock()
        with self._write() as db:
            row = self._owned(db, job)
            if row is None:
                return FinishResult(stale=True)
            self._dead_letter(db, row, reason, permanent=True, now=now)
        return FinishResult(dead_lettered=True, requeued=bool(row["dirty"]))

    def _dead_letter(
        self, db: sqlite3.Connection, row: sqlite3.Row, error: str, permanent: bool, now: float
    ) -> None:
        db.execute(
            "UPDATE jobs SET state = 'failed', claim_token = NULL, lease_expires = NULL, dirty = 0,"
            " dirty_hints = NULL, last_error = ?, permanent = ?, updated_at = ? WHERE id = ?",
            (error, int(permanent), now, row["id"]),
        )
        if row["dirty"]:
            # Events arrived while it ran: they deserve a fresh run of their own.
            db.execute(
                "INSERT INTO jobs (key, installation_id, repo, reason, hints, state, attempts, not_before,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                (
                    row["key"],
                    row["installation_id"],
                    row["repo"],
                    row["reason"],
                    row["dirty_hints"] or "{}",
                    now,
                    now,
                    now,
                ),
            )

    def retry_later(self, job: Job, not_before: float, reason: str) -> FinishResult:
        now = self._clock()
        with self._write() as db:
            row = self._owned(db, job)
            if row is None:
                return FinishResult(stale=True)
            hints = _hints_with_dirty(row)
            db.execute(
                "UPDATE jobs SET state = 'pending', hints = ?, not_before = ?,"
                " attempts = MAX(0, attempts - 1), claim_token = NULL, lease_expires = NULL, dirty = 0,"
                " dirty_hints = NULL, last_error = ?, updated_at = ? WHERE id = ?",
                (json.dumps(hints), max(not_before, now), reason, now, row["id"]),
            )
        return FinishResult(requeued=True)

    # --- operators ---

    def counts(self) -> QueueCounts:
        rows = self._conn().execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetchall()
        by_state = {row["state"]: row["n"] for row in rows}
        return QueueCounts(by_state.get(PENDING, 0), by_state.get(RUNNING, 0), by_state.get(FAILED, 0))

    def list_jobs(self, states: tuple[str, ...] = (PENDING, RUNNING, FAILED), limit: int = 1000) -> list[Job]:
        marks = ",".join("?" for _ in states)
        rows = (
            self._conn()
            .execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ({marks}) ORDER BY id LIMIT ?",
                (*states, limit),
            )
            .fetchall()
        )
        return [self._to_job(row) for row in rows]

    @staticmethod
    def _to_job(row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"],
            spec=JobSpec(
                row["key"], row["installation_id"], row["repo"], row["reason"], json.loads(row["hints"])
            ),
            state=row["state"],
            attempts=row["attempts"],
            not_before=row["not_before"],
            claim_token=None,
            last_error=row["last_error"],
            permanent=bool(row["permanent"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def retry(self, job_id: int) -> bool:
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                "SELECT id, key, installation_id, repo, reason, hints FROM jobs"
                " WHERE id = ? AND state = 'failed'",
                (job_id,),
            ).fetchone()
            if row is None:
                return False
            live = db.execute(
                "SELECT id FROM jobs WHERE key = ? AND state IN ('pending', 'running')", (row["key"],)
            ).fetchone()
            if live is not None:
                # The key is already waiting or running: fold the dead letter into it.
                db.execute("DELETE FROM jobs WHERE id = ?", (row["id"],))
                spec = JobSpec(
                    row["key"], row["installation_id"], row["repo"], row["reason"], json.loads(row["hints"])
                )
                self._enqueue_one(db, spec, now)
            else:
                db.execute(
                    "UPDATE jobs SET state = 'pending', attempts = 0, not_before = ?, permanent = 0,"
                    " updated_at = ? WHERE id = ?",
                    (now, now, row["id"]),
                )
        return True

    def drop(self, job_id: int) -> bool:
        with self._write() as db:
            return bool(
                db.execute(
                    "DELETE FROM jobs WHERE id = ? AND state IN ('pending', 'failed')", (job_id,)
                ).rowcount
            )

    def drop_installation(self, installation_id: int, repos: list[str] | None = None) -> int:
        with self._write() as db:
            # Its timed wake-ups go too (not counted: they are no waiting jobs).
            if repos is None:
                db.execute("DELETE FROM wakeups WHERE installation_id = ?", (installation_id,))
            else:
                db.executemany(
                    "DELETE FROM wakeups WHERE installation_id = ? AND repo = ?",
                    [(installation_id, repo) for repo in repos],
                )
            if repos is None:
                return db.execute(
                    "DELETE FROM jobs WHERE installation_id = ? AND state = 'pending'", (installation_id,)
                ).rowcount
            dropped = 0
            for repo in repos:
                dropped += db.execute(
                    "DELETE FROM jobs WHERE installation_id = ? AND repo = ? AND state = 'pending'",
                    (installation_id, repo),
                ).rowcount
            return dropped

    def purge_expired(self) -> None:
        now = self._clock()
        with self._write() as db:
            db.execute("DELETE FROM deliveries WHERE received_at < ?", (now - self.delivery_ttl_seconds,))
            db.execute(
                "DELETE FROM jobs WHERE state = 'failed' AND updated_at < ?",
                (now - FAILED_RETENTION_SECONDS,),
            )

    def delivery_seen(self, delivery_id: str) -> bool:
        row = (
            self._conn()
            .execute(
                "SELECT 1 FROM deliveries WHERE id = ? AND received_at >= ?",
                (delivery_id, self._clock() - self.delivery_ttl_seconds),
            )
            .fetchone()
        )
        return row is not None

    # --- key-value store ---

    def get_state(self, name: str) -> Any | None:
        row = self._conn().execute("SELECT value FROM kv WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row["value"])

    def set_state(self, name: str, value: Any) -> None:
        encoded = json.dumps(value)
        with self._write() as db:
            db.execute(UPSERT_STATE, (name, encoded, self._clock()))

    def update_state(self, name: str, change: Callable[[Any | None], Any]) -> Any:
        # Read and write inside one write transaction: every writer (threads and processes) is
        # serialised by the flock + BEGIN IMMEDIATE of _write, so no concurrent update is lost.
        with self._write() as db:
            row = db.execute("SELECT value FROM kv WHERE name = ?", (name,)).fetchone()
            value = change(None if row is None else json.loads(row["value"]))
            db.execute(UPSERT_STATE, (name, json.dumps(value), self._clock()))
        return value
