"""The per-installation pacer: GitHub's secondary limits, short waits slept, long waits requeued."""

from __future__ import annotations

import threading

import pytest

from bot.errors import RetryLater
from bot.github.pacer import WINDOW_SECONDS, Pacer, PacerLimits


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make(limits: PacerLimits, t: FakeTime) -> Pacer:
    return Pacer(limits, clock=t.clock, wall_clock=t.clock, sleep=t.sleep)


def send(pacer: Pacer, method: str) -> None:
    pacer.acquire(method)
    pacer.release()


def test_eighty_writes_per_minute_then_requeue():
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=80, points_per_minute=0, max_wait=5), t)
    for _ in range(80):
        send(pacer, "POST")
    assert t.slept == []
    with pytest.raises(RetryLater) as info:
        send(pacer, "PATCH")
    assert info.value.not_before == pytest.approx(1000.0 + WINDOW_SECONDS)
    assert WINDOW_SECONDS > 60  # a guard against arrival jitter at GitHub's end
    t.now += WINDOW_SECONDS - 3  # 3 s before the first write leaves the window: a short wait is slept
    send(pacer, "POST")
    assert t.slept == [pytest.approx(3.0)]


def test_reads_do_not_use_the_write_window():
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=1, points_per_minute=0), t)
    send(pacer, "POST")
    for _ in range(500):
        send(pacer, "GET")
    assert t.slept == []


def test_points_window_counts_writes_as_five():
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


def test_window_slides():
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=80, points_per_minute=900), t)
    for _ in range(10):
        for _ in range(40):
            send(pacer, "POST")
            t.now += 0.77  # 80 writes per 61.6 s, sustained: just under the guarded window
    assert t.slept == []


def test_zero_disables_pacing():
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=0, points_per_minute=0), t)
    for _ in range(5000):
        send(pacer, "POST")
    assert t.slept == []


def test_concurrency_is_bounded():
    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=0, points_per_minute=0, max_concurrent=2, max_wait=0.05), t)
    pacer.acquire("GET")
    pacer.acquire("GET")
    with pytest.raises(RetryLater):
        pacer.acquire("GET")
    released = threading.Timer(0.01, pacer.release)
    released.start()
    pacer.acquire("GET")  # the slot freed by the timer
    released.join()


def test_sandbox_mode_is_relaxed_and_settings_win():
    github = PacerLimits.for_mode(sandbox=False)
    sandbox = PacerLimits.for_mode(sandbox=True)
    assert (github.writes_per_minute, github.points_per_minute, github.max_concurrent) == (80, 900, 100)
    assert sandbox.writes_per_minute > github.writes_per_minute
    assert PacerLimits.for_mode(sandbox=True, writes_per_minute=10).writes_per_minute == 10
    assert PacerLimits.for_mode(sandbox=False, points_per_minute=0).points_per_minute == 0


def test_bulk_requests_leave_a_fifth_of_the_window_to_interactive_ones():
    from bot.github.pacer import BULK, BULK_SHARE, INTERACTIVE, priority

    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=80, points_per_minute=900, max_wait=5), t)
    bulk_room = int(80 * BULK_SHARE)
    with priority(BULK):
        for _ in range(bulk_room):
            send(pacer, "PATCH")
        with pytest.raises(RetryLater):
            send(pacer, "PATCH")  # release bookkeeping waits for the window to move ...
    for _ in range(80 - bulk_room):
        send(pacer, "POST")  # ... while the gate's check runs still go at once
    assert t.slept == []
    with priority(INTERACTIVE), pytest.raises(RetryLater):
        send(pacer, "POST")  # GitHub's own limit binds everyone
