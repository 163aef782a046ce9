"""The bot's own small durable store, as the code that reads and writes it sees it.

It lives beside the queue (``bot.queue.base.JobQueue`` implements it) and holds only what
DESIGN.md allows: the last valid configuration, caches and cross-process records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class KeyValueStore(Protocol):
    def get_state(self, name: str) -> Any | None: ...

    def set_state(self, name: str, value: Any) -> None: ...

    def update_state(self, name: str, change: Callable[[Any | None], Any]) -> Any:
        """Atomically replace the value under ``name`` with ``change(current)``."""
        ...
