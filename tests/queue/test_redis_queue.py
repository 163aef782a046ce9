"""What only the shared Redis queue promises beyond the contract (tests/queue/test_sqlite_queue.py):
several clients (as processes on several machines) on one server, survival of a Redis restart,
fairness across installations, shared state with TTLs."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from fake_clock import Clock

from bot.jobs import JobSpec
from bot.queue.base import RetryPolicy
from bot.queue.redis_queue import RedisQueue


def job(key: str, installation: int = 7, **hints) -> JobSpec:
    return JobSpec(key, installation, "acme/rocket", "test", hints)


def test_one_key_never_runs_in_two_clients_at_once(redis_url):
    """Eight clients claim from one queue while events keep arriving for the same few keys: a key is
    never held by two claims at once, and every event's hints reach a run of its key."""
    clients = [RedisQueue(redis_url) for _ in range(8)]
    holding: dict[str, str] = {}
    overlaps: list[str] = []
    lock = threading.Lock()
    runs: list[str] = []
    seen: dict[str, set[int]] = {}
    stop = threading.Event()

    def work(q: RedisQueue) -> None:
        while not stop.is_set():
            claimed = q.claim(30)
            if claimed is None:
                continue
            with lock:
                if claimed.key in holding:
                    overlaps.append(claimed.key)
                holding[claimed.key] = claimed.claim_token
            threading.Event().wait(0.001)
            with lock:
                holding.pop(claimed.key, None)
                runs.append(claimed.key)
                seen.setdefault(claimed.key, set()).update(claimed.spec.hints.get("n", []))
            q.complete(claimed)

    threads = [threading.Thread(target=work, args=(q,)) for q in clients]
    for t in threads:
        t.start()
    producer = RedisQueue(redis_url)
    for i in range(300):
        producer.enqueue([job(f"pr:1#{i % 5}", n=[i])])
    deadline = threading.Event()
    for _ in range(200):
        if producer.counts().as_dict() == {"pending": 0, "running": 0, "failed": 0}:
            break
        deadline.wait(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert overlaps == []
    assert producer.counts().as_dict() == {"pending": 0, "running": 0, "failed": 0}
    # Every event's hint reached a run of its key (coalesced or run again after a change).
    assert seen == {f"pr:1#{k}": set(range(k, 300, 5)) for k in range(5)}


def test_each_delivery_id_is_accepted_once_across_clients(redis_url):
    clients = [RedisQueue(redis_url) for _ in range(4)]
    results: dict[str, list[bool]] = {}
    lock = threading.Lock()

    def post(n: int) -> None:
        for i in range(40):
            delivery = f"d-{i % 20}"
            ok = clients[n].accept_delivery(delivery, [job("repo:1", refs=[str(i)])])
            with lock:
                results.setdefault(delivery, []).append(ok)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(outcomes.count(True) == 1 for outcomes in results.values()), results
    [waiting] = clients[0].list_jobs()
    assert len(waiting.spec.hints["refs"]) == 20  # one hint per accepted delivery, merged


@pytest.mark.reliability(
    area="crash", case="Redis killed (SIGKILL) and restarted: accepted and running jobs kept", trials=1
)
def test_accepted_and_running_jobs_survive_a_redis_kill(redis_server, redis_url):
    q = RedisQueue(redis_url)
    assert q.accept_delivery("d1", [job("release:1@2", comment_ids=[5])])
    assert q.accept_delivery("d2", [job("repo:1")])
    running = q.claim(30)
    q.set_state("config:1", {"gate": True})
    redis_server.restart(signal.SIGKILL)  # nothing flushed on the way out: only the fsynced AOF
    again = RedisQueue(redis_url)
    assert not again.accept_delivery("d1", [])  # the delivery id is still known
    jobs = {j.key: j for j in again.list_jobs()}
    assert set(jobs) == {"release:1@2", "repo:1"}
    assert jobs[running.key].state == "running"
    assert jobs["release:1@2"].spec.hints == {"comment_ids": [5]}
    assert again.get_state("config:1") == {"gate": True}
    assert q.complete(running).stale is False  # the old client reconnects and still owns its claim


@pytest.mark.reliability(
    area="crash", case="deliveries while Redis restarts wait for it: accepted, none refused", trials=1
)
def test_a_delivery_during_a_redis_restart_waits_for_it_instead_of_failing(redis_server, redis_url):
    """The port is closed for a moment while Redis restarts, and a pooled connection is re-connected
    when it is checked out: that refusal used to surface at once as QueueUnavailable (the intake's
    503), before redis-py's command retry began."""
    q = RedisQueue(redis_url)
    assert q.accept_delivery("before", [job("repo:1")])  # the pool now holds a connection
    port = redis_server.port
    redis_server.stop(signal.SIGKILL)
    outcome: dict[str, object] = {}

    def deliver() -> None:
        try:
            outcome["accepted"] = q.accept_delivery("during", [job("release:1@2")])
        except Exception as exc:  # noqa: BLE001 - the failure this test is about
            outcome["error"] = exc

    sender = threading.Thread(target=deliver)
    sender.start()
    time.sleep(1.0)  # the delivery arrived while Redis was down
    redis_server.start(port)
    sender.join(30)
    assert outcome == {"accepted": True}
    assert not q.accept_delivery("during", [])  # recorded: its redelivery is a duplicate
    assert {j.key for j in q.list_jobs()} == {"repo:1", "release:1@2"}


def test_installations_are_served_in_round_robin(redis_url):
    q = RedisQueue(redis_url)
    q.enqueue([job(f"repo:{i}", installation=1) for i in range(20)])  # one installation's burst
    q.enqueue([job("repo:100", installation=2), job("repo:200", installation=3)])
    order = [q.claim(30).spec.installation_id for _ in range(6)]
    assert sorted(order[:3]) == [1, 2, 3]  # each installation once before any twice
    assert order[3:] == [1, 1, 1]  # the others had one job each; the burst goes on alone


def test_one_installation_cannot_hold_every_worker_thread(redis_url):
    clock = Clock()
    q = RedisQueue(redis_url, clock=clock, installation_share=0.75)
    q.heartbeat("worker-a", 2, 60)
    q.heartbeat("worker-b", 2, 60)  # four threads in all: one installation may hold three
    q.enqueue([job("repo:50", installation=2)])  # another installation had work a moment ago
    q.complete(q.claim(30))
    q.enqueue([job(f"repo:{i}", installation=1) for i in range(10)])
    held = [q.claim(30) for _ in range(4)]
    assert [j is not None for j in held] == [True, True, True, False]
    q.enqueue([job("repo:100", installation=2)])
    other = q.claim(30)
    assert other is not None and other.spec.installation_id == 2  # a thread was left for it
    q.complete(held[0])
    assert q.claim(30).spec.installation_id == 1
    clock.now += 61  # the workers stopped heart-beating: no cap without registered threads
    q.enqueue([job("repo:300", installation=1)])
    assert sum(q.claim(30) is not None for _ in range(10)) >= 6


def test_an_installation_alone_may_use_every_worker_thread(redis_url):
    """The reserve is for other installations: a deployment with one installation (one
    organization) keeps every thread busy."""
    q = RedisQueue(redis_url, installation_share=0.75)
    q.heartbeat("worker-a", 4, 60)
    q.enqueue([job(f"repo:{i}", installation=1) for i in range(10)])
    assert all(q.claim(30) is not None for _ in range(4))


def test_stats_report_depth_per_installation_and_the_oldest_wait(redis_url):
    clock = Clock()
    q = RedisQueue(redis_url, clock=clock)
    q.enqueue([job("repo:1", installation=1)])
    clock.now += 10
    q.enqueue([job("repo:2", installation=2), job("repo:3", installation=2)])
    failing = q.claim(30)
    q.fail_permanently(failing, "gone")
    clock.now += 5
    stats = q.stats()
    assert stats.pending_by_installation == {"2": 2}
    assert stats.oldest_waiting_seconds == 5
    assert stats.as_dict()["dead_letters"] == 1


def test_state_is_shared_and_expires(redis_url):
    writer, reader = RedisQueue(redis_url, state_ttl_seconds=1000), RedisQueue(redis_url)
    writer.set_state("config:last-valid:7", {"gate": {"check_name": "x"}})
    assert reader.get_state("config:last-valid:7") == {"gate": {"check_name": "x"}}
    ttl = reader.client.ttl("release-bot:kv:config:last-valid:7")
    assert 0 < ttl <= 1000


def test_update_state_loses_no_concurrent_append_across_clients(redis_url):
    stores = [RedisQueue(redis_url) for _ in range(3)]

    def append_many(store: RedisQueue, worker: int) -> None:
        for i in range(20):
            store.update_state("audit", lambda cur, item=f"{worker}-{i}": [*(cur or []), item])

    threads = [threading.Thread(target=append_many, args=(stores[w % 3], w)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(stores[0].get_state("audit")) == sorted(f"{w}-{i}" for w in range(6) for i in range(20))


def test_a_dead_letter_with_events_meanwhile_queues_them_afresh(redis_url):
    q = RedisQueue(redis_url, RetryPolicy(max_attempts=1))
    q.enqueue([job("pr:1#2", comment_ids=[1])])
    running = q.claim(30)
    q.enqueue([job("pr:1#2", comment_ids=[2])])
    result = q.fail(running, "boom")
    assert result.dead_lettered and result.requeued
    states = sorted((j.state, tuple(j.spec.hints.get("comment_ids", []))) for j in q.list_jobs())
    assert states == [("failed", (1,)), ("pending", (2,))]


def test_settings_accept_a_redis_url_and_never_log_its_password():
    from bot.settings import Settings

    settings = Settings.from_env({"QUEUE_URL": "redis://:s3cret@cache.internal:6380/2"})
    assert settings.uses_redis
    assert settings.redacted()["queue_url"] == "redis://:***@cache.internal:6380/2"
    assert "s3cret" not in repr(settings.redacted())
    assert settings.queue_password == "s3cret"  # registered with the log scrubber (bot/cli/_runtime.py)


def test_a_claim_compacts_the_hint_parts_into_one(redis_url):
    q = RedisQueue(redis_url, RetryPolicy(max_attempts=5, backoff_base_seconds=0))
    for n in range(5):
        q.enqueue([job("pr:1#2", comment_ids=[n], head={"sha": str(n)})])
    claimed = q.claim(30)
    assert claimed.spec.hints == {"comment_ids": [0, 1, 2, 3, 4], "head": {"sha": "4"}}
    assert q.client.llen(f"release-bot:hints:{claimed.id}") == 1
    q.enqueue([job("pr:1#2", comment_ids=[9])])  # arrives while it runs
    q.fail(claimed, "boom")
    again = q.claim(30)
    assert again.spec.hints == {"comment_ids": [0, 1, 2, 3, 4, 9], "head": {"sha": "4"}}
