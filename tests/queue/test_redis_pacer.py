"""The pacer's two backends keep GitHub's secondary limits alike; the Redis one keeps them for every
process together (one budget per installation), which is the point of a shared deployment."""

from __future__ import annotations

import threading

import pytest
import redis

from bot.errors import RetryLater
from bot.github.pacer import WINDOW_SECONDS, Pacer, PacerLimits
from bot.github.pacer_redis import RedisPacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(params=["local", "redis"])
def make(request: pytest.FixtureRequest):
    def build(limits: PacerLimits, t: FakeTime, installation: int = 1):
        if request.param == "local":
            return Pacer(limits, clock=t.clock, wall_clock=t.clock, sleep=t.sleep)
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"), decode_responses=True)
        return RedisPacer(limits, client, installation, clock=t.clock, wall_clock=t.clock, sleep=t.sleep)

    return build


def send(pacer, method: str) -> None:
    pacer.acquire(method)
    pacer.release()


def test_eighty_writes_per_minute_then_requeue(make):
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=80, points_per_minute=0, max_wait=5), t)
    for _ in range(80):
        send(pacer, "POST")
    assert t.slept == []
    with pytest.raises(RetryLater) as info:
        send(pacer, "PATCH")
    assert info.value.not_before == pytest.approx(1000.0 + WINDOW_SECONDS)
    t.now += WINDOW_SECONDS - 3  # 3 s before the first write leaves the window: a short wait is slept
    send(pacer, "POST")
    assert t.slept == [pytest.approx(3.0)]


def test_points_window_counts_writes_as_five(make):
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=0, points_per_minute=900, max_wait=5), t)
    for _ in range(100):
        send(pacer, "DELETE")  # 500 points
    for _ in range(400):
        send(pacer, "GET")  # 900 points
    with pytest.raises(RetryLater):
        send(pacer, "GET")
    t.now += WINDOW_SECONDS + 0.5
    send(pacer, "GET")
    assert t.slept == []


def test_the_concurrency_cap_requeues_after_max_wait(make):
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=0, points_per_minute=0, max_concurrent=2, max_wait=0.1), t)
    pacer.acquire("GET")
    pacer.acquire("GET")
    with pytest.raises(RetryLater, match="concurrent"):
        pacer.acquire("GET")
    pacer.release()
    pacer.acquire("GET")  # a released slot is free again


def test_workers_on_several_machines_share_one_budget_per_installation(redis_url):
    """Three pacers on three connections (three processes) of one installation admit 30 writes in
    all, not 30 each; another installation has its own budget."""
    limits = PacerLimits(writes_per_minute=30, points_per_minute=0, max_wait=0.5)
    pacers = [RedisPacer(limits, redis.Redis.from_url(redis_url, decode_responses=True), 7) for _ in range(3)]
    admitted: list[int] = []
    lock = threading.Lock()

    def hammer(n: int) -> None:
        for _ in range(20):
            try:
                send(pacers[n], "POST")
            except RetryLater:
                continue
            with lock:
                admitted.append(n)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 30
    assert len(set(admitted)) > 1  # the budget was shared, not won by one process
    other = RedisPacer(limits, redis.Redis.from_url(redis_url, decode_responses=True), 8)
    send(other, "POST")


def test_a_killed_process_slot_expires(redis_url):
    """A process SIGKILLed mid-request never releases its concurrency slot: the slot expires."""
    t = FakeTime()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    limits = PacerLimits(writes_per_minute=0, points_per_minute=0, max_concurrent=1, max_wait=0.05)
    dead = RedisPacer(limits, client, 3, clock=t.clock, wall_clock=t.clock, sleep=t.sleep)
    dead.acquire("GET")  # never released
    alive = RedisPacer(limits, client, 3, clock=t.clock, wall_clock=t.clock, sleep=t.sleep)
    with pytest.raises(RetryLater):
        alive.acquire("GET")
    t.now += 121
    alive.acquire("GET")


def test_a_redis_deployment_paces_through_redis_and_an_embedded_one_in_process(redis_url):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.queue.redis_queue import RedisQueue
    from bot.services import Services
    from bot.settings import Settings

    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    store = RedisQueue(redis_url)
    shared = Services.from_settings(Settings(app_id=1, private_key=key, queue_url=redis_url), store)
    assert isinstance(shared.app._pacer_factory(5), RedisPacer)
    embedded = Services.from_settings(Settings(app_id=1, private_key=key), None)
    assert isinstance(embedded.app._pacer_factory(5), Pacer)


def test_hourly_write_window(make):
    """500 an hour besides 80 a minute, in either backend: 8 writes allowed an hour here."""
    from bot.github.pacer import HOUR_WINDOW_SECONDS

    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=5, points_per_minute=0, writes_per_hour=8, max_wait=5), t)
    start = t.now
    for i in range(8):
        t.now = start + (i // 4) * 62.0 + (i % 4)  # 4 a minute: the minute window never binds
        send(pacer, "POST")
    assert t.slept == []
    with pytest.raises(RetryLater) as info:
        send(pacer, "POST")
    assert info.value.not_before == pytest.approx(start + HOUR_WINDOW_SECONDS)
    t.now = start + HOUR_WINDOW_SECONDS + 0.01
    send(pacer, "POST")
    for _ in range(4):  # the minute window still binds on its own
        t.now += 0.001
        try:
            send(pacer, "POST")
        except RetryLater:
            break
    else:
        raise AssertionError("the minute window did not bind")
