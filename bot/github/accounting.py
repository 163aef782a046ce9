"""Counting every GitHub API call, per installation and per job.

A job's count lives in a context variable set around the job by ``count_job_calls``: a worker
thread runs one job at a time and every request of that job is made from that thread, so the
count needs no locking and never mixes two jobs. Per-installation totals are process-wide and
locked. Both feed the Prometheus metrics of ``bot.metrics`` (a leaf module: prometheus-client
only, so importing it here creates no cycle).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.metrics import record_github_call, set_rate_limit_remaining

log = logging.getLogger(__name__)


@dataclass
class JobCallCount:
    """API calls made while one job ran."""

    calls: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limit_remaining: int | None = None
    # (verb, url) of every write the job sent: the echo ledger (bot.reconcilers.echoes) names them.
    writes: list[tuple[str, str]] = field(default_factory=list)
    # False once the job wrote something that changes facts it decided on (``needs_second_look``).
    echoes_settle: bool = True
    # repo -> the newest moment a ref answer (tags, branch heads) this job used was known to hold:
    # a later ref read of the job is not served from a window older than that (bot.github.response_cache).
    refs_seen_at: dict[str, float] = field(default_factory=dict)


_current_job: contextvars.ContextVar[JobCallCount | None] = contextvars.ContextVar(
    "release_bot_job_calls", default=None
)
_lock = threading.Lock()
_per_installation: Counter[int | None] = Counter()


@contextlib.contextmanager
def count_job_calls() -> Iterator[JobCallCount]:
    """Count the API calls made by the code inside the ``with`` block (in this thread)."""
    counter = JobCallCount()
    token = _current_job.set(counter)
    try:
        yield counter
    finally:
        _current_job.reset(token)


def current_job_count() -> JobCallCount | None:
    return _current_job.get()


def record_write(verb: str, url: str) -> None:
    """A write left for GitHub in the current job (landed or not: its webhook may come)."""
    job = _current_job.get()
    if job is not None:
        job.writes.append((verb, url))


def needs_second_look() -> None:
    """The current job wrote what changes the facts its own view was computed from (an item moved
    to another milestone changes the counts it rendered): the echoes of its writes must run."""
    job = _current_job.get()
    if job is not None:
        job.echoes_settle = False


def installation_calls(installation_id: int | None) -> int:
    """Calls made by this process for one installation (None: the App's own JWT calls)."""
    with _lock:
        return _per_installation[installation_id]


def record_call(installation_id: int | None, status: int, headers: Any = None) -> None:
    """Record one HTTP request made to GitHub (retries included) and its rate-limit headers."""
    remaining = _header_int(headers, "X-RateLimit-Remaining")
    job = _current_job.get()
    if job is not None:
        job.calls += 1
        job.by_status[status] += 1
        if remaining is not None:
            job.rate_limit_remaining = remaining
    with _lock:
        _per_installation[installation_id] += 1
    try:
        record_github_call(installation_id, status)
        if remaining is not None:
            set_rate_limit_remaining(installation_id, remaining)
    except Exception:  # metrics must never break a job
        log.exception("recording GitHub API call metrics failed")


def _header_int(headers: Any, name: str) -> int | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
