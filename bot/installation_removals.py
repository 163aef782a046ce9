"""Removed installations, told across processes through the shared store.

In production the web process (intake) and ``release-bot worker`` are separate processes, and the
installation clients (with their tokens) are cached in the worker. When ``installation``
``deleted``/``suspend`` or ``installation_repositories`` ``removed`` arrives, intake drops the
waiting jobs in the queue and writes one record per installation in the store
(``installation-removed:{id}``, the delivery id that removed it). Every process holding clients
(``Services``) compares that record with the last one it acted on before it hands out a cached
client, and sweeps its cached installations while idle: a new record
means "forget the client and token built before it". Comparing records, not clocks, keeps it exact
across hosts; a later re-install or unsuspend simply builds a fresh client after the forget.

Backend-neutral: only ``get_state``/``set_state`` of the store (``JobQueue``) are used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.store import KeyValueStore

log = logging.getLogger(__name__)

STATE_PREFIX = "installation-removed:"


def state_name(installation_id: int) -> str:
    return f"{STATE_PREFIX}{installation_id}"


def record_removed(store: KeyValueStore, installation_id: int, delivery_id: str, reason: str) -> None:
    """Tell every process that ``installation_id`` was deleted, suspended or lost repositories
    (by ``delivery_id``)."""
    store.set_state(
        state_name(installation_id),
        {"delivery_id": delivery_id, "reason": reason, "at": round(time.time(), 3)},
    )


class RemovalWatch:
    """Per process: forget an installation's cached client once per removal record. Thread-safe."""

    def __init__(self, store: KeyValueStore | None, forget: Callable[[int], None]) -> None:
        self._store = store
        self._forget = forget
        self._lock = threading.Lock()
        self._acted_on: dict[int, Any] = {}

    def check(self, installation_id: int) -> bool:
        """Forget the installation's client if it was removed since this process last looked.
        True when it did. A store that cannot be read leaves the cache as it is (the job's own
        GitHub calls then fail permanently on a revoked token, which forgets it too)."""
        if self._store is None:
            return False
        try:
            record = self._store.get_state(state_name(installation_id))
        except Exception:  # noqa: BLE001 - a busy or broken store must not fail the caller
            log.warning(
                "could not read the removal record of installation %s", installation_id, exc_info=True
            )
            return False
        if record is None:
            return False
        with self._lock:
            if self._acted_on.get(installation_id) == record:
                return False
            self._acted_on[installation_id] = record
        self._forget(installation_id)
        log.info(
            "installation %s was removed (%s): dropped its cached client",
            installation_id,
            record.get("reason") if isinstance(record, dict) else record,
        )
        return True

    def sweep(self, installation_ids: list[int]) -> list[int]:
        """``check`` each of ``installation_ids`` (the ones cached here); returns those forgotten."""
        return [installation_id for installation_id in installation_ids if self.check(installation_id)]
