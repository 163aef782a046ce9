"""The queue's semantics (bot/queue/base.py): coalescing, dirty re-runs, retries, leases, dedupe. Tests
taking the ``queue`` fixture run on SQLite and on Redis; the others are about SQLite's file."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_clock import Clock

from bot.jobs import JobSpec
from bot.queue.base import RetryPolicy
from bot.queue.sqlite import SqliteQueue


@pytest.fixture(params=["sqlite", "redis"])
def queue(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> SqliteQueue:
    """Every test taking ``queue`` is the shared contract (bot/queue/base.py): both backends pass it."""
    policy = RetryPolicy(max_attempts=3, backoff_base_seconds=2, backoff_cap_seconds=5)
    if request.param == "redis":
        from bot.queue.redis_queue import RedisQueue

        q = RedisQueue(request.getfixturevalue("redis_url"), policy, clock=clock)
    else:
        q = SqliteQueue(str(tmp_path / "q.db"), policy, clock=clock)
    yield q
    q.close()


def spec(key: str = "pr:1#2", **hints) -> JobSpec:
    return JobSpec(key, 7, "acme/rocket", "test", hints)


def test_a_waiting_key_is_queued_once_with_hints_merged(queue):
    queue.enqueue([spec(comment_ids=[1])])
    queue.enqueue([spec(comment_ids=[2, 1], merge_group={"head_sha": "a"})])
    queue.accept_delivery("d1", [spec(comment_ids=[3], merge_group={"head_sha": "b"})])
    jobs = queue.list_jobs()
    assert len(jobs) == 1
    assert jobs[0].spec.hints == {"comment_ids": [1, 2, 3], "merge_group": {"head_sha": "b"}}
    assert queue.counts().as_dict() == {"pending": 1, "running": 0, "failed": 0}


def test_a_key_enqueued_while_running_runs_once_more_with_the_new_hints(queue):
    queue.enqueue([spec(comment_ids=[1])])
    job = queue.claim(30)
    assert job.spec.hints == {"comment_ids": [1]}
    queue.enqueue([spec(comment_ids=[2])])
    queue.enqueue([spec(comment_ids=[3])])
    assert queue.claim(30) is None  # never twice at once
    assert queue.complete(job).requeued
    again = queue.claim(30)
    assert again.key == job.key and again.spec.hints == {"comment_ids": [2, 3]} and again.attempts == 1
    assert not queue.complete(again).requeued
    assert queue.list_jobs() == []


def test_transient_failures_back_off_exponentially_then_dead_letter(queue, clock):
    queue.enqueue([spec()])
    delays = []
    for attempt in (1, 2):
        job = queue.claim(30)
        assert job.attempts == attempt
        result = queue.fail(job, f"boom {attempt}")
        assert result.requeued and not result.dead_lettered
        due = queue.list_jobs()[0].not_before
        delays.append(due - clock.now)
        assert queue.claim(30) is None  # not before its time
        clock.now = due
    assert delays == [2, 4]
    job = queue.claim(30)
    result = queue.fail(job, "boom 3")
    assert result.dead_lettered
    failed = queue.list_jobs(("failed",))
    assert len(failed) == 1 and failed[0].last_error == "boom 3" and not failed[0].permanent
    assert queue.counts().as_dict() == {"pending": 0, "running": 0, "failed": 1}
    # A new event for the key runs it afresh; the dead letter stays for people to read.
    queue.enqueue([spec()])
    assert queue.counts().as_dict() == {"pending": 1, "running": 0, "failed": 1}


def test_backoff_is_capped():
    policy = RetryPolicy(max_attempts=20, backoff_base_seconds=2, backoff_cap_seconds=60)
    assert [policy.delay(n) for n in (1, 2, 3, 5, 6, 12)] == [2, 4, 8, 32, 60, 60]


def test_permanent_error_ends_the_job_at_once_with_its_reason(queue):
    queue.enqueue([spec()])
    job = queue.claim(30)
    assert queue.fail_permanently(job, "404 pull request deleted").dead_lettered
    failed = queue.list_jobs()
    assert [(j.state, j.permanent, j.last_error, j.attempts) for j in failed] == [
        ("failed", True, "404 pull request deleted", 1)
    ]
    assert queue.claim(30) is None


def test_retry_later_waits_without_counting_an_attempt(queue, clock):
    queue.enqueue([spec()])
    job = queue.claim(30)
    queue.retry_later(job, clock.now + 120, "rate limit")
    waiting = queue.list_jobs()[0]
    assert (
        waiting.attempts == 0 and waiting.not_before == clock.now + 120 and waiting.last_error == "rate limit"
    )
    clock.now += 119
    assert queue.claim(30) is None
    clock.now += 1
    assert queue.claim(30).attempts == 1


def test_an_expired_lease_makes_the_job_claimable_and_the_old_claim_stale(queue, clock):
    queue.enqueue([spec()])
    first = queue.claim(10)
    clock.now += 5
    assert queue.renew(first, 10)
    clock.now += 9
    assert queue.claim(10) is None  # renewed: still owned
    clock.now += 2
    second = queue.claim(10)
    assert second is not None and second.id == first.id and second.attempts == 2
    assert not queue.renew(first, 10)
    assert queue.complete(first).stale  # the first worker lost it: its outcome changes nothing
    assert queue.counts().running == 1
    assert not queue.complete(second).stale
    assert queue.list_jobs() == []


def test_delivery_ids_are_remembered_for_three_days(queue, clock):
    assert queue.accept_delivery("abc", [spec("repo:1")])
    assert not queue.accept_delivery("abc", [spec("repo:2")])
    assert [j.key for j in queue.list_jobs()] == ["repo:1"]
    clock.now += 3 * 24 * 3600 - 1
    assert not queue.accept_delivery("abc", [])
    clock.now += 2
    assert queue.accept_delivery("abc", [])  # GitHub no longer redelivers it: a new delivery
    clock.now += 3 * 24 * 3600 + 1
    queue.purge_expired()
    assert not queue.delivery_seen("abc")


def test_drop_installation_drops_waiting_jobs_only(queue):
    queue.enqueue([JobSpec("repo:1", 7, "a/x"), JobSpec("repo:2", 7, "a/y"), JobSpec("repo:3", 8, "b/z")])
    running = queue.claim(30)
    assert running.key == "repo:1"
    assert queue.drop_installation(7, ["a/y"]) == 1
    assert sorted(j.key for j in queue.list_jobs()) == ["repo:1", "repo:3"]
    queue.enqueue([JobSpec("repo:4", 7, "a/w")])
    assert queue.drop_installation(7) == 1
    assert sorted(j.key for j in queue.list_jobs()) == ["repo:1", "repo:3"]


def test_operators_retry_and_drop(queue):
    queue.enqueue([spec("repo:1"), spec("repo:2")])
    job = queue.claim(30)
    queue.fail_permanently(job, "gone")
    assert not queue.retry(9999) and not queue.drop(9999)
    assert queue.retry(job.id)
    again = queue.list_jobs(("pending",))
    assert {j.key for j in again} == {"repo:1", "repo:2"}
    assert all(j.attempts == 0 for j in again)
    running = queue.claim(30)
    assert not queue.drop(running.id)  # a running job cannot be dropped
    other = [j for j in queue.list_jobs(("pending",))][0]
    assert queue.drop(other.id)
    assert [j.id for j in queue.list_jobs()] == [running.id]


def test_state_store_keeps_json_values_across_reopen(tmp_path):
    path = str(tmp_path / "kv.db")
    q = SqliteQueue(path)
    assert q.get_state("config:42") is None
    q.set_state("config:42", {"gate": {"check_name": "x"}, "n": [1, 2]})
    q.set_state("config:42", {"gate": {"check_name": "y"}})
    q.close()
    reopened = SqliteQueue(path)
    assert reopened.get_state("config:42") == {"gate": {"check_name": "y"}}


def test_update_state_loses_no_concurrent_append(tmp_path):
    """Two connections (as two processes would have) and several threads each append to one list:
    with get-then-set some appends would be lost; update_state keeps every one."""
    import threading

    path = str(tmp_path / "kv.db")
    stores = [SqliteQueue(path), SqliteQueue(path)]

    def append_many(store: SqliteQueue, worker: int) -> None:
        for i in range(25):
            store.update_state("audit", lambda cur, item=f"{worker}-{i}": [*(cur or []), item])

    threads = [threading.Thread(target=append_many, args=(stores[w % 2], w)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = stores[0].get_state("audit")
    assert len(entries) == 150 and len(set(entries)) == 150
    assert stores[1].update_state("audit", lambda cur: cur[-2:]) == entries[-2:]
    for store in stores:
        store.close()


def test_jobs_survive_reopening_the_database(tmp_path):
    path = str(tmp_path / "durable.db")
    q = SqliteQueue(path)
    assert q.accept_delivery("d", [spec("release:1@2", comment_ids=[5])])
    q.claim(30)  # a process that dies here loses nothing
    q.close()
    reopened = SqliteQueue(path)
    [job] = reopened.list_jobs()
    assert job.key == "release:1@2" and job.state == "running" and job.spec.hints == {"comment_ids": [5]}


def test_concurrent_deliveries_share_commits_and_each_id_is_accepted_once(tmp_path):
    import threading

    q = SqliteQueue(str(tmp_path / "group.db"))
    results: dict[str, list[bool]] = {}
    lock = threading.Lock()

    def post(thread: int) -> None:
        for i in range(50):
            delivery = f"d-{i % 25}"  # every id offered by several threads at once
            ok = q.accept_delivery(
                delivery,
                [JobSpec(f"pr:1#{i % 7}", 1, "a/b"), JobSpec("repo:1", 1, "a/b", hints={"refs": [str(i)]})],
            )
            with lock:
                results.setdefault(delivery, []).append(ok)

    threads = [threading.Thread(target=post, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(outcomes.count(True) == 1 for outcomes in results.values()), results
    assert len(results) == 25
    keys = sorted(j.key for j in q.list_jobs())
    assert keys == sorted({f"pr:1#{i % 7}" for i in range(50)} | {"repo:1"})
    [repo_job] = [j for j in q.list_jobs() if j.key == "repo:1"]
    assert len(repo_job.spec.hints["refs"]) == 25  # hints of every accepted delivery, merged


def test_a_leader_commits_only_the_batch_holding_its_own_delivery(tmp_path, monkeypatch):
    """Group commit hands the lead on: no thread commits later batches while its own answer waits."""
    import threading

    q = SqliteQueue(str(tmp_path / "handoff.db"))
    mine = threading.local()
    batches: list[tuple[str, list[str]]] = []
    original = SqliteQueue._accept_batch

    def recording(self, db, batch, now):  # noqa: ANN001, ANN202
        time_to_gather_followers = 0.002  # others join the next batch meanwhile, as under load
        threading.Event().wait(time_to_gather_followers)
        batches.append((mine.delivery, [item.delivery_id for item in batch]))
        return original(self, db, batch, now)

    monkeypatch.setattr(SqliteQueue, "_accept_batch", recording)

    def post(thread: int) -> None:
        for i in range(30):
            mine.delivery = f"{thread}-{i}"
            assert q.accept_delivery(mine.delivery, [JobSpec("release:1@1", 1, "a/b")])

    threads = [threading.Thread(target=post, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(ids) for _, ids in batches) == 240
    assert any(len(ids) > 1 for _, ids in batches)  # commits were shared
    assert all(leader in ids for leader, ids in batches)  # each leader committed its own batch only
