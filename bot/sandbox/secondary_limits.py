"""GitHub's secondary rate limits, enforced per installation when switched on (off by default).

GitHub documents them (docs.github.com, "Rate limits for the REST API"): no more than 100
concurrent requests, no more than 900 points a minute for REST endpoints (GET, HEAD and OPTIONS
1 point, other methods 5), and no more than 80 content-creating requests a minute and 500 an hour.
Exceeding one is answered ``403`` with a ``Retry-After`` header and the secondary-rate-limit message.

``POST /_sandbox/limits {"enforce": true}`` (optionally ``writes_per_minute``, ``writes_per_hour``,
``points_per_minute``, ``concurrent``) switches them on for every installation token, so a
benchmark proves the bot stays inside them instead of trusting its own count; the refusals show
in the request log as 403s. Users' and the App's JWT requests are not limited here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

WINDOW_SECONDS = 60.0
HOUR_SECONDS = 3600.0
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class SecondaryLimits:
    enforce: bool = False
    writes_per_minute: int = 80
    points_per_minute: int = 900
    concurrent: int = 100
    writes_per_hour: int = 500
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _writes: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _points: dict[str, deque[tuple[float, int]]] = field(default_factory=dict, repr=False)
    _in_flight: dict[str, int] = field(default_factory=dict, repr=False)
    refused: int = 0

    def admit(self, key: str, method: str, now: float | None = None) -> float | None:
        """Count one request of ``key``; None when it may go, else the seconds to wait."""
        if not self.enforce:
            return None
        at = time.monotonic() if now is None else now
        is_write = method.upper() in WRITE_METHODS
        cost = 5 if is_write else 1
        with self._lock:
            writes = self._writes.setdefault(key, deque())
            points = self._points.setdefault(key, deque())
            while writes and writes[0] <= at - HOUR_SECONDS:
                writes.popleft()
            while points and points[0][0] <= at - WINDOW_SECONDS:
                points.popleft()
            wait = 0.0
            if self._in_flight.get(key, 0) >= self.concurrent:
                wait = 1.0
            if is_write:
                wait = max(wait, _window_wait(writes, self.writes_per_minute, WINDOW_SECONDS, at))
                wait = max(wait, _window_wait(writes, self.writes_per_hour, HOUR_SECONDS, at))
            if sum(p for _t, p in points) + cost > self.points_per_minute:
                wait = max(wait, points[0][0] + WINDOW_SECONDS - at)
            if wait > 0:
                self.refused += 1
                return wait
            if is_write:
                writes.append(at)
            points.append((at, cost))
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return None

    def done(self, key: str) -> None:
        with self._lock:
            if self._in_flight.get(key, 0) > 0:
                self._in_flight[key] -= 1

    def configure(
        self, enforce: bool, writes: int, points: int, concurrent: int, writes_per_hour: int = 500
    ) -> None:
        with self._lock:
            self.enforce, self.writes_per_minute = enforce, writes
            self.points_per_minute, self.concurrent = points, concurrent
            self.writes_per_hour = writes_per_hour
            self._writes.clear()
            self._points.clear()
            self.refused = 0


def _window_wait(writes: deque[float], limit: int, seconds: float, at: float) -> float:
    """Seconds until one more write fits ``limit`` writes in the last ``seconds`` (the deque holds
    the last hour's writes, oldest first)."""
    if len(writes) < limit:
        return 0.0
    oldest_counted = writes[len(writes) - limit]  # the limit-th most recent write
    return max(0.0, oldest_counted + seconds - at)
