"""Leader/follower group commit of deliveries for the SQLite queue (``SqliteQueue.accept_delivery``).

Concurrent deliveries in one process share one transaction and one fsync, and none returns
before that commit.
"""

from __future__ import annotations

import os
import threading

from bot.jobs import JobSpec


class Acceptance:
    """One delivery waiting for its group commit."""

    __slots__ = ("delivery_id", "jobs", "done", "accepted", "error")

    def __init__(self, delivery_id: str, jobs: list[JobSpec]) -> None:
        self.delivery_id = delivery_id
        self.jobs = jobs
        # A one-shot lock, released when the commit is done (or when this delivery's thread is
        # elected to lead the next batch): cheaper to wait on than an Event (no Condition, no
        # per-wait lock allocation) on the endpoint's hot path.
        self.done = threading.Lock()
        self.done.acquire()
        self.accepted: bool | None = None
        self.error: BaseException | None = None

    @property
    def settled(self) -> bool:
        return self.accepted is not None or self.error is not None


class GroupCommit:
    """Leader/follower group commit. The first waiting thread leads one batch; when it is done it
    hands the lead to a thread still waiting (if any) and returns its own answer at once, so no
    request waits behind commits of later batches (which made p99 latency grow with load)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._pending: list[Acceptance] = []
        self._leading = False

    def join(self, item: Acceptance) -> bool:
        """Queue ``item``; True when the caller must lead (nobody is committing)."""
        with self._lock:
            self._pending.append(item)
            if self._leading:
                return False
            self._leading = True
            return True

    def take(self) -> list[Acceptance]:
        with self._lock:
            batch, self._pending = self._pending, []
            return batch

    def successor(self) -> Acceptance | None:
        """After a batch: the waiting delivery whose thread leads the next batch, or None (and
        nobody leads until the next ``join``)."""
        with self._lock:
            if self._pending:
                return self._pending[0]
            self._leading = False
            return None
