"""The bot's own store (the key-value part of ``bot.queue.base.JobQueue`` plus fan-out ``enqueue``),
in memory, for tests that do not need the SQLite file. Values go through JSON, as in the real store."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from bot.jobs import JobSpec


def _json_copy(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value))


class MemoryStore:
    def __init__(self) -> None:
        self.state: dict[str, Any] = {}
        self.writes = 0
        self.enqueued: list[JobSpec] = []
        self._lock = threading.Lock()

    def get_state(self, name: str) -> Any | None:
        return _json_copy(self.state.get(name))

    def set_state(self, name: str, value: Any) -> None:
        self.writes += 1
        self.state[name] = _json_copy(value)

    def update_state(self, name: str, change: Callable[[Any | None], Any]) -> Any:
        with self._lock:
            value = _json_copy(change(self.get_state(name)))
            self.set_state(name, value)
            return value

    def enqueue(self, jobs: list[JobSpec]) -> None:
        self.enqueued.extend(jobs)
