"""The gate check's write lease (bot/reconcilers/commit_lock.py): twins wait, a crashed run of the
same key does not hold its own pull request up."""

from __future__ import annotations

from typing import Any

import pytest
from memory_store import MemoryStore

from bot.errors import RetryLater
from bot.reconcilers.commit_lock import LEASE_SECONDS, commit_lock

REPO = "acme/rocket"
SHA = "a" * 40


_DEAD_RUNS: list[Any] = []  # kept alive: a collected generator would run its finally (the release)


def _crash_inside(store: MemoryStore, holder: str, now: float) -> None:
    """A run that took the lease and died before releasing it (SIGKILL: no finally runs)."""
    held = commit_lock(store, REPO, SHA, holder=holder, now=now)
    held.__enter__()  # never exited
    _DEAD_RUNS.append(held)


def test_a_twin_waits_while_another_key_writes_the_commit():
    store = MemoryStore()
    with commit_lock(store, REPO, SHA, holder="pr:1#5"):
        with pytest.raises(RetryLater, match="being written by another job"):
            with commit_lock(store, REPO, SHA, holder="pr:1#6"):
                pass
    with commit_lock(store, REPO, SHA, holder="pr:1#6"):
        pass  # released: the twin goes on


def test_a_lease_left_by_a_crashed_run_of_the_same_key_is_taken_over_at_once():
    store = MemoryStore()
    _crash_inside(store, "pr:1#5", now=1000.0)
    with pytest.raises(RetryLater):  # a twin still waits for the lease to lapse
        with commit_lock(store, REPO, SHA, holder="pr:1#6", now=1001.0):
            pass
    with commit_lock(store, REPO, SHA, holder="pr:1#5", now=1001.0):
        # The key's next run: the queue never runs one key twice at once, so the lease is stale.
        with pytest.raises(RetryLater):
            with commit_lock(store, REPO, SHA, holder="pr:1#6", now=1002.0):
                pass
    assert SHA not in (store.get_state(f"gate-commit-locks:{REPO}") or {})


def test_a_lease_of_another_key_lapses_after_its_lease_time():
    store = MemoryStore()
    _crash_inside(store, "pr:1#5", now=1000.0)
    with commit_lock(store, REPO, SHA, holder="pr:1#6", now=1000.0 + LEASE_SECONDS + 1):
        pass


def test_without_a_holder_nothing_is_taken_over():
    store = MemoryStore()
    _crash_inside(store, "", now=1000.0)
    with pytest.raises(RetryLater):
        with commit_lock(store, REPO, SHA, now=1001.0):
            pass
