"""`release-bot queue migrate FROM TO`: from the single-process SQLite store to Redis and back,
nothing queued is lost, a delivery seen before the move is still a duplicate after it, and the
last valid configuration comes along."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.jobs import JobSpec
from bot.queue.base import open_queue
from bot.queue.redis_queue import RedisQueue
from bot.queue.sqlite import SqliteQueue

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", command, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_sqlite_to_redis_and_back_keeps_every_queued_key(tmp_path, redis_url):
    source_url = f"sqlite:///{tmp_path / 'release-bot.db'}"
    source = SqliteQueue(str(tmp_path / "release-bot.db"))
    source.accept_delivery("d-1", [JobSpec("pr:1#2", 7, "acme/rocket", "opened", {"comment_ids": [5]})])
    source.enqueue([JobSpec("repo:1", 8, "acme/jet", "push")])
    interrupted = source.claim(30)  # its process is stopped for the move: the key must run on Redis
    source.enqueue([JobSpec("release:1@3", 7, "acme/rocket", "milestone")])
    dead = source.claim(30)
    source.fail_permanently(dead, "gone")
    source.set_state("config:last-valid:acme/rocket", {"gate": {"check_name": "x"}})
    at = time.time() + 3600  # a timed wake-up (a freeze's first day) moves with the jobs
    source.schedule(JobSpec("release:1@4", 7, "acme/rocket", "wakeup"), at)
    source.close()

    moved = _cli("queue", "migrate", source_url, redis_url)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout) == {
        "jobs": 2,
        "failed_requeued": 0,
        "failed_left": 1,
        "deliveries": 1,
        "state": 1,
        "wakeups": 1,
    }
    target = RedisQueue(redis_url)
    assert [(w.key, w.at, w.spec.repo) for w in target.list_wakeups()] == [("release:1@4", at, "acme/rocket")]
    jobs = {j.key: j for j in target.list_jobs()}
    assert set(jobs) == {"pr:1#2", "release:1@3"} and interrupted.key in jobs
    assert jobs["pr:1#2"].spec.hints == {"comment_ids": [5]} and jobs["pr:1#2"].spec.installation_id == 7
    assert not target.accept_delivery("d-1", [])  # a redelivery after the move is still a duplicate
    assert target.get_state("config:last-valid:acme/rocket") == {"gate": {"check_name": "x"}}

    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    SqliteQueue(str(tmp_path / "back.db")).close()
    again = _cli("queue", "migrate", redis_url, back_url)
    assert again.returncode == 0, again.stderr
    back = open_queue(back_url)
    assert {j.key for j in back.list_jobs()} == {"pr:1#2", "release:1@3"}
    assert [(w.key, w.at) for w in back.list_wakeups()] == [("release:1@4", at)]
    assert back.get_state("config:last-valid:acme/rocket") == {"gate": {"check_name": "x"}}


@pytest.mark.reliability(area="bad input", case="queue migrate with a missing store or a bad URL", trials=2)
def test_migrate_refuses_a_missing_store_or_a_bad_url(tmp_path):
    missing = _cli("queue", "migrate", f"sqlite:///{tmp_path / 'nope.db'}", "redis://127.0.0.1:1/0")
    assert missing.returncode == 2 and "no SQLite store" in missing.stderr
    bad = _cli("queue", "migrate", "postgres://x", "redis://127.0.0.1:1/0")
    assert bad.returncode == 2 and "not a QUEUE_URL" in bad.stderr


def test_queue_stats_prints_the_shared_backlog(redis_url):
    import os

    q = RedisQueue(redis_url)
    q.enqueue([JobSpec("repo:1", 5, "a/x"), JobSpec("repo:2", 5, "a/y")])
    env = {**os.environ, "QUEUE_URL": redis_url}
    command = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run(
        [sys.executable, "-c", command, "queue", "stats"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert (
        stats["pending"] == 2 and stats["pending_by_installation"] == {"5": 2} and stats["dead_letters"] == 0
    )
