"""One writer at a time for one commit's gate check run.

The gate of a commit is one check run whose record holds a section per pull request at that
head. Two pull requests at the same commit (twins) are different queue keys, so their reconciles
may run at once; each reads the record, changes its own section and writes the whole check back,
and without this lock the later write would drop what the earlier one recorded (a sign-off
given by command, whose comment is already marked handled, would be lost for good).

The lock is a lease in the bot's store (``update_state`` is atomic across threads and
processes): one entry per repository holding the commits being written, each with an expiry so
that a killed worker's lease lapses. A busy commit makes the job retry shortly instead of
waiting on a worker thread. Twins are rare, so the lock is almost never contended.

Each lease names its holder, the queue key of the job that took it. A lease left by the same key
is taken over at once: the queue never runs one key twice at once, so it is a run of that key
that died mid-write (a SIGKILLed worker) and is being run again, not a twin writing. Waiting out
LEASE_SECONDS there held the pull request's gate for two minutes after every such crash.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.errors import RetryLater
from bot.store import KeyValueStore

LEASE_SECONDS = 120.0
RETRY_AFTER_SECONDS = 2.0


def _state_name(repo: str) -> str:
    return f"gate-commit-locks:{repo}"


@contextmanager
def commit_lock(
    store: KeyValueStore, repo: str, sha: str, holder: str = "", now: float | None = None
) -> Iterator[None]:
    """Hold the write lease of ``repo``'s gate check on ``sha``, or raise ``RetryLater``.
    ``holder``: the job's queue key (a lease of that key is an earlier run's, taken over)."""
    token = uuid.uuid4().hex
    started = time.time() if now is None else now

    def acquire(current: Any) -> dict[str, Any]:
        leases = _live(current, started)
        held = leases.get(sha)
        if held is None or (holder and held.get("holder") == holder):
            leases[sha] = {"token": token, "until": started + LEASE_SECONDS, "holder": holder}
        return leases

    leases = store.update_state(_state_name(repo), acquire)
    holder = (leases or {}).get(sha) or {}
    if holder.get("token") != token:
        raise RetryLater(
            started + RETRY_AFTER_SECONDS, f"the gate of {sha[:7]} is being written by another job"
        )
    try:
        yield
    finally:

        def release(current: Any) -> dict[str, Any]:
            leases = _live(current, time.time())
            if (leases.get(sha) or {}).get("token") == token:
                del leases[sha]
            return leases

        store.update_state(_state_name(repo), release)


def _live(current: Any, now: float) -> dict[str, Any]:
    """The leases not yet expired (expired ones are dropped, so the entry stays small)."""
    if not isinstance(current, dict):
        return {}
    return {
        sha: lease
        for sha, lease in current.items()
        if isinstance(lease, dict) and isinstance(lease.get("until"), int | float) and lease["until"] > now
    }
