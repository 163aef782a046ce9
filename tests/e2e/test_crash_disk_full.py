"""Issue 16 item 4: the disk fills up under a running bot (SQLite's SQLITE_FULL).

The bot's store is capped (QUEUE_MAX_BYTES, SQLite's ``max_page_count``: a write past it fails
with SQLITE_FULL, "database or disk is full", exactly as on a full disk) at the size it has once a
ballast row — standing for the rest of the disk — is added. People keep working; the deliveries
the store cannot take are answered 503, so GitHub records them as failed, and none of them is
half-written (no delivery id, no job). Then space is freed (the ballast deleted, as an operator
deletes files; no restart) and the bot's scheduled redelivery scan gets every failed delivery
sent again: the release ends as if the disk had never been full.

(A real full filesystem, a small tmpfs, needs root to mount; the page cap behaves the same for
SQLite and runs anywhere.)
"""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

import httpx
import pytest

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"
BALLAST = "test:ballast"

pytestmark = pytest.mark.e2e


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _db(e2e: Any) -> sqlite3.Connection:
    conn = sqlite3.connect(e2e.bot.workdir / "queue.db", timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@pytest.mark.reliability(area="crash", case="disk full (SQLITE_FULL) under webhooks", trials=1)
def test_a_full_disk_answers_503_writes_nothing_and_heals_once_space_is_freed(e2e: Any) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    m = pm.post(f"{REPO}/milestones", json={"title": "v8.0.0", "due_on": "2030-12-01T00:00:00Z"}).json()[
        "number"
    ]
    e2e.settle()
    tracking = next(
        i for i in pm.get(f"{REPO}/issues", params={"milestone": m}).json() if i["user"]["login"] == BOT
    )

    # The disk is nearly full: ballast, then a cap at exactly the store's size.
    assert e2e.bot.stop() == 0
    with _db(e2e) as conn:
        conn.execute(
            "INSERT INTO kv (name, value, updated_at) VALUES (?, ?, 0)", (BALLAST, '"' + "x" * 400_000 + '"')
        )
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    e2e.bot.env.update(QUEUE_MAX_BYTES=str(pages * page_size), REDELIVERY_INTERVAL="1")
    e2e.bot.start()
    first = e2e.deliveries_count()

    for n in range(40):
        assert dev.post(f"{REPO}/issues", json={"title": f"Item {n}", "milestone": m}).status_code == 201
    e2e.sandbox.wait_idle(30)
    with e2e.sandbox.state.lock:
        burst = e2e.sandbox.state.deliveries[first:]
        refused = [d.guid for d in burst if d.status_code == 503]
    assert refused, "the store never filled up"
    assert all(
        '"error"' in d.response_body and d.response_headers.get("retry-after") == "60"
        for d in burst
        if d.status_code == 503
    )
    assert {d.status_code for d in burst} <= {202, 503}
    # Nothing of a refused delivery was written: no delivery id, no job waiting for it.
    with _db(e2e) as conn:
        marks = ",".join("?" * len(refused))
        stored = conn.execute(f"SELECT COUNT(*) FROM deliveries WHERE id IN ({marks})", refused).fetchone()[0]
    assert stored == 0
    metrics = httpx.get(e2e.bot.url + "/metrics", timeout=10).text
    assert re.search(
        r'release_bot_webhook_events_total\{event="issues",outcome="unavailable"\} [1-9]', metrics
    ), metrics
    assert "database or disk is full" in e2e.bot.logs()

    # Space is freed (no restart): the scheduled scan has the failed deliveries sent again.
    with _db(e2e) as conn:
        conn.execute("DELETE FROM kv WHERE name = ?", (BALLAST,))

    def healed() -> bool:
        with e2e.sandbox.state.lock:
            ok = {d.guid for d in e2e.sandbox.state.deliveries if d.status == "OK"}
        return set(refused) <= ok

    _wait(healed, 60, "every refused delivery redelivered and accepted")
    e2e.settle()
    body = pm.get(f"{REPO}/issues/{tracking['number']}").json()["body"]
    assert re.search(r"^- Issues: 40 open, 0 closed$", body, re.M), body
    assert "pending=0 running=0 failed=0" in e2e.bot.jobs()
