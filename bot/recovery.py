"""Healing what the bot missed, without anyone running a command.

GitHub does not retry a webhook delivery that failed (the bot was down, answered 5xx, timed out);
it records it as failed and offers ``POST /app/hook/deliveries/{id}/attempts``. GitHub's documented
recovery script (docs: "Handling failed webhook deliveries") lists the deliveries made since it
last ran, treats a delivery whose ``status`` is not ``OK`` as failed, groups attempts by ``guid``
(a redelivery shares its original's guid), and redelivers the guids that never got an ``OK``.
``RedeliveryScan`` is that script, inside the bot:

- at start-up and every ``REDELIVERY_INTERVAL`` seconds;
- looking back to where the previous scan began (minus an overlap for deliveries still in
  flight then), never further than ``REDELIVERY_WINDOW_SECONDS``;
- once per guid, and again only when that redelivery failed too: at most ``MAX_ASKS_PER_GUID``
  times, except while the bot answers 503 (its own "not now": a full or unavailable store), which
  is asked for again each round; the guids asked for are kept in the store (pruned past the
  window), so two processes never ask twice and a delivery that keeps failing is not asked for
  forever;
- only deliveries that got no answer or a 5xx: a 4xx is the bot refusing the delivery on purpose
  (bad signature, wrong shape), and a redelivery would be refused again.

The intake dedupes by ``X-GitHub-Delivery``, so a redelivery of something that did get through
(a lost answer) is a no-op.

``Resync`` (``RESYNC_INTERVAL``, off by default) enqueues a ``repo:`` job with the ``fan_out``
hint for every repository of every installation, as ``release-bot reconcile`` does; the repo
reconciler enqueues every open release and every gated pull request. It enqueues keys, it does not
reconcile. It heals what no delivery record can: an outage longer than GitHub keeps deliveries.

Several processes may run this (``SERVE_WEB_WORKERS``): a round is claimed in the store, so one
process scans per interval, and a (re)started process scans at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from bot.errors import RetryLater
from bot.github.deliveries import HookDelivery, app_deliveries_since, app_redeliver, installation_repositories
from bot.jobs import JobSpec, repo_key
from bot.logging import log_fields

log = logging.getLogger("bot.recovery")

ASKED_STATE = "recovery:redelivered"  # {guid: {"id": attempt asked for, "n": asks, "t": unix time}}
MAX_ASKS_PER_GUID = 3
SCAN_STATE = "recovery:last_scan"  # unix time the last complete scan began
ROUND_PREFIX = "recovery:round:"  # {"owner", "began"}: which process runs a round
# A delivery still being sent when a scan began is listed by the next one (GitHub times out at 10 s).
SCAN_OVERLAP_SECONDS = 120.0
STARTUP_DELAY_SECONDS = 1.0  # let the web side accept connections before the first redelivery

REDELIVERIES = Counter(
    "release_bot_redeliveries_requested",
    "Failed webhook deliveries the bot asked GitHub to redeliver, by outcome (requested | refused)",
    ["outcome"],
)
RESYNCS = Counter("release_bot_resync_repositories", "Repositories enqueued by the periodic resync")


@dataclass(frozen=True)
class RedeliveryPlan:
    """What one scan decided: the newest failed attempt of each guid to redeliver."""

    redeliver: list[HookDelivery]
    delivered_ok: int = 0  # guids with at least one OK attempt
    already_asked: int = 0
    refused_by_bot: int = 0  # 4xx: not asked for again


def plan_redeliveries(deliveries: Iterable[HookDelivery], asked: dict[str, Any]) -> RedeliveryPlan:
    """Pure: group attempts by guid; a guid with an OK attempt is left alone, and so is one asked
    for already unless an attempt newer than that ask failed too (at most MAX_ASKS_PER_GUID asks)."""
    by_guid: dict[str, list[HookDelivery]] = {}
    for delivery in deliveries:
        by_guid.setdefault(delivery.guid, []).append(delivery)
    todo: list[HookDelivery] = []
    ok = seen = refused = 0
    for guid, attempts in by_guid.items():
        if any(a.ok for a in attempts):
            ok += 1
            continue
        newest = max(attempts, key=lambda a: a.id)
        record = asked.get(guid)
        if isinstance(record, dict):
            # A 503 is the bot saying "not now" (its store is full or unavailable): asked again
            # each round until it is taken. Other failures count against the cap.
            capped = int(record.get("n", 0)) >= MAX_ASKS_PER_GUID and newest.status_code != 503
            if newest.id <= int(record.get("id", 0)) or capped:
                seen += 1  # our redelivery is still under way, or we gave up on this one
                continue
        if not newest.unanswered:
            refused += 1
            continue
        todo.append(newest)
    todo.sort(key=lambda d: d.id)  # oldest first: redeliveries arrive in the order events happened
    return RedeliveryPlan(todo, ok, seen, refused)


@dataclass
class ScanReport:
    listed: int = 0
    requested: list[int] = field(default_factory=list)
    plan: RedeliveryPlan | None = None
    skipped: str | None = None  # why the round did nothing (another process holds it, ...)


class Recovery:
    """The scheduler thread of the redelivery scan and the resync."""

    def __init__(
        self,
        services: Any,
        store: Any,
        *,
        redelivery_interval: float,
        window_seconds: float,
        resync_interval: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        self.store = store
        self.redelivery_interval = redelivery_interval
        self.window_seconds = window_seconds
        self.resync_interval = resync_interval
        self._clock = clock
        self._owner = uuid.uuid4().hex
        self._started_at = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.redelivery_interval > 0 or self.resync_interval > 0

    # --- the thread ---

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="release-bot-recovery", daemon=True)
        self._thread.start()
        log_fields(
            log,
            "recovery started",
            redelivery_interval=self.redelivery_interval,
            window_seconds=self.window_seconds,
            resync_interval=self.resync_interval,
        )

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        if self._stop.wait(STARTUP_DELAY_SECONDS):
            return
        next_scan = next_resync = time.monotonic()  # both run at start-up
        while not self._stop.is_set():
            now = time.monotonic()
            if self.redelivery_interval > 0 and now >= next_scan:
                self._guarded(self.scan_round, "redelivery scan")
                next_scan = now + self.redelivery_interval
            if self.resync_interval > 0 and now >= next_resync:
                self._guarded(self.resync_round, "resync")
                next_resync = now + self.resync_interval
            upcoming = [
                t
                for t, on in (
                    (next_scan, self.redelivery_interval > 0),
                    (next_resync, self.resync_interval > 0),
                )
                if on
            ]
            self._stop.wait(max(0.05, min(upcoming) - time.monotonic()))

    def _guarded(self, round_: Callable[[], Any], name: str) -> None:
        try:
            round_()
        except RetryLater as exc:  # rate limited: the next round comes soon enough
            log_fields(log, f"{name} postponed", logging.WARNING, reason=exc.reason)
        except Exception as exc:  # noqa: BLE001 - GitHub down, store full: try again next round
            log_fields(log, f"{name} failed", logging.WARNING, error=f"{type(exc).__name__}: {exc}")

    # --- one process per round ---

    def _claim(self, name: str, seconds: float) -> bool:
        """Take round ``name`` unless another process began one recently: since this process
        started (the start-up round of processes started together), or less than an interval ago.
        A process that stopped or was killed holds nothing: a restart always scans."""
        now = self._clock()

        def take(current: Any) -> Any:
            began = float(current.get("began", 0)) if isinstance(current, dict) else 0.0
            if began >= self._started_at and now - began < seconds * 0.9:
                return current
            return {"owner": self._owner, "began": now}

        held = self.store.update_state(ROUND_PREFIX + name, take)
        return (
            isinstance(held, dict) and held.get("owner") == self._owner and float(held.get("began", 0)) == now
        )

    def scan_round(self) -> ScanReport:
        if not self._claim("redelivery", self.redelivery_interval or 60.0):
            return ScanReport(skipped="another process scans this round")
        return self.scan()

    def scan(self) -> ScanReport:
        """List the deliveries since the last scan (bounded by the window) and redeliver the failed."""
        began = self._clock()
        last = self.store.get_state(SCAN_STATE)
        oldest = began - self.window_seconds
        since_ts = (
            max(oldest, float(last) - SCAN_OVERLAP_SECONDS) if isinstance(last, int | float) else oldest
        )
        since = datetime.fromtimestamp(since_ts, UTC)
        app = self.services.app
        deliveries = app_deliveries_since(app, since)
        asked = self.store.get_state(ASKED_STATE)
        plan = plan_redeliveries(deliveries, asked if isinstance(asked, dict) else {})
        report = ScanReport(listed=len(deliveries), plan=plan)
        for delivery in plan.redeliver:
            try:
                app_redeliver(app, delivery.id)
            except RetryLater:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. 422 older than 3 days: log, go on
                REDELIVERIES.labels(outcome="refused").inc()
                log_fields(
                    log,
                    "redelivery refused",
                    logging.WARNING,
                    delivery=delivery.id,
                    guid=delivery.guid,
                    error=f"{type(exc).__name__}: {exc}",
                )
                self._remember(delivery, began, gave_up=True)
                continue
            REDELIVERIES.labels(outcome="requested").inc()
            report.requested.append(delivery.id)
            self._remember(delivery, began)
            log_fields(
                log,
                "redelivery requested",
                delivery=delivery.id,
                guid=delivery.guid,
                event=delivery.event,
                action=delivery.action,
                status=delivery.status,
                status_code=delivery.status_code,
            )
        self.store.set_state(SCAN_STATE, began)
        log_fields(
            log,
            "redelivery scan",
            listed=report.listed,
            requested=len(report.requested),
            delivered_ok=plan.delivered_ok,
            already_asked=plan.already_asked,
            refused_by_bot=plan.refused_by_bot,
        )
        return report

    def _remember(self, delivery: HookDelivery, now: float, gave_up: bool = False) -> None:
        horizon = now - self.window_seconds - SCAN_OVERLAP_SECONDS

        def add(current: Any) -> Any:
            kept = {
                g: r
                for g, r in (current or {}).items()
                if isinstance(r, dict) and float(r.get("t", 0)) >= horizon
            }
            asks = int((kept.get(delivery.guid) or {}).get("n", 0)) + 1
            # The redelivery is a new attempt with a higher id: the ask is "answered" once a newer
            # attempt is listed. A refused ask (422: too old) is not repeated.
            kept[delivery.guid] = {"id": delivery.id, "n": MAX_ASKS_PER_GUID if gave_up else asks, "t": now}
            return kept

        self.store.update_state(ASKED_STATE, add)

    # --- the resync ---

    def resync_round(self) -> int:
        if not self._claim("resync", self.resync_interval):
            return 0
        return self.resync()

    def resync(self) -> int:
        """Enqueue a fan-out ``repo:`` job for every repository the App is installed on."""
        jobs = [
            JobSpec(repo_key(repo_id), installation_id, full_name, reason="resync", hints={"fan_out": True})
            for installation_id, repo_id, full_name in installation_repositories(self.services.app)
        ]
        if jobs:
            self.store.enqueue(jobs)
        RESYNCS.inc(len(jobs))
        log_fields(log, "resync", repositories=len(jobs))
        return len(jobs)


def build_recovery(settings: Any, store: Any, services: Any) -> Recovery | None:
    """The process's recovery thread, or None without a GitHub layer (test runners, no credentials)."""
    if services is None:
        return None
    recovery = Recovery(
        services,
        store,
        redelivery_interval=settings.redelivery_interval,
        window_seconds=settings.redelivery_window_seconds,
        resync_interval=settings.resync_interval,
    )
    return recovery if recovery.enabled else None
