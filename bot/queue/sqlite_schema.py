"""The SQLite queue's schema and its longer statements (``bot.queue.sqlite``)."""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT    NOT NULL,
    installation_id INTEGER,
    repo            TEXT,
    reason          TEXT    NOT NULL DEFAULT '',
    hints           TEXT    NOT NULL DEFAULT '{}',
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      REAL    NOT NULL,
    claim_token     TEXT,
    lease_expires   REAL,
    dirty           INTEGER NOT NULL DEFAULT 0,
    dirty_hints     TEXT,
    last_error      TEXT,
    permanent       INTEGER NOT NULL DEFAULT 0,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_live_key ON jobs(key) WHERE state IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS jobs_state_due ON jobs(state, not_before);
CREATE INDEX IF NOT EXISTS jobs_installation ON jobs(installation_id, state);
CREATE TABLE IF NOT EXISTS deliveries (
    id          TEXT PRIMARY KEY,
    received_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_received ON deliveries(received_at);
CREATE TABLE IF NOT EXISTS wakeups (
    key             TEXT PRIMARY KEY,
    installation_id INTEGER,
    repo            TEXT,
    reason          TEXT NOT NULL DEFAULT '',
    hints           TEXT NOT NULL DEFAULT '{}',
    at              REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS wakeups_at ON wakeups(at);
CREATE TABLE IF NOT EXISTS kv (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;
"""

# Enqueue a job without hints: insert it, or coalesce into the waiting row, or mark the running
# row dirty so it runs once more (the conflict target is the partial unique index of live keys).
UPSERT_PLAIN = (
    "INSERT INTO jobs (key, installation_id, repo, reason, hints, state, attempts, not_before,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, '{}', 'pending', 0, ?, ?, ?)"
    " ON CONFLICT(key) WHERE state IN ('pending', 'running') DO UPDATE SET"
    " reason = excluded.reason, updated_at = excluded.updated_at,"
    " installation_id = COALESCE(excluded.installation_id, installation_id),"
    " repo = COALESCE(excluded.repo, repo),"
    " dirty = CASE WHEN state = 'running' THEN 1 ELSE dirty END,"
    " dirty_hints = CASE WHEN state = 'running' THEN COALESCE(dirty_hints, '{}') ELSE dirty_hints END"
)

UPSERT_STATE = (
    "INSERT INTO kv (name, value, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)

JOB_COLUMNS = (
    "id, key, installation_id, repo, reason, hints, state, attempts, not_before, claim_token, "
    "last_error, permanent, created_at, updated_at, dirty, dirty_hints"
)

# A timed wake-up (``JobQueue.schedule``): one row per key, the earliest moment kept.
UPSERT_WAKEUP = (
    "INSERT INTO wakeups (key, installation_id, repo, reason, hints, at) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(key) DO UPDATE SET at = MIN(at, excluded.at),"
    " installation_id = COALESCE(excluded.installation_id, installation_id),"
    " repo = COALESCE(excluded.repo, repo), reason = excluded.reason, hints = excluded.hints"
)
