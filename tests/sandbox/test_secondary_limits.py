"""GitHub's secondary limits in the sandbox (off by default): 80 writes and 900 points a minute
and 100 concurrent requests per installation, answered 403 with Retry-After."""

from __future__ import annotations

import httpx

from bot.sandbox.secondary_limits import SecondaryLimits


def test_writes_over_the_minute_are_refused_until_the_window_moves() -> None:
    limits = SecondaryLimits()
    limits.configure(True, writes=3, points=900, concurrent=100)
    for i in range(3):
        assert limits.admit("installation:1", "POST", now=float(i)) is None
        limits.done("installation:1")
    wait = limits.admit("installation:1", "PATCH", now=10.0)
    assert wait is not None and 49.0 <= wait <= 50.0
    assert limits.admit("installation:2", "POST", now=10.0) is None  # per installation
    assert limits.admit("installation:1", "GET", now=10.0) is None  # reads are points, not writes
    assert limits.admit("installation:1", "POST", now=60.5) is None  # the first write left the window


def test_points_and_concurrency() -> None:
    limits = SecondaryLimits()
    limits.configure(True, writes=80, points=10, concurrent=2)
    assert limits.admit("k", "POST", now=0.0) is None  # 5 points
    assert limits.admit("k", "POST", now=0.0) is None  # 10 points, 2 in flight
    assert limits.admit("k", "GET", now=0.0) is not None  # 11 points
    limits.done("k")
    limits.done("k")
    limits.configure(True, writes=80, points=900, concurrent=1)
    assert limits.admit("k", "GET", now=0.0) is None
    assert limits.admit("k", "GET", now=0.0) is not None  # one already in flight
    limits.done("k")
    assert limits.admit("k", "GET", now=0.0) is None


def test_off_by_default_and_switched_on_over_http(sandbox) -> None:  # the session sandbox
    base = sandbox.base_url
    assert httpx.get(f"{base}/_sandbox/limits", timeout=10).json()["enforce"] is False
    bad = httpx.post(f"{base}/_sandbox/limits", json={"enforce": True, "writes_per_minute": 0}, timeout=10)
    assert bad.status_code == 422
    on = httpx.post(f"{base}/_sandbox/limits", json={"enforce": True, "points_per_minute": 900}, timeout=10)
    try:
        assert on.status_code == 200 and on.json()["enforce"] is True
    finally:
        httpx.post(f"{base}/_sandbox/limits", json={"enforce": False}, timeout=10)


def test_writes_over_the_hour_are_refused_until_the_hour_moves() -> None:
    limits = SecondaryLimits()
    limits.configure(True, writes=80, points=100000, concurrent=100, writes_per_hour=5)
    for i in range(5):
        assert limits.admit("k", "POST", now=i * 70.0) is None  # one write every 70 s
        limits.done("k")
    wait = limits.admit("k", "POST", now=400.0)
    assert wait is not None and wait == 3600.0 - 400.0
    assert limits.admit("k", "POST", now=3600.5) is None  # the first write left the hour
