"""Route a job to the reconciler that owns its key kind, and run it: ``run_job``.

``RECONCILERS`` (one per key kind) and ``DISCOVERIES`` (run on every ``repo:`` job) are the one
place reconcilers are registered; no module registers itself on import.

``run_job`` is the job boundary: it builds the ``JobContext`` (installation client, bot login,
effective configuration), counts the job's API calls, and turns GitHub's errors into what the
queue understands (``PermanentError``, ``RetryLater``, anything else = transient).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.core.echoes import FAN_OUT_SENDER, SENDERS_HINT
from bot.errors import PermanentError, RetryLater
from bot.github import accounting, pacer
from bot.github.errors import GithubException, map_github_exception
from bot.github.freshness import ECHO_TOUCHED_HINT
from bot.jobs import JobSpec, parse_key
from bot.reconcilers import audit, deploy, echoes, pr, release, release_discovery, repo
from bot.reconcilers.context import JobContext
from bot.reconcilers.repo import Discovery

Reconciler = Callable[[JobContext], None]

log = logging.getLogger("bot.reconcile")


# What runs on every ``repo:`` job besides configuration changes and fan-out, in this order: the
# gate's audit of release branches, then release-branch and tag discovery. Each returns the jobs
# to enqueue. A new discovery is added here, nowhere else.
DISCOVERIES: tuple[Discovery, ...] = (audit.gate_discovery, release_discovery.discover_releases)


def _reconcile_repo(ctx: JobContext) -> None:
    repo.reconcile(ctx, DISCOVERIES)


# The reconciler of each key kind (``bot.jobs``): the one place they are registered.
RECONCILERS: dict[str, Reconciler] = {
    "pr": pr.reconcile,
    "release": release.reconcile,
    "repo": _reconcile_repo,
    "deploy": deploy.reconcile,
}


def reconciler_for(key: str) -> Reconciler:
    kind, _, _ = parse_key(key)
    return RECONCILERS[kind]


@dataclass(frozen=True)
class JobReport:
    key: str
    outcome: str  # "ok"
    api_calls: int
    duration_seconds: float
    config_error: str | None = None
    config_valid: bool = True
    rate_limit_remaining: int | None = None


def run_job(job: JobSpec, services: Any, enqueue: Callable[[list[JobSpec]], None] | None = None) -> JobReport:
    """Run the reconciler of ``job.key`` with a fresh context. Raises ``PermanentError``,
    ``RetryLater`` or a transient exception; the exception carries ``api_calls`` for the job log."""
    try:
        parse_key(job.key)
    except ValueError as exc:
        raise PermanentError(f"malformed job key {job.key!r}: {exc}") from None
    if job.installation_id is None:
        raise PermanentError(f"job {job.key} has no installation id")
    if not job.repo or "/" not in job.repo:
        raise PermanentError(f"job {job.key} has no repository (owner/name)")
    started = time.perf_counter()
    store = getattr(services, "store", None)
    if echoes.may_be_echo(job) and echoes.is_own_echo(store, job, _bot_login(services)):
        # Woken only by the webhooks of this key's own last writes: the run that wrote them
        # already decided on what they show (bot.reconcilers.echoes).
        log.info("job %s: only echoes of its own writes (%s); nothing to reconcile", job.key, job.reason)
        return JobReport(key=job.key, outcome="ok", api_calls=0, duration_seconds=0.0)
    _record_touches(job, services)
    with accounting.count_job_calls() as calls:
        try:
            return _run(job, services, enqueue, calls, started)
        finally:
            if store is not None and calls.writes and calls.echoes_settle and hasattr(store, "update_state"):
                echoes.record_writes(store, job.repo, job.key, calls.writes)


def _bot_login(services: Any) -> str | None:
    try:
        login = services.bot_login
    except Exception:  # noqa: BLE001 - no login known (GitHub unreachable): never skip a job
        return None
    return login if isinstance(login, str) else None


def _run(
    job: JobSpec,
    services: Any,
    enqueue: Callable[[list[JobSpec]], None] | None,
    calls: accounting.JobCallCount,
    started: float,
) -> JobReport:
    try:
        # The gate (``pr:``) is what a person waits for; release bookkeeping can give way to it.
        with pacer.priority(pacer.INTERACTIVE if job.key.startswith("pr:") else pacer.BULK):
            ctx = _build_context(job, services, enqueue)
            reconciler_for(job.key)(ctx)
    except (PermanentError, RetryLater) as exc:
        exc.api_calls = calls.calls  # type: ignore[attr-defined]
        raise
    except GithubException as exc:
        mapped = map_github_exception(exc)
        if exc.status == 401:
            # A revoked token or an uninstalled App: rebuild the client on the next attempt.
            services.forget_installation(job.installation_id)
        if mapped is None:
            exc.api_calls = calls.calls  # type: ignore[attr-defined]
            raise
        if isinstance(mapped, PermanentError) and _installation_gone(exc):
            services.forget_installation(job.installation_id)
        mapped.api_calls = calls.calls  # type: ignore[attr-defined]
        log.warning("job %s: GitHub answered %s: %s", job.key, exc.status, mapped)
        raise mapped from exc
    except Exception as exc:
        exc.api_calls = calls.calls  # type: ignore[attr-defined]
        raise
    return JobReport(
        key=job.key,
        outcome="ok",
        api_calls=calls.calls,
        duration_seconds=time.perf_counter() - started,
        config_error=ctx.config_error,
        config_valid=ctx.config_valid,
        rate_limit_remaining=calls.rate_limit_remaining,
    )


def _record_touches(job: JobSpec, services: Any) -> None:
    """The event behind this job may have changed facts the read cache serves from a freshness
    window (hint ``touched``, bot.github.freshness): end those windows before anything is read, in
    every process sharing the touch clock, so the job an event woke reads past them."""
    touched = job.hints.get("touched")
    cache = getattr(getattr(services, "app", None), "response_cache", None)
    if cache is None or cache.touches is None or not isinstance(touched, list) or not job.repo:
        return
    echo_touched = job.hints.get(ECHO_TOUCHED_HINT)
    if isinstance(echo_touched, list) and _only_own_senders(job, services):
        # Only echoes of the bot's own writes: each write touched what it changed on the shared
        # write clock when GitHub answered it, and wrote its answer through where it could
        # (bot.github.write_through); touching again would end the windows it just renewed.
        touched = echo_touched
    # At the time the delivery arrived (hint ``touched_at``), not now: an answer GitHub confirmed
    # after the event arrived already shows it, so the ``repo:`` and ``release:`` jobs of one
    # delivery do not both read the same lists past their windows.
    at = job.hints.get("touched_at")
    when = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else None
    if when is not None and when > time.time():
        when = None  # never trust a time from the future (a clock ahead): touch now
    cache.touches.touch(job.repo, [family for family in touched if isinstance(family, str)], at=when)


def _only_own_senders(job: JobSpec, services: Any) -> bool:
    senders = job.hints.get(SENDERS_HINT)
    if not isinstance(senders, list) or not senders:
        return False
    login = _bot_login(services)
    # A reconciler's own wake-up is the bot's too: what it touched is in ``echo_touched``.
    own = {login.lower(), FAN_OUT_SENDER} if login is not None else set()
    return login is not None and all(isinstance(s, str) and s in own for s in senders)


def _build_context(
    job: JobSpec, services: Any, enqueue: Callable[[list[JobSpec]], None] | None
) -> JobContext:
    assert job.installation_id is not None and job.repo is not None
    gh = services.client_for(job.installation_id)
    _, repo_id, _ = parse_key(job.key)
    loaded = services.config_loader.load(gh, job.repo, repo_id=repo_id, installation_id=job.installation_id)
    if loaded.error:
        log.warning(
            "job %s: configuration error (%s in effect): %s",
            job.key,
            "last valid configuration" if loaded.valid else "defaults, gate fails closed",
            loaded.error,
        )
    return JobContext(
        job=job,
        gh=gh,
        repo_full_name=job.repo,
        bot_login=services.bot_login,
        app_id=services.app_id,
        config=loaded.config,
        config_error=loaded.error,
        store=services.store,
        enqueue=_not_echoes(enqueue or services.enqueue),
        services=services,
        schedule=_scheduled(services),
        config_valid=loaded.valid,
    )


def _not_echoes(enqueue: Callable[[list[JobSpec]], None]) -> Callable[[list[JobSpec]], None]:
    """Jobs a reconciler enqueues (fan-out, wake-ups) are nobody's echo: their sender hint says
    so, and it stays in the hints of any job they coalesce with (bot.reconcilers.echoes)."""

    def marked(jobs: list[JobSpec]) -> None:
        enqueue([replace(j, hints=_from_a_reconciler(j.hints)) for j in jobs])

    return marked


def _from_a_reconciler(hints: dict[str, Any]) -> dict[str, Any]:
    """The hints of a job a reconciler enqueues: nobody's echo (its sender), and whatever it says
    it touched is touched even when it coalesces with echoes of the bot's own writes only, whose
    touches are the smaller ``echo_touched`` (``_record_touches``)."""
    marked = {**hints, SENDERS_HINT: [FAN_OUT_SENDER]}
    touched = [f for f in (hints.get("touched") or []) if isinstance(f, str)]
    if touched:
        echo = [f for f in (hints.get(ECHO_TOUCHED_HINT) or []) if isinstance(f, str)]
        marked[ECHO_TOUCHED_HINT] = sorted(set(touched) | set(echo))
    return marked


def _scheduled(services: Any) -> Callable[[JobSpec, float], Any] | None:
    """The queue's timed wake-ups, marked like fan-out: a wake-up is nobody's echo."""
    schedule = getattr(services, "schedule", None)
    if not callable(schedule):
        return None

    def marked(spec: JobSpec, at: float) -> Any:
        return schedule(replace(spec, hints=_from_a_reconciler(spec.hints)), at)

    return marked


def _installation_gone(exc: GithubException) -> bool:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or "").lower()
    return "suspended" in message or "installation" in message
