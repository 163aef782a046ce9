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
    pacer = make(PacerLimits(writes_per_minute=0, points_per_minute=0, writes_per_hour=0), t)
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


def test_five_hundred_writes_an_hour_then_requeue_until_the_hour_moves():
    """GitHub allows 500 content-creating requests an hour besides 80 a minute: spread over the hour
    (70 a minute), the 501st is refused until the first of the hour leaves it."""
    from bot.github.pacer import HOUR_WINDOW_SECONDS

    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=80, points_per_minute=0, writes_per_hour=500, max_wait=5), t)
    start = t.now
    for i in range(500):
        t.now = start + (i // 70) * 62.0 + (i % 70) * 0.01  # 70 writes a minute: the minute never binds
        send(pacer, "POST")
    assert t.slept == []
    with pytest.raises(RetryLater) as info:
        send(pacer, "POST")
    assert info.value.not_before == pytest.approx(start + HOUR_WINDOW_SECONDS)
    assert HOUR_WINDOW_SECONDS > 3600
    t.now = start + HOUR_WINDOW_SECONDS + 0.001
    send(pacer, "POST")  # the first write of the hour left it


def test_bulk_requests_keep_a_fifth_of_the_hour_for_the_gate():
    from bot.github.pacer import BULK, priority

    t = FakeTime()
    pacer = make(PacerLimits(writes_per_minute=0, points_per_minute=0, writes_per_hour=10, max_wait=5), t)
    with priority(BULK):
        for _ in range(8):
            send(pacer, "PATCH")
        with pytest.raises(RetryLater):
            send(pacer, "PATCH")
    send(pacer, "POST")  # interactive: the gate's check run still goes
    send(pacer, "POST")
    with pytest.raises(RetryLater):
        send(pacer, "POST")


def test_github_mode_defaults_include_the_hourly_write_limit():
    assert PacerLimits.for_mode(sandbox=False).writes_per_hour == 500
    assert PacerLimits.for_mode(sandbox=True).writes_per_hour > 500
    assert PacerLimits.for_mode(sandbox=False, writes_per_hour=0).write_windows() == (
        (80.0, pytest.approx(61.0)),
    )
