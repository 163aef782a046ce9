"""Per-installation pacing sized to GitHub's secondary rate limits.

PyGithub sleeps 0.25 s before every request and 1 s before every write, whoever the caller and
whatever the load. GitHub's documented secondary limits are per installation and per minute
(docs.github.com, "Rate limits for the REST API"):

- no more than 80 content-creating requests per minute and 500 per hour (we count every
  POST/PATCH/PUT/DELETE);
- no more than 900 points per minute for REST endpoints (GET/HEAD/OPTIONS 1 point, others 5);
- no more than 100 concurrent requests.

So one ``Pacer`` per installation keeps sliding windows (writes over a minute and over an hour,
points over a minute) and a concurrency semaphore. A request that fits goes at once; one that
must wait briefly sleeps; one that would wait longer than ``max_wait`` raises ``RetryLater`` so
the job is requeued instead of holding a worker thread (a job refused by the hourly window comes
back when that window has room: minutes, not seconds). The limits come from
``GITHUB_WRITES_PER_MINUTE`` / ``GITHUB_WRITES_PER_HOUR`` / ``GITHUB_POINTS_PER_MINUTE`` (0
disables that window) and are relaxed in sandbox mode.

Two backends, one interface (``InstallationPacer``: ``acquire(method)`` / ``release()``): ``Pacer``
keeps the windows in process memory, the budget of one process (the embedded SQLite deployment:
``serve`` divides the limits between its own gunicorn processes); ``bot.github.pacer_redis.RedisPacer``
keeps them in Redis, one budget per installation for every process on every machine (QUEUE_URL=redis://).
``GitHubApp`` builds one per installation through a ``PacerFactory``. GitHub's own 403/429 answers
remain the backstop (``retry.py``).

Two classes of requests share one installation's budget (``priority``, set per job by
``bot.reconcilers.dispatch``): *interactive* ones (the merge gate's check runs and replies, which
a person is waiting for, and anything outside a job) may use the whole window; *bulk* ones
(release bookkeeping: tracking issues, notes drafts, "released" comments, discovery) only
``BULK_SHARE`` of it. So however many releases' bookkeeping fills the minute, a fifth of GitHub's
budget stays free for the gate: a pull request's check never waits behind another repository's
tracking issue. The windows themselves are shared (a bulk request counts for everyone).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from bot.errors import RetryLater

# GitHub counts a minute by when requests arrive; we reserve by when they leave. A request
# reserved at t arrives at t + latency, so a window of exactly 60 s let GitHub see 81 writes in
# 59.97 s (measured: benchmarks/release_first_sync.py). One second of guard absorbs that jitter.
WINDOW_GUARD_SECONDS = 1.0
WINDOW_SECONDS = 60.0 + WINDOW_GUARD_SECONDS
HOUR_WINDOW_SECONDS = 3600.0 + WINDOW_GUARD_SECONDS
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
WRITE_POINTS = 5
READ_POINTS = 1
INTERACTIVE = "interactive"
BULK = "bulk"
BULK_SHARE = 0.8  # of each window a bulk request may fill; the rest is kept for interactive ones

_priority: contextvars.ContextVar[str] = contextvars.ContextVar("release_bot_pacing", default=INTERACTIVE)


@contextlib.contextmanager
def priority(level: str) -> Iterator[None]:
    """Requests made inside the block (in this thread) are paced as ``level``."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


def current_priority() -> str:
    return _priority.get()


def share(limit: float, level: str | None = None) -> float:
    """The part of a window's ``limit`` that a request of ``level`` (default: the current) may fill."""
    if limit <= 0 or (level or _priority.get()) != BULK:
        return limit
    return max(1.0, float(int(limit * BULK_SHARE)))


