"""Timed wake-ups (``JobQueue.schedule``, bot/queue/base.py) on both backends: a key enqueued at a
moment, durable, idempotent, never postponed, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_clock import Clock

from bot.jobs import JobSpec
from bot.queue.base import RUN_NOW, SCHEDULED, TOO_FAR, WAKEUP_HORIZON_SECONDS, RetryPolicy
from bot.queue.sqlite import SqliteQueue


def _open(kind: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Clock):
    policy = RetryPolicy(max_attempts=3, backoff_base_seconds=2, backoff_cap_seconds=300)
    if kind == "redis":
        from bot.queue.redis_queue import RedisQueue

        return RedisQueue(request.getfixturevalue("redis_url"), policy, clock=clock)
    return SqliteQueue(str(tmp_path / "q.db"), policy, clock=clock)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def queue(backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Clock):
    q = _open(backend, request, tmp_path, clock)
    yield q
    q.close()


def spec(key: str = "release:1@3", installation: int = 7, repo: str = "acme/rocket", **hints) -> JobSpec:
    return JobSpec(key, installation, repo, "wakeup", hints)


def test_a_wakeup_runs_its_key_at_its_moment_not_before(queue, clock):
    assert queue.schedule(spec(senders=["(a reconciler)"]), clock.now + 60) == SCHEDULED
    assert queue.claim(30) is None
    assert queue.counts().pending == 0  # a wake-up is no waiting job: no backlog, no age
    assert queue.stats().oldest_waiting_seconds is None
    clock.now += 59.9
    assert queue.claim(30) is None
    clock.now += 0.2
    job = queue.claim(30)
    assert job is not None and job.key == "release:1@3" and job.spec.installation_id == 7
    assert job.spec.repo == "acme/rocket" and job.spec.hints == {"senders": ["(a reconciler)"]}
    assert queue.list_wakeups() == []
    queue.complete(job)
    clock.now += 3600
    assert queue.claim(30) is None  # once


def test_the_same_moment_twice_is_one_wakeup_and_the_earlier_moment_wins(queue, clock):
    at = clock.now + 600
    queue.schedule(spec(), at)
    queue.schedule(spec(), at)
    queue.schedule(spec(), at + 300)  # later: never postpones the earlier one
    assert [(w.key, w.at) for w in queue.list_wakeups()] == [("release:1@3", at)]
    queue.schedule(spec(), at - 100)  # earlier: kept
    assert [(w.key, w.at) for w in queue.list_wakeups()] == [("release:1@3", at - 100)]
    clock.now = at - 100
    job = queue.claim(30)
    assert job is not None and job.key == "release:1@3"
    queue.complete(job)
    clock.now = at + 1000
    assert queue.claim(30) is None  # one job for all of them


def test_a_moment_passed_runs_now_and_one_too_far_ahead_is_ignored(queue, clock):
    assert queue.schedule(spec("release:1@4"), clock.now - 5) == RUN_NOW
    assert queue.schedule(spec("release:1@5"), clock.now + WAKEUP_HORIZON_SECONDS + 1) == TOO_FAR
    assert queue.list_wakeups() == []
    job = queue.claim(30)
    assert job is not None and job.key == "release:1@4"
    queue.complete(job)
    clock.now += WAKEUP_HORIZON_SECONDS + 10
    assert queue.claim(30) is None


def test_events_of_a_key_are_not_held_back_by_its_wakeup(queue, clock):
    """A wake-up weeks ahead is kept apart: the key's events run at once, and the wake-up still comes."""
    queue.schedule(spec(), clock.now + 7 * 24 * 3600)
    queue.enqueue([spec(comment_ids=[1])])
    job = queue.claim(30)
    assert job is not None and job.spec.hints == {"comment_ids": [1]}
    queue.complete(job)
    clock.now += 7 * 24 * 3600
    woken = queue.claim(30)
    assert woken is not None and woken.key == "release:1@3"


def test_a_due_wakeup_hurries_a_waiting_job_due_later(queue, clock):
    queue.enqueue([spec(comment_ids=[1])])
    job = queue.claim(30)
    queue.retry_later(job, clock.now + 3600, "rate limited")  # waits an hour
    queue.schedule(spec(), clock.now + 60)
    clock.now += 60
    hurried = queue.claim(30)
    assert hurried is not None and hurried.key == "release:1@3"
    assert hurried.spec.hints == {"comment_ids": [1]}  # one job: the hints of both
    assert queue.claim(30) is None


def test_a_wakeup_of_a_running_key_reruns_it_after_the_run(queue, clock):
    queue.enqueue([spec()])
    running = queue.claim(30)
    # The run itself asks to be woken (its plan's next moment), and that moment comes while it runs.
    queue.schedule(spec(), clock.now + 5)
    clock.now += 6
    assert queue.claim(30) is None  # never twice at once
    assert queue.complete(running).requeued
    again = queue.claim(30)
    assert again is not None and again.key == "release:1@3"


def test_a_run_that_schedules_its_own_key_is_woken_after_it_ended(queue, clock):
    queue.enqueue([spec()])
    running = queue.claim(30)
    queue.schedule(spec(), clock.now + 120)
    assert not queue.complete(running).requeued  # nothing due yet: the job ends
    assert queue.counts().pending == 0
    clock.now += 120
    woken = queue.claim(30)
    assert woken is not None and woken.key == "release:1@3"


def test_wakeups_survive_reopening_the_store(backend, request, tmp_path, clock):
    first = _open(backend, request, tmp_path, clock)
    first.schedule(spec(), clock.now + 30)
    first.close()
    second = _open(backend, request, tmp_path, clock)
    try:
        assert [w.key for w in second.list_wakeups()] == ["release:1@3"]
        clock.now += 30
        job = second.claim(30)
        assert job is not None and job.key == "release:1@3"
    finally:
        second.close()


def test_drop_installation_drops_its_wakeups(queue, clock):
    queue.schedule(spec("release:1@3", 7, "acme/rocket"), clock.now + 30)
    queue.schedule(spec("release:2@3", 7, "acme/jet"), clock.now + 30)
    queue.schedule(spec("release:3@3", 8, "other/app"), clock.now + 30)
    queue.drop_installation(7, ["acme/jet"])
    assert [w.key for w in queue.list_wakeups()] == ["release:1@3", "release:3@3"]
    queue.drop_installation(7)
    assert [w.key for w in queue.list_wakeups()] == ["release:3@3"]


def test_many_due_wakeups_are_all_enqueued(queue, clock):
    """After downtime hundreds may be due at once: every one becomes a job (batched)."""
    for n in range(450):
        queue.schedule(spec(f"release:1@{n}"), clock.now + 10 + n / 100)
    clock.now += 100
    keys = set()
    while (job := queue.claim(30)) is not None:
        keys.add(job.key)
        queue.complete(job)
    assert keys == {f"release:1@{n}" for n in range(450)}


def test_a_wakeup_survives_a_redis_kill(redis_server, redis_url, clock):
    import signal

    from bot.queue.redis_queue import RedisQueue

    q = RedisQueue(redis_url, clock=clock)
    q.schedule(spec(), clock.now + 30)
    redis_server.restart(signal.SIGKILL)  # only the fsynced AOF is left
    again = RedisQueue(redis_url, clock=clock)
    try:
        assert [(w.key, w.at) for w in again.list_wakeups()] == [("release:1@3", clock.now + 30)]
        clock.now += 30
        job = again.claim(30)
        assert job is not None and job.key == "release:1@3" and job.spec.repo == "acme/rocket"
    finally:
        again.close()
        q.close()
