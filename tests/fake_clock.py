"""A clock tests move by hand (``clock.now += 61``): the queues, caches and pacers take it as a callable."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
