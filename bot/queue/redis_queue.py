"""The shared work queue on Redis (QUEUE_URL=redis://HOST:PORT/DB): web processes and workers on
several machines, one queue.

Why Redis with our own Lua scripts rather than RQ or Streams consumer groups: the queue's
guarantees are about *keys*, not messages. A key waits at most once with its hints merged, a key
enqueued while it runs is queued once more when that run ends, and one key never runs twice at
once. RQ enqueues function calls (a second event for a waiting key is a second job; no
rerun-after-change, no per-key exclusivity) and a stream is an append-only log that cannot merge
an entry already in it. Each step here (enqueue, claim, renew, finish) is one Lua script
(bot/queue/redis_lua.py), atomic on the server, over plain hashes, lists and sorted sets.

Durability: run Redis with ``appendonly yes`` and ``appendfsync always`` (scripts/start-redis
does) and a job accepted with 202 survives a Redis restart; with ``everysec`` up to one second of
deliveries may be lost in a crash. Every call retries through a brief Redis outage (restart,
fail-over); a step retried after it was applied is harmless: enqueues coalesce and a lost claim
token only means the job runs again after its lease (at-least-once).

Time: ``now`` is this host's clock (hosts keep it with NTP; leases of 30 s absorb seconds of skew).
Fairness: a claim serves installations in round robin, and while more than one worker thread is
registered no installation may hold more than QUEUE_INSTALLATION_SHARE of them (bot/queue/redis_lua.py).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from bot.jobs import JobSpec
from bot.queue import redis_lua
from bot.queue.base import (
    FAILED,
    PENDING,
    RUNNING,
    FinishResult,
    Job,
    JobQueue,
    QueueCounts,
    QueueStats,
    QueueUnavailable,
    RetryPolicy,
    Wakeup,
)
from bot.queue.hints import merge_hints

FAILED_RETENTION_SECONDS = 14 * 24 * 3600  # as the SQLite queue: dead letters are for people to read
STATE_TTL_SECONDS = 90 * 24 * 3600  # caches, hints and the last valid configuration; renewed on write
DEFAULT_PREFIX = "release-bot:"
DEFAULT_INSTALLATION_SHARE = 0.75
_NO_INSTALLATION = "-"
# How often one process looks for due timed wake-ups (at most; on claims): a wake-up is enqueued
# this much late at worst, and idle workers' polling costs Redis one more script no oftener.
WAKE_POLL_SECONDS = 0.2
WAKE_BATCH = 200


RIDE_OUT_SECONDS = 15.0  # how long a call waits for Redis to come back before it fails
_RETRIES = 20
_BACKOFF = ExponentialBackoff(cap=1.0, base=0.05)  # 0.1, 0.2, 0.4, 0.8, then 1 s apart: ~17 s


class _RidingOutPool(redis.ConnectionPool):
    """A pool whose check-out waits for Redis to come back, as a command already does.

    redis-py retries a command that fails once its connection is in hand (``retry`` below), but a
    pooled connection whose server went away is re-connected while it is checked out, before that
    retry begins, and a refused connect there (the port is closed while Redis restarts) or a
    LOADING answer (it replays its append-only file) was raised at once. The intake then answered
    503 to every delivery of that second, and the redelivery scan had them sent again later: a
    restart the queue promises to ride out became failed deliveries.
    """

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + RIDE_OUT_SECONDS
        failures = 0
        while True:
            try:
                return super().get_connection(*args, **kwargs)
            except (redis.ConnectionError, redis.TimeoutError):
                failures += 1
                pause = _BACKOFF.compute(failures)
                if failures > _RETRIES or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)


def connect(url: str) -> redis.Redis:
    """A client that rides out a Redis restart or fail-over of up to ~15 s instead of failing the
    request or the job (redis-py reconnects; its pool is reset after a fork, as gunicorn does).
    A command retried after its first attempt ran on the server is harmless (module docstring)."""
    pool = _RidingOutPool.from_url(
        url,
        decode_responses=True,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=15,
        retry=Retry(_BACKOFF, _RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # close() closes the pool too, as from_url's client does
    return client


def _fold_hints(parts: list[str]) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for part in parts:
        hints = merge_hints(hints, json.loads(part))
    return hints


def _encode(spec: JobSpec) -> list[str]:
    return [
        spec.key,
        _NO_INSTALLATION if spec.installation_id is None else str(spec.installation_id),
        spec.repo or "",
        spec.reason or "",
        json.dumps(spec.hints, sort_keys=True) if spec.hints else "",
    ]


def _job(id_: int | str, fields: dict[str, str], parts: list[str], token: str | None = None) -> Job:
    inst = fields.get("inst", _NO_INSTALLATION)
    return Job(
        id=int(id_),
        spec=JobSpec(
            fields["key"],
            None if inst == _NO_INSTALLATION else int(inst),
            fields.get("repo") or None,
            fields.get("reason", ""),
            _fold_hints(parts),
        ),
        state=fields["state"],
        attempts=int(fields.get("attempts", 0)),
        not_before=float(fields.get("not_before", 0)),
        claim_token=token,
        last_error=fields.get("last_error"),
        permanent=fields.get("permanent") == "1",
        created_at=float(fields.get("created_at", 0)),
        updated_at=float(fields.get("updated_at", 0)),
    )


class RedisQueue(JobQueue):
    def __init__(
        self,
        url: str,
        retry_policy: RetryPolicy | None = None,
        delivery_ttl_seconds: int = 3 * 24 * 3600,
        clock: Callable[[], float] = time.time,
        prefix: str = DEFAULT_PREFIX,
        state_ttl_seconds: int = STATE_TTL_SECONDS,
        installation_share: float = DEFAULT_INSTALLATION_SHARE,
        client: redis.Redis | None = None,
    ) -> None:
        self.url = url
        self.retry_policy = retry_policy or RetryPolicy()
        self.delivery_ttl_seconds = delivery_ttl_seconds
        self.prefix = prefix
        self.state_ttl_seconds = state_ttl_seconds
        self.installation_share = installation_share
        self._clock = clock
        self.client = client or connect(url)
        self._worker_id = ""
        self._scripts = {
            name: self.client.register_script(getattr(redis_lua, name))
            for name in (
                "ENQUEUE",
                "CLAIM",
                "RENEW",
                "COMPLETE",
                "FAIL",
                "FAIL_PERMANENTLY",
                "RETRY_LATER",
                "RETRY",
                "DROP",
                "DROP_INSTALLATION",
                "PURGE_FAILED",
                "HEARTBEAT",
                "LEAVE",
                "COMPACT_HINTS",
                "SCHEDULE_WAKEUP",
                "WAKE_DUE",
                "DROP_WAKEUPS",
            )
        }
        self._next_wake_check = 0.0

    def _run(self, script: str, *args: Any) -> Any:
        return self._scripts[script](args=[self.prefix, *args])

    # --- intake ---

    def accept_delivery(self, delivery_id: str, jobs: list[JobSpec]) -> bool:
        fields = [field for spec in jobs for field in _encode(spec)]
        try:
            return bool(
                self._run("ENQUEUE", repr(self._clock()), delivery_id, self.delivery_ttl_seconds, *fields)
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # A timeout after the script ran would mean it was recorded: then the redelivery
            # is answered as a duplicate, and the work is in the queue either way.
            raise QueueUnavailable(f"Redis: {type(exc).__name__}") from exc

    def enqueue(self, jobs: list[JobSpec]) -> None:
        # One script per few hundred jobs: a fan-out of thousands does not hold the server for long.
        for start in range(0, len(jobs), 200):
            fields = [field for spec in jobs[start : start + 200] for field in _encode(spec)]
            self._run("ENQUEUE", repr(self._clock()), "", 0, *fields)

    def delivery_seen(self, delivery_id: str) -> bool:
        seen = self.client.get(f"{self.prefix}delivery:{delivery_id}")
        return seen is not None and float(seen) >= self._clock() - self.delivery_ttl_seconds

    # --- timed wake-ups ---

    def _keep_wakeup(self, spec: JobSpec, at: float) -> None:
        key, inst, repo, reason, hints = _encode(spec)
        self._run("SCHEDULE_WAKEUP", repr(at), key, json.dumps([inst, repo, reason, hints]))

    def list_wakeups(self, limit: int = 1000) -> list[Wakeup]:
        found = self.client.zrange(f"{self.prefix}wakeups", 0, max(0, limit - 1), withscores=True)
        if not found:
            return []
        specs = self.client.hmget(f"{self.prefix}wakeup-specs", [key for key, _ in found])
        out = []
        for (key, at), raw in zip(found, specs, strict=True):
            inst, repo, reason, hints = json.loads(raw) if raw else (_NO_INSTALLATION, "", "", "")
            spec = JobSpec(
                key,
                None if inst == _NO_INSTALLATION else int(inst),
                repo or None,
                reason,
                json.loads(hints) if hints else {},
            )
            out.append(Wakeup(spec, float(at)))
        return out

    def _wake_due(self) -> None:
        now = self._clock()
        if now < self._next_wake_check:
            return
        self._next_wake_check = now + WAKE_POLL_SECONDS
        while self._run("WAKE_DUE", repr(now), WAKE_BATCH) >= WAKE_BATCH:
            pass  # a backlog of wake-ups (after downtime): in batches, each one short

    # --- workers ---

    def claim(self, lease_seconds: float) -> Job | None:
        self._wake_due()
        token = uuid.uuid4().hex
        answer = self._run(
            "CLAIM", repr(self._clock()), lease_seconds, token, self.installation_share, self._worker_id
        )
        if not answer:
            return None
        id_, flat, parts = answer
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        job = _job(id_, fields, parts, token)
        if len(parts) > 1:
            # Keep the stored hints small: what the run starts with, merged into one part.
            self._run("COMPACT_HINTS", id_, token, len(parts), json.dumps(job.spec.hints, sort_keys=True))
        return job

    def renew(self, job: Job, lease_seconds: float) -> bool:
        return bool(self._run("RENEW", job.id, job.claim_token or "", repr(self._clock()), lease_seconds))

    @staticmethod
    def _result(outcome: str) -> FinishResult:
        return FinishResult(
            requeued=outcome in ("requeued", "dead_requeued"),
            dead_lettered=outcome.startswith("dead"),
            stale=outcome == "stale",
        )

    def complete(self, job: Job) -> FinishResult:
        return self._result(self._run("COMPLETE", job.id, job.claim_token or "", repr(self._clock())))

    def fail(self, job: Job, error: str) -> FinishResult:
        delay = self.retry_policy.delay(job.attempts)
        return self._result(
            self._run(
                "FAIL",
                job.id,
                job.claim_token or "",
                repr(self._clock()),
                error,
                self.retry_policy.max_attempts,
                delay,
            )
        )

    def fail_permanently(self, job: Job, reason: str) -> FinishResult:
        return self._result(
            self._run("FAIL_PERMANENTLY", job.id, job.claim_token or "", repr(self._clock()), reason)
        )

    def retry_later(self, job: Job, not_before: float, reason: str) -> FinishResult:
        return self._result(
            self._run(
                "RETRY_LATER", job.id, job.claim_token or "", repr(self._clock()), repr(not_before), reason
            )
        )

    def heartbeat(self, worker_id: str, threads: int, ttl_seconds: float) -> None:
        self._worker_id = worker_id  # recorded on the jobs this process claims (who runs what)
        self._run("HEARTBEAT", worker_id, threads, repr(self._clock() + ttl_seconds))

    def leave(self, worker_id: str) -> None:
        self._run("LEAVE", worker_id)

    # --- operators ---

    def counts(self) -> QueueCounts:
        pipe = self.client.pipeline(transaction=True)
        pipe.hlen(f"{self.prefix}live")
        pipe.zcard(f"{self.prefix}leases")
        pipe.zcard(f"{self.prefix}failed")
        live, running, failed = pipe.execute()
        return QueueCounts(live - running, running, failed)

    def stats(self) -> QueueStats:
        installations = self.client.zrange(f"{self.prefix}rr", 0, -1)
        pipe = self.client.pipeline(transaction=True)
        for inst in installations:
            pipe.zcard(f"{self.prefix}due:{inst}")
        pipe.zrange(f"{self.prefix}waiting", 0, 0, withscores=True)
        *depths, oldest = pipe.execute()
        by_installation = {inst: n for inst, n in zip(installations, depths, strict=True) if n}
        age = max(0.0, self._clock() - oldest[0][1]) if oldest else None
        return QueueStats(self.counts(), by_installation, age)

    def list_jobs(self, states: tuple[str, ...] = (PENDING, RUNNING, FAILED), limit: int = 1000) -> list[Job]:
        ids: list[int] = []
        if PENDING in states or RUNNING in states:
            ids.extend(int(i) for i in self.client.hvals(f"{self.prefix}live"))
        if FAILED in states:
            ids.extend(int(i) for i in self.client.zrange(f"{self.prefix}failed", 0, -1))
        jobs: list[Job] = []
        ids.sort()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            pipe = self.client.pipeline(transaction=False)
            for id_ in chunk:
                pipe.hgetall(f"{self.prefix}job:{id_}")
                pipe.lrange(f"{self.prefix}hints:{id_}", 0, -1)
            answers = pipe.execute()
            for id_, fields, parts in zip(chunk, answers[::2], answers[1::2], strict=True):
                if fields and fields.get("state") in states:
                    jobs.append(_job(id_, fields, parts))
                    if len(jobs) >= limit:
                        return jobs
        return jobs

    def retry(self, job_id: int) -> bool:
        return bool(self._run("RETRY", job_id, repr(self._clock())))

    def drop(self, job_id: int) -> bool:
        return bool(self._run("DROP", job_id))

    def drop_installation(self, installation_id: int, repos: list[str] | None = None) -> int:
        if repos is not None and not repos:
            return 0
        self._run("DROP_WAKEUPS", installation_id, *(repos or []))  # not counted: no waiting jobs
        return int(self._run("DROP_INSTALLATION", installation_id, *(repos or [])))

    def purge_expired(self) -> None:
        # Delivery ids and state expire by themselves (Redis TTLs); dead letters are swept here.
        self._run("PURGE_FAILED", repr(self._clock() - FAILED_RETENTION_SECONDS))

    # --- key-value store: shared by every process, each value with a TTL renewed on write ---

    def _state_key(self, name: str) -> str:
        return f"{self.prefix}kv:{name}"

    def get_state(self, name: str) -> Any | None:
        raw = self.client.get(self._state_key(name))
        return None if raw is None else json.loads(raw)

    def set_state(self, name: str, value: Any) -> None:
        self.client.set(self._state_key(name), json.dumps(value), ex=self.state_ttl_seconds)

    def update_state(self, name: str, change: Callable[[Any | None], Any]) -> Any:
        key = self._state_key(name)

        def apply(pipe: Any) -> Any:
            # WATCH (set by transaction()) makes EXEC fail if another process wrote meanwhile; then
            # redis-py calls this again with the new value, so no concurrent update is lost.
            raw = pipe.get(key)
            value = change(None if raw is None else json.loads(raw))
            pipe.multi()
            pipe.set(key, json.dumps(value), ex=self.state_ttl_seconds)
            return value

        return self.client.transaction(apply, key, value_from_callable=True)

    def state_items(self) -> list[tuple[str, Any]]:
        """Every stored state value (for `release-bot queue migrate`)."""
        start = len(self._state_key(""))
        items = []
        for key in self.client.scan_iter(match=self._state_key("*"), count=500):
            raw = self.client.get(key)
            if raw is not None:
                items.append((key[start:], json.loads(raw)))
        return items

    def close(self) -> None:
        self.client.close()


def worker_identity() -> str:
    """A worker process's id in the registry of worker threads (host and pid: unique while alive)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
