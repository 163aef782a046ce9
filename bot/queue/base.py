"""The work queue's interface: what intake, workers and the CLI rely on.

The embedded default is ``bot.queue.sqlite.SqliteQueue``; ``bot.queue.redis_queue.RedisQueue``
(QUEUE_URL=redis://) implements the same methods for web processes and workers on several
machines. Semantics every backend must keep (the tests in tests/queue/ pin them):

- A key is *live* at most once (pending or running). Enqueuing a key that is pending merges the
  hints into the waiting job (coalescing). Enqueuing a key that is running marks it *dirty*: when
  the run ends, the key is queued once more with the hints that arrived meanwhile.
- One key never runs in two workers at once: claiming moves the one live row to running under a
  lease owned by a claim token; only that token may finish the job.
- A lease expires unless renewed; an expired running job is claimable again (a SIGKILLed process
  loses nothing). Each claim counts an attempt; ``retry_later`` gives the attempt back.
- ``fail`` retries with exponential backoff up to a cap, then dead-letters (state ``failed``);
  ``fail_permanently`` ends the job at once with its reason (also listed as failed).
- ``accept_delivery`` records the delivery id and enqueues its jobs in one transaction, durable on
  return, and refuses a delivery id seen within the retention window (GitHub redelivers for 3 days).
- ``schedule(spec, at)`` is a timed wake-up (the controller-runtime ``RequeueAfter`` idea): the key
  is enqueued at ``at``, for facts that change with time alone (a freeze's first day, a due date
  passed). Wake-ups are kept apart from the jobs, one per key with the earliest moment asked for, and
  turned into an ordinary enqueue when due (coalescing into a waiting job, hurrying it to run now if
  it was due later, or marking a running one dirty). Why apart: a pending row due in three weeks would
  hold back every event of its key until then (a waiting job keeps its due time), and would count in
  the backlog and its age. A moment in the past runs now; one beyond ``WAKEUP_HORIZON_SECONDS`` is
  ignored (a later reconcile schedules it again, and RESYNC_INTERVAL covers a quiet repository).
- A small key-value store (``get_state``/``set_state``, JSON values) lives beside the queue.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.jobs import JobSpec

PENDING = "pending"
RUNNING = "running"
FAILED = "failed"

# Timed wake-ups further ahead than this are not kept: the key's next reconcile (any event, a
# RESYNC round, `release-bot reconcile`) asks again, nearer the moment. Five weeks covers a
# sprint's freeze and due date; it bounds what a wrong date (year 2126) could pile up.
WAKEUP_HORIZON_SECONDS = 35 * 24 * 3600.0
SCHEDULED = "scheduled"
RUN_NOW = "now"
TOO_FAR = "too_far"


@dataclass(frozen=True)
class Wakeup:
    """A timed wake-up waiting in the queue: ``spec`` is enqueued at ``at`` (the queue's clock)."""

    spec: JobSpec
    at: float

    @property
    def key(self) -> str:
        return self.spec.key


class QueueUnavailable(Exception):
    """The queue's store did not answer (Redis down past the client's retries): nothing was
    recorded, so intake answers 503 and GitHub's redelivery brings the event back."""


@dataclass(frozen=True)
class Job:
    """A claimed or listed job: its spec plus the queue's bookkeeping."""

    id: int
    spec: JobSpec
    state: str
    attempts: int
    not_before: float
    claim_token: str | None = None
    last_error: str | None = None
    permanent: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True)
class QueueCounts:
    pending: int
    running: int
    failed: int

    def as_dict(self) -> dict[str, int]:
        return {"pending": self.pending, "running": self.running, "failed": self.failed}


