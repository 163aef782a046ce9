"""Webhook emission and delivery, as GitHub does it.

``emit`` builds the payload at the moment of the change (adding ``repository``, ``organization``,
``sender`` and ``installation``) for every App installed on the repository, records a delivery and
hands it to a lane. A lane per repository sends its deliveries one after another, so by default
they arrive in order per repository; different repositories deliver in parallel. Deliveries are
signed (sha256 and sha1), time out after 10 s, are recorded with status and duration, and are never
retried by the sandbox; ``redeliver`` sends the same body again with the same ``X-GitHub-Delivery``.
The chaos switch drops, duplicates and reorders deliveries (a change's deliveries in a seeded
permutation on a lane of their own, after a random delay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from bot.sandbox import serializers
from bot.sandbox.state import Delivery, Installation, Repo, SandboxState

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT = 10.0
USER_AGENT = "GitHub-Hookshot/sandbox"

# GitHub leaves ``organization`` out of these events' payloads (their schemas forbid it).
NO_ORGANIZATION_EVENTS = frozenset({"installation", "installation_repositories", "github_app_authorization"})

# Sent to every App whatever it subscribed to (GitHub does the same for its installation life cycle).
ALWAYS_SENT_EVENTS = frozenset({"installation", "installation_repositories", "github_app_authorization"})

PayloadBuilder = dict[str, Any] | Callable[[], dict[str, Any]]


class WebhookEmitter:
    """Owns the delivery lanes of one sandbox. Thread-safe."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.timeout = DELIVERY_TIMEOUT  # tests may shorten it to provoke time-outs quickly
        self._client = httpx.Client(timeout=DELIVERY_TIMEOUT)
        self._lanes: dict[str, deque[Delivery]] = {}
        self._busy: set[str] = set()
        self._cond = threading.Condition()
        self._pending = 0
        self._rng = random.Random()
        self._closed = False

    # ------------------------------------------------------------------ emitting

    def emit(
        self,
        event: str,
        action: str | None,
        payload_builder: PayloadBuilder,
        repo: Repo | None,
        *,
        sender: str | None = None,
        installation: Installation | None = None,
        app_ids: list[int] | None = None,
    ) -> list[Delivery]:
        """Send ``event``/``action`` to every App installed on ``repo`` (or to ``installation``).

        ``sender`` defaults to the caller of the current request (the App's bot user for the App).
        Returns the deliveries created (empty when no installed App receives it).
        """
        st = self.state
        created: list[Delivery] = []
        with st.lock:
            targets: list[Installation] = []
            if installation is not None:
                targets = [installation]
            elif repo is not None:
                for app_id in sorted(st.apps):
                    inst = st.app_installation_for(app_id, repo)
                    if inst is not None:
                        targets.append(inst)
            for inst in targets:
                if app_ids is not None and inst.app_id not in app_ids:
                    continue
                if inst.suspended_at is not None and event != "installation":
                    continue  # suspended installations receive nothing but their own life cycle
                app = st.apps[inst.app_id]
                if event not in ALWAYS_SENT_EVENTS and event not in app.events:
                    continue  # the App did not subscribe to this event
                body = payload_builder() if callable(payload_builder) else dict(payload_builder)
                payload: dict[str, Any] = {}
                if action is not None:
                    payload["action"] = action
                payload.update(body)
                if repo is not None and "repository" not in payload:
                    payload["repository"] = serializers.repository(st, repo, webhook=True)
                owner_org = st.org(repo.owner if repo is not None else inst.account)
                if owner_org is not None and event not in NO_ORGANIZATION_EVENTS:
                    payload["organization"] = serializers.organization(owner_org)
                payload["sender"] = serializers.user(st, sender or _default_sender(st, app.bot_user))
                if "installation" not in payload:
                    payload["installation"] = serializers.installation_lite(inst)
                delivery = Delivery(
                    id=st.next_id("delivery"),
                    guid=str(uuid.uuid4()),
                    event=event,
                    action=action,
                    app_id=app.id,
                    installation_id=inst.id,
                    repository_id=repo.id if repo else None,
                    payload=payload,
                    delivered_at=st.now(),
                    url=app.webhook_url,
                )
                st.deliveries.append(delivery)
                created.append(delivery)
        with st.lock:
            accounts = {
                d.installation_id: st.installations[d.installation_id].account.lower()
                for d in created
                if d.installation_id in st.installations
            }
        lanes = [
            # Repository events are ordered per repository; installation life-cycle events per account.
            (
                f"repo:{delivery.repository_id}"
                if delivery.repository_id is not None
                else f"account:{accounts.get(delivery.installation_id, '')}"
            )
            for delivery in created
        ]
        self._schedule(list(zip(created, lanes, strict=True)))
        return created

    def reseed(self, seed: int) -> None:
        """Make chaos decisions (drop, duplicate, delays) reproducible."""
        self._rng.seed(seed)

    def redeliver(self, delivery_id: int) -> Delivery:
        """A new attempt of a recorded delivery: same body, same ``X-GitHub-Delivery``."""
        st = self.state
        with st.lock:
            original = next((d for d in st.deliveries if d.id == delivery_id), None)
            if original is None:
                raise KeyError(delivery_id)
            app = st.apps.get(original.app_id)
            again = Delivery(
                id=st.next_id("delivery"),
                guid=original.guid,
                event=original.event,
                action=original.action,
                app_id=original.app_id,
                installation_id=original.installation_id,
                repository_id=original.repository_id,
                payload=original.payload,
                delivered_at=st.now(),
                redelivery=True,
                url=app.webhook_url if app else original.url,
            )
            st.deliveries.append(again)
        # Redeliveries ignore chaos: they are an explicit request.
        self._enqueue(again, lane=f"redeliver:{again.id}")
        return again

    # ------------------------------------------------------------------ scheduling

    def _schedule(self, batch: list[tuple[Delivery, str]]) -> None:
        """Hand the deliveries of one change to their lanes, through the chaos switch if it is on.

        Shuffling permutes the batch with the seeded generator and sends it on one lane of its
        own, after one random delay: the order within a batch is the permutation whatever the
        machine's load (timers alone would fire in creation order on a busy machine, and a test's
        "reordered" could then fail), and batches of different changes can still overtake
        each other."""
        chaos = self.state.chaos
        if not chaos.active:
            for delivery, lane in batch:
                self._enqueue(delivery, lane)
            return
        kept: list[tuple[Delivery, str]] = []
        for delivery, lane in batch:
            if chaos.drop and self._rng.random() < chaos.drop:
                with self.state.lock:
                    delivery.status, delivery.done = "dropped", True
                continue
            kept.append((delivery, lane))
            if chaos.duplicate and self._rng.random() < chaos.duplicate:
                kept.append((self._duplicate(delivery), lane))
        if not kept:
            return
        delay = chaos.delay_ms / 1000
        if chaos.shuffle:
            self._rng.shuffle(kept)
            delay += self._rng.uniform(0, 0.05)
            shuffled_lane = f"chaos:{kept[0][0].id}"  # nothing orders it against other batches
            kept = [(delivery, shuffled_lane) for delivery, _ in kept]
        if delay <= 0:
            self._enqueue_all(kept)
            return
        with self._cond:
            self._pending += 1  # the timer: wait-idle waits for what it holds
        timer = threading.Timer(delay, self._after_delay, args=(kept,))  # one timer keeps the order
        timer.daemon = True
        timer.start()

    def _enqueue_all(self, batch: list[tuple[Delivery, str]]) -> None:
        for delivery, lane in batch:
            self._enqueue(delivery, lane)

    def _duplicate(self, delivery: Delivery) -> Delivery:
        """A second attempt of ``delivery`` (same ``X-GitHub-Delivery``), recorded as GitHub would."""
        with self.state.lock:
            dup = Delivery(
                id=self.state.next_id("delivery"),
                guid=delivery.guid,
                event=delivery.event,
                action=delivery.action,
                app_id=delivery.app_id,
                installation_id=delivery.installation_id,
                repository_id=delivery.repository_id,
                payload=delivery.payload,
                delivered_at=delivery.delivered_at,
                url=delivery.url,
            )
            self.state.deliveries.append(dup)
        return dup

    def _after_delay(self, batch: list[tuple[Delivery, str]]) -> None:
        self._enqueue_all(batch)
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()

    def _enqueue(self, delivery: Delivery, lane: str) -> None:
        with self._cond:
            self._pending += 1
            self._lanes.setdefault(lane, deque()).append(delivery)
            if lane in self._busy:
                return
            self._busy.add(lane)
        threading.Thread(target=self._drain, args=(lane,), name=f"webhooks-{lane}", daemon=True).start()

    def _drain(self, lane: str) -> None:
        while True:
            with self._cond:
                queue = self._lanes.get(lane)
                if not queue:
                    self._busy.discard(lane)
                    self._lanes.pop(lane, None)
                    return
                delivery = queue.popleft()
            try:
                self._send(delivery)
            except Exception:  # a bug here must not wedge the lane
                log.exception("webhook delivery %s failed unexpectedly", delivery.guid)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    # ------------------------------------------------------------------ sending

    def _send(self, delivery: Delivery) -> None:
        st = self.state
        with st.lock:
            app = st.apps.get(delivery.app_id)
            url = app.webhook_url if app else delivery.url
            secret = app.webhook_secret if app else None
            hook_id = app.hook_id if app else 0
        body = json.dumps(delivery.payload).encode()
        headers = {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": str(hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(delivery.app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
        }
        if secret:
            headers["X-Hub-Signature"] = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature-256"] = (
                "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            )
        if not url:
            with st.lock:
                delivery.request_headers = headers
                delivery.status, delivery.done = "no webhook URL configured", True
            return
        started = time.monotonic()
        status_code, status, resp_headers, resp_body = 0, "", {}, ""
        try:
            resp = self._client.post(url, content=body, headers=headers, timeout=self.timeout)
            status_code = resp.status_code
            status = "OK" if 200 <= status_code < 300 else f"Invalid HTTP Response: {status_code}"
            resp_headers = dict(resp.headers)
            resp_body = resp.text[:4096]
        except httpx.TimeoutException:
            status = "timed out"
        except httpx.HTTPError as err:
            status = f"failed to connect: {type(err).__name__}"
        duration = time.monotonic() - started
        with st.lock:
            delivery.url = url
            delivery.request_headers = headers
            delivery.status_code = status_code
            delivery.status = status
            delivery.duration = duration
            delivery.response_headers = resp_headers
            delivery.response_body = resp_body
            delivery.done = True

    # ------------------------------------------------------------------ waiting and shutdown

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every delivery so far has been answered (or dropped). False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        self._closed = True
        self._client.close()


def _default_sender(st: SandboxState, bot_user: str) -> str:
    """The caller of the current request; the App's bot user when the App (or nobody) acts."""
    from flask import has_request_context

    if has_request_context():
        from bot.sandbox.http import actor

        a = actor()
        if a.kind == "user" and a.login:
            return a.login
        if a.kind == "installation" and a.login:
            return a.login
    return bot_user


def emitter(st: SandboxState) -> WebhookEmitter:
    """The emitter of ``st`` (created on first use)."""
    with st.lock:
        em = st.extra.get("emitter")
        if em is None:
            em = WebhookEmitter(st)
            st.extra["emitter"] = em
        return em


def emit(
    event: str, action: str | None, payload_builder: PayloadBuilder, repo: Repo | None, **kwargs: Any
) -> list[Delivery]:
    """Shortcut for API handlers: emit through the current app's sandbox state."""
    from bot.sandbox.http import state

    return emitter(state()).emit(event, action, payload_builder, repo, **kwargs)