@dataclass(frozen=True)
class PacerLimits:
    writes_per_minute: float = 80.0  # 0: no write window
    points_per_minute: float = 900.0  # 0: no points window
    max_concurrent: int = 100
    max_wait: float = 5.0  # longer waits requeue the job (RetryLater)
    writes_per_hour: float = 500.0  # 0: no hourly write window

    @classmethod
    def for_mode(
        cls,
        sandbox: bool,
        writes_per_minute: float | None = None,
        points_per_minute: float | None = None,
        writes_per_hour: float | None = None,
    ) -> PacerLimits:
        """GitHub's limits, or relaxed ones for the sandbox (which has no secondary limits unless
        asked, but still benefits from the code path being exercised); explicit settings win."""
        default = (
            cls(writes_per_minute=6000.0, points_per_minute=90000.0, writes_per_hour=360000.0)
            if sandbox
            else cls()
        )
        return cls(
            writes_per_minute=default.writes_per_minute if writes_per_minute is None else writes_per_minute,
            points_per_minute=default.points_per_minute if points_per_minute is None else points_per_minute,
            max_concurrent=default.max_concurrent,
            max_wait=default.max_wait,
            writes_per_hour=default.writes_per_hour if writes_per_hour is None else writes_per_hour,
        )

    def write_windows(self) -> tuple[tuple[float, float], ...]:
        """(limit, seconds) of every write window switched on, the longest last."""
        windows = ((self.writes_per_minute, WINDOW_SECONDS), (self.writes_per_hour, HOUR_WINDOW_SECONDS))
        return tuple((limit, seconds) for limit, seconds in windows if limit > 0)


class InstallationPacer(Protocol):
    """What the request hook (bot/github/requester.py) needs of a pacer."""

    def acquire(self, method: str) -> None: ...

    def release(self) -> None: ...


PacerFactory = Callable[[int], InstallationPacer]


def local_pacers(limits: PacerLimits) -> PacerFactory:
    """The in-process backend: one ``Pacer`` per installation, in this process's memory."""
    return lambda installation_id: Pacer(limits)


class Pacer:
    """Admission control for one installation's requests, in this process. Thread-safe."""

    def __init__(
        self,
        limits: PacerLimits,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # Send times (possibly in the near future: reserved slots) of recent requests; writes are
        # kept as long as the longest write window (an hour), points for a minute.
        self._writes: deque[float] = deque()
        self._points: deque[tuple[float, int]] = deque()
        self._points_total = 0  # sum of the points in the window, kept so admission is O(1)
        self._concurrency = threading.BoundedSemaphore(limits.max_concurrent)

    def acquire(self, method: str) -> None:
        """Wait for a slot for one request (briefly), or raise ``RetryLater``."""
        delay = self._reserve(method.upper())
        if delay > 0:
            self._sleep(delay)
        if not self._concurrency.acquire(timeout=self.limits.max_wait):
            raise RetryLater(
                self._wall_clock() + self.limits.max_wait, "100 concurrent GitHub requests in flight"
            )

    def release(self) -> None:
        self._concurrency.release()

    def _reserve(self, method: str) -> float:
        is_write = method in WRITE_METHODS
        cost = WRITE_POINTS if is_write else READ_POINTS
        with self._lock:
            now = self._clock()
            horizon = now - WINDOW_SECONDS
            windows = self.limits.write_windows()
            write_horizon = now - (windows[-1][1] if windows else WINDOW_SECONDS)
            while self._writes and self._writes[0] <= write_horizon:
                self._writes.popleft()
            while self._points and self._points[0][0] <= horizon:
                self._points_total -= self._points.popleft()[1]
            at = now
            if is_write:
                for limit, seconds in windows:
                    at = max(at, self._earliest_write(now, share(limit), seconds))
            if self.limits.points_per_minute > 0:
                at = max(at, self._earliest_points(now, cost, share(self.limits.points_per_minute)))
            delay = at - now
            if delay > self.limits.max_wait:
                # Reserve nothing: the job goes back to the queue and comes back when the window moved.
                raise RetryLater(
                    self._wall_clock() + delay, f"pacing GitHub requests: next slot in {delay:.1f}s"
                )
            if is_write and windows:
                self._writes.append(at)
            if self.limits.points_per_minute > 0:
                self._points.append((at, cost))
                self._points_total += cost
            return delay

    def _earliest_write(self, now: float, limit_in_window: float, seconds: float) -> float:
        limit = max(int(limit_in_window), 1)
        if len(self._writes) < limit:
            return now
        # The request may go once the limit-th most recent write leaves the window. The deque spans
        # the longest window: when fewer than ``limit`` writes lie in a shorter one, the limit-th most
        # recent is older than it and the answer is in the past (no wait).
        return self._writes[len(self._writes) - limit] + seconds

    def _earliest_points(self, now: float, cost: int, points_per_minute: float) -> float:
        limit = points_per_minute
        total = self._points_total
        at = now
        for sent, points in self._points:
            if total + cost <= limit:
                break
            total -= points
            at = max(at, sent + WINDOW_SECONDS)
        return at
