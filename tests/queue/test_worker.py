"""The worker pool against a real SQLite queue, with fake runners injected."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bot.errors import PermanentError, RetryLater
from bot.jobs import JobSpec
from bot.queue.base import RetryPolicy
from bot.queue.sqlite import SqliteQueue
from bot.queue.worker import WorkerPool, load_runner


@pytest.fixture
def queue(tmp_path: Path) -> SqliteQueue:
    q = SqliteQueue(
        str(tmp_path / "q.db"),
        RetryPolicy(max_attempts=3, backoff_base_seconds=0.05, backoff_cap_seconds=0.1),
    )
    yield q
    q.close()


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_one_key_never_runs_in_two_workers_at_once(queue):
    active: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def runner(spec: JobSpec, services) -> dict:
        with lock:
            active[spec.key] += 1
            if active[spec.key] > 1:
                overlaps.append(spec.key)
            runs[spec.key] += 1
        time.sleep(0.02)
        with lock:
            active[spec.key] -= 1
        return {"api_calls": 0}

    pool = WorkerPool(queue, runner, threads=6, lease_seconds=5, poll_seconds=0.01)
    pool.start()
    keys = [f"pr:1#{n}" for n in range(4)]
    try:
        for _ in range(30):  # keep re-enqueuing the same few keys while they run
            queue.enqueue([JobSpec(k, 1, "a/b") for k in keys])
            time.sleep(0.01)
        wait_until(lambda: queue.counts().pending == 0 and queue.counts().running == 0)
    finally:
        pool.stop(5)
    assert overlaps == []
    assert set(runs) == set(keys)
    # Coalescing: far fewer runs than the 30 enqueues per key, yet each key ran after its last enqueue.
    assert all(2 <= runs[k] < 30 for k in keys), runs


def test_failures_retry_then_dead_letter_with_the_error(queue):
    calls = Counter()

    def runner(spec, services):
        calls[spec.key] += 1
        raise ConnectionError("sandbox unreachable")

    pool = WorkerPool(queue, runner, threads=2, lease_seconds=5, poll_seconds=0.01)
    pool.start()
    try:
        queue.enqueue([JobSpec("repo:1", 1, "a/b")])
        wait_until(lambda: queue.counts().failed == 1)
    finally:
        pool.stop(5)
    assert calls["repo:1"] == 3
    [dead] = queue.list_jobs(("failed",))
    assert (
        dead.attempts == 3
        and "ConnectionError: sandbox unreachable" in dead.last_error
        and not dead.permanent
    )


def test_permanent_errors_are_not_retried(queue):
    calls = Counter()

    def runner(spec, services):
        calls[spec.key] += 1
        raise PermanentError("404: pull request 5 no longer exists")

    pool = WorkerPool(queue, runner, threads=2, lease_seconds=5, poll_seconds=0.01)
    pool.start()
    try:
        queue.enqueue([JobSpec("pr:1#5", 1, "a/b")])
        wait_until(lambda: queue.counts().failed == 1)
        time.sleep(0.2)
    finally:
        pool.stop(5)
    assert calls["pr:1#5"] == 1
    [dead] = queue.list_jobs(("failed",))
    assert dead.permanent and dead.last_error == "404: pull request 5 no longer exists"


def test_retry_later_requeues_without_spending_attempts(queue):
    calls = Counter()

    def runner(spec, services):
        calls[spec.key] += 1
        if calls[spec.key] <= 5:  # more than max_attempts: only RetryLater may survive that
            raise RetryLater(time.time() + 0.01, "secondary rate limit")
        return None

    pool = WorkerPool(queue, runner, threads=1, lease_seconds=5, poll_seconds=0.01)
    pool.start()
    try:
        queue.enqueue([JobSpec("repo:9", 1, "a/b")])
        wait_until(
            lambda: calls["repo:9"] == 6 and queue.counts().pending == 0 and queue.counts().running == 0
        )
    finally:
        pool.stop(5)
    assert queue.counts().failed == 0


def test_leases_are_renewed_while_a_long_job_runs(queue):
    started = threading.Event()
    release = threading.Event()

    def runner(spec, services):
        started.set()
        release.wait(5)

    pool = WorkerPool(queue, runner, threads=1, lease_seconds=0.3, poll_seconds=0.01)
    pool.start()
    try:
        queue.enqueue([JobSpec("repo:1", 1, "a/b")])
        assert started.wait(5)
        time.sleep(1.0)  # three lease lengths: a second claimer would get it if not renewed
        assert queue.claim(0.3) is None
        release.set()
        wait_until(lambda: queue.list_jobs() == [])
    finally:
        release.set()
        pool.stop(5)


def test_stop_drains_running_jobs_and_claims_no_more(queue):
    started = threading.Event()
    finished = []

    def runner(spec, services):
        started.set()
        time.sleep(0.3)
        finished.append(spec.key)

    pool = WorkerPool(queue, runner, threads=1, lease_seconds=5, poll_seconds=0.01)
    pool.start()
    queue.enqueue([JobSpec("repo:1", 1, "a/b")])
    assert started.wait(5)
    queue.enqueue([JobSpec("repo:2", 1, "a/b")])
    assert pool.stop(5)
    assert finished == ["repo:1"]
    assert [j.key for j in queue.list_jobs()] == ["repo:2"]


def test_load_runner_refuses_malformed_specs():
    with pytest.raises(ValueError, match="module:function"):
        load_runner("no_colon")
    assert load_runner("time:sleep") is time.sleep