@dataclass(frozen=True)
class QueueStats:
    """What /healthz and /metrics report of the (possibly shared) queue."""

    counts: QueueCounts
    pending_by_installation: dict[str, int]  # installation id ("-": none) -> waiting jobs
    oldest_waiting_seconds: float | None  # age of the job waiting longest; None when none waits

    def as_dict(self) -> dict[str, Any]:
        """The backlog beyond the counts (the ``backlog`` of /healthz)."""
        return {
            "dead_letters": self.counts.failed,
            "pending_by_installation": dict(self.pending_by_installation),
            "oldest_waiting_seconds": None
            if self.oldest_waiting_seconds is None
            else round(self.oldest_waiting_seconds, 3),
        }


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 300.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt: base * 2**(attempts-1), capped."""
        return min(self.backoff_cap_seconds, self.backoff_base_seconds * (2 ** max(0, attempts - 1)))


@dataclass
class FinishResult:
    """What finishing a job did: whether the key went back to pending (dirty or retry)."""

    requeued: bool = False
    dead_lettered: bool = False
    stale: bool = False  # the claim token no longer owns the job (lease lost): nothing was changed
    extra: dict[str, Any] = field(default_factory=dict)


class JobQueue(abc.ABC):
    """Durable, coalescing, per-key exclusive work queue plus the bot's small key-value store."""

    retry_policy: RetryPolicy

    # --- intake ---

    @abc.abstractmethod
    def accept_delivery(self, delivery_id: str, jobs: list[JobSpec]) -> bool:
        """Record ``delivery_id`` and enqueue ``jobs`` atomically and durably.
        Returns False (and enqueues nothing) when the delivery id was already accepted."""

    @abc.abstractmethod
    def enqueue(self, jobs: list[JobSpec]) -> None:
        """Enqueue with coalescing (fan-out from reconcilers, `release-bot reconcile`)."""

    def schedule(self, spec: JobSpec, at: float) -> str:
        """Enqueue ``spec`` at ``at`` (epoch seconds, the queue's clock): ``SCHEDULED`` (kept, or an
        earlier wake-up of the key was kept: never postponed), ``RUN_NOW`` (``at`` has come: enqueued
        now) or ``TOO_FAR`` (beyond ``WAKEUP_HORIZON_SECONDS``: ignored). Durable and idempotent:
        the same moment twice is one wake-up."""
        import time

        now = getattr(self, "_clock", time.time)()
        if at <= now:
            self.enqueue([spec])
            return RUN_NOW
        if at - now > WAKEUP_HORIZON_SECONDS:
            return TOO_FAR
        self._keep_wakeup(spec, at)
        return SCHEDULED

    def _keep_wakeup(self, spec: JobSpec, at: float) -> None:
        """Record the wake-up of ``spec.key`` at ``at``, or keep the earlier one already recorded."""
        raise NotImplementedError(f"{type(self).__name__} keeps no timed wake-ups")

    def list_wakeups(self, limit: int = 1000) -> list[Wakeup]:
        """The timed wake-ups waiting, earliest first."""
        return []

    # --- workers ---

    @abc.abstractmethod
    def claim(self, lease_seconds: float) -> Job | None:
        """Take the next runnable job (pending and due, or running with an expired lease), after
        turning the timed wake-ups that are due into enqueues."""

    @abc.abstractmethod
    def renew(self, job: Job, lease_seconds: float) -> bool:
        """Extend the lease; False when the claim was lost (the job must stop applying changes)."""

    @abc.abstractmethod
    def complete(self, job: Job) -> FinishResult:
        """Success: the job is removed, or re-queued once more if its key was enqueued while it ran."""

    @abc.abstractmethod
    def fail(self, job: Job, error: str) -> FinishResult:
        """Transient failure: retry with backoff, or dead-letter after the last attempt."""

    @abc.abstractmethod
    def fail_permanently(self, job: Job, reason: str) -> FinishResult:
        """The job can never succeed: it ends at once with the reason (listed as failed)."""

    @abc.abstractmethod
    def retry_later(self, job: Job, not_before: float, reason: str) -> FinishResult:
        """Requeue to run no earlier than ``not_before``; the attempt is not counted."""

    # --- operators (`release-bot jobs`, /healthz) ---

    @abc.abstractmethod
    def counts(self) -> QueueCounts: ...

    @abc.abstractmethod
    def list_jobs(
        self, states: tuple[str, ...] = (PENDING, RUNNING, FAILED), limit: int = 1000
    ) -> list[Job]: ...

    @abc.abstractmethod
    def retry(self, job_id: int) -> bool:
        """Move a failed job back to pending now (with fresh attempts). False if no such failed job."""

    @abc.abstractmethod
    def drop(self, job_id: int) -> bool:
        """Delete a pending or failed job. False if no such job (running jobs cannot be dropped)."""

    @abc.abstractmethod
    def drop_installation(self, installation_id: int, repos: list[str] | None = None) -> int:
        """Drop the waiting (pending) jobs of an uninstalled/suspended installation, or only those of
        ``repos`` ("owner/name") removed from it. Running jobs finish (and fail permanently on their
        own). Returns how many were dropped."""

    @abc.abstractmethod
    def purge_expired(self) -> None:
        """Forget delivery ids past the retention window and old failed jobs."""

    # --- key-value store (last valid configuration, caches) ---

    @abc.abstractmethod
    def get_state(self, name: str) -> Any | None: ...

    @abc.abstractmethod
    def set_state(self, name: str, value: Any) -> None: ...

    @abc.abstractmethod
    def update_state(self, name: str, change: Callable[[Any | None], Any]) -> Any:
        """Atomically replace the value under ``name`` with ``change(current)`` and return it.
        Jobs of different keys may append to one record at the same moment (the gate's audit
        log); get-then-set would lose one of them."""

    def stats(self, limit: int = 10_000) -> QueueStats:
        """Depth per installation and the oldest waiting job's age. This default reads the waiting
        jobs (at most ``limit``); a shared backend answers from its own indexes."""
        import time

        waiting = self.list_jobs((PENDING,), limit=limit)
        by_installation: dict[str, int] = {}
        for job in waiting:
            name = "-" if job.spec.installation_id is None else str(job.spec.installation_id)
            by_installation[name] = by_installation.get(name, 0) + 1
        oldest = min((job.created_at for job in waiting), default=None)
        now = getattr(self, "_clock", time.time)()  # the backend's clock where it has one (tests move it)
        return QueueStats(self.counts(), by_installation, None if oldest is None else max(0.0, now - oldest))

    def heartbeat(self, worker_id: str, threads: int, ttl_seconds: float) -> None:  # noqa: B027 - optional
        """A worker process is alive with ``threads`` threads (a shared queue sizes fairness by it)."""

    def leave(self, worker_id: str) -> None:  # noqa: B027 - optional
        """A worker process stops."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def sqlite_path(queue_url: str) -> str | None:
    """The file of a ``sqlite:///path`` QUEUE_URL (``sqlite:///./release-bot.db`` -> ``./release-bot.db``);
    None for another backend or an in-memory store."""
    if not queue_url.startswith("sqlite://"):
        return None
    path = queue_url[len("sqlite://") :]
    path = path[1:] if path.startswith("/") else path
    return path if path and path != ":memory:" else None


def is_redis_url(queue_url: str) -> bool:
    return queue_url.startswith(("redis://", "rediss://"))


def open_queue(
    queue_url: str,
    retry_policy: RetryPolicy | None = None,
    delivery_ttl_seconds: int = 3 * 24 * 3600,
    installation_share: float | None = None,
) -> JobQueue:
    """The backend named by QUEUE_URL."""
    if queue_url.startswith("sqlite://"):
        from bot.queue.sqlite import SqliteQueue

        return SqliteQueue(
            sqlite_path(queue_url) or ":memory:",
            retry_policy=retry_policy,
            delivery_ttl_seconds=delivery_ttl_seconds,
        )
    if is_redis_url(queue_url):
        from bot.queue.redis_queue import DEFAULT_INSTALLATION_SHARE, RedisQueue

        share = DEFAULT_INSTALLATION_SHARE if installation_share is None else installation_share
        return RedisQueue(
            queue_url,
            retry_policy=retry_policy,
            delivery_ttl_seconds=delivery_ttl_seconds,
            installation_share=share,
        )
    raise ValueError(f"unsupported QUEUE_URL {queue_url!r}")


def open_queue_from_settings(settings: Any) -> JobQueue:
    return open_queue(
        settings.queue_url,
        RetryPolicy(
            settings.job_max_attempts, settings.job_backoff_base_seconds, settings.job_backoff_cap_seconds
        ),
        settings.delivery_ttl_seconds,
        getattr(settings, "queue_installation_share", None),
    )
