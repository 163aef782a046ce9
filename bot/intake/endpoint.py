"""``POST {WEBHOOK_PATH}``: the webhook endpoint, as a plain WSGI callable.

Why not a Flask view: this is the one hot path of the web process (GitHub can burst hundreds of
deliveries a second), and Flask's request context, URL matching and response objects cost about
as much CPU as everything the endpoint itself must do (verify the HMAC, decode, route, commit
durably, log). It is mounted in front of the Flask app (``create_app``), which serves every other
route; behaviour is the same either way and the tests go through the Flask app.

Answers, in this order:
  405 another method; 413 body over MAX_BODY_BYTES (refused from Content-Length before anything is
  read; a chunked body is read up to the cap and no further); 400 missing X-GitHub-Event /
  X-GitHub-Delivery; 401 missing, SHA-1-only or wrong signature; 415 content type; 400 empty body,
  invalid JSON, or a payload missing a field its event always has or holding one of the wrong
  type (the error names the field: `payload field check_run is not an object`);
  200 {"ping": "pong"}; 200 {"ignored": reason} for events the bot has no use for;
  200 {"duplicate": id} for a delivery id accepted within 3 days;
  202 {"accepted": id, "jobs": [keys]} once the delivery id and its jobs are committed to disk;
  503 (with Retry-After) when the store cannot commit them (disk full, store unavailable): nothing
  is half-written, GitHub records the delivery as failed, and the bot's redelivery scan asks for it.
Every error body is JSON {"error": ...}. Nothing is enqueued unless the answer is 202.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.core.echoes import echo_hints
from bot.installation_removals import record_removed
from bot.intake.routing import DropInstallation, PayloadError, RoutingContext, route
from bot.intake.verify import WebhookRejected, verify_delivery
from bot.jobs import JobSpec
from bot.logging import log_fields
from bot.metrics import WEBHOOK_EVENTS
from bot.queue.base import JobQueue, QueueUnavailable

log = logging.getLogger("bot.intake")

InstallationRemoved = Callable[[DropInstallation], None]
StartResponse = Callable[..., Any]

_STATUS = {
    200: "200 OK",
    202: "202 Accepted",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    405: "405 Method Not Allowed",
    413: "413 Content Too Large",
    415: "415 Unsupported Media Type",
    503: "503 Service Unavailable",
}
# How long GitHub (or an operator) should wait before a redelivery when the store cannot write.
STORE_UNAVAILABLE_RETRY_AFTER = "60"
_READ_CHUNK = 64 * 1024

_EVENT_COUNTERS: dict[tuple[str, str], Any] = {}


def _count_event(event: str, outcome: str) -> None:
    # Cache the labelled children: .labels() takes a lock and hashes the labels on every call.
    child = _EVENT_COUNTERS.get((event, outcome))
    if child is None:
        child = _EVENT_COUNTERS.setdefault(
            (event, outcome), WEBHOOK_EVENTS.labels(event=event, outcome=outcome)
        )
    child.inc()


def _event_reason(event: str, action: Any) -> str:
    return f"{event}.{action}" if isinstance(action, str) else event


class _TooLarge(Exception):
    pass


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, never more than ``limit`` bytes read; raises _TooLarge beyond it."""
    stream = environ["wsgi.input"]
    raw_length = environ.get("CONTENT_LENGTH")
    if raw_length:
        try:
            length = int(raw_length)
        except ValueError:
            raise WebhookRejected(400, "invalid Content-Length header") from None
        if length > limit:
            raise _TooLarge  # refused on the header alone: the body is never read
        return stream.read(length) if length > 0 else b""
    if not environ.get("wsgi.input_terminated"):
        return b""  # no length and no terminated stream (WSGI without chunked support): no body
    # Chunked: read up to one byte past the cap, so "exactly at the cap" and "over it" differ.
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _TooLarge
    return b"".join(chunks)


class WebhookEndpoint:
    """WSGI callable for the webhook path; ``app`` serves every other path."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        path: str,
        secret: str | None,
        queue: JobQueue,
        max_body_bytes: int,
        routing_ctx: RoutingContext,
        on_installation_removed: InstallationRemoved | None = None,
    ) -> None:
        self.app = app
        self.path = path
        self.secret = secret
        self.queue = queue
        self.max_body_bytes = max_body_bytes
        self.routing_ctx = routing_ctx
        self.on_installation_removed = on_installation_removed

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return self._respond(
                start_response, 405, {"error": "webhooks are POSTed"}, extra=[("Allow", "POST")]
            )
        return self._webhook(environ, start_response)

    def _respond(
        self,
        start_response: StartResponse,
        status: int,
        body: dict[str, Any],
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        data = json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        start_response(_STATUS.get(status, f"{status} Error"), headers + (extra or []))
        return [data]

    def _webhook(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started = time.perf_counter()
        # Lower-case look-ups straight from the WSGI environ (verify.py's contract).
        headers = {
            "x-github-event": environ.get("HTTP_X_GITHUB_EVENT", ""),
            "x-github-delivery": environ.get("HTTP_X_GITHUB_DELIVERY", ""),
            "x-hub-signature-256": environ.get("HTTP_X_HUB_SIGNATURE_256", ""),
            "x-hub-signature": environ.get("HTTP_X_HUB_SIGNATURE", ""),
            "content-type": environ.get("CONTENT_TYPE", ""),
        }
        event_name = headers["x-github-event"] or "-"
        fields: dict[str, Any] = {"delivery_id": headers["x-github-delivery"] or "-", "event": event_name}

        def finish(
            status: int,
            body: dict[str, Any],
            outcome: str,
            extra: list[tuple[str, str]] | None = None,
            **more: Any,
        ) -> list[bytes]:
            if status == 413:
                extra = [("Connection", "close")]  # do not drain a huge body
            response = self._respond(start_response, status, body, extra)
            _count_event(event_name if outcome != "rejected" else "-", outcome)
            log_fields(
                log,
                "delivery",
                logging.ERROR if status >= 500 else logging.INFO,
                **fields,
                **more,
                outcome=outcome,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return response

        try:
            body = _read_body(environ, self.max_body_bytes)
            event = verify_delivery(headers, body, self.secret)
        except _TooLarge:
            return finish(413, {"error": f"body larger than {self.max_body_bytes} bytes"}, "rejected")
        except WebhookRejected as rejected:
            return finish(rejected.status, {"error": rejected.message}, "rejected", error=rejected.message)

        payload = event.data
        action = payload.get("action") if isinstance(payload, dict) else None
        if isinstance(action, str):
            fields["action"] = action
        if event.event == "ping":
            zen = payload.get("zen") if isinstance(payload, dict) else None
            return finish(200, {"ping": "pong", "zen": zen}, "ping")
        try:
            routed = route(event.event, payload, self.routing_ctx)
        except PayloadError as exc:
            return finish(400, {"error": str(exc)}, "rejected", error=str(exc))
        if routed.ignored is not None and not routed.jobs and not routed.controls:
            return finish(200, {"ignored": routed.ignored}, "ignored")

        jobs = with_delivery_hints(routed.jobs, event.event, payload, time.time())
        committing = time.perf_counter()
        try:
            accepted = self.queue.accept_delivery(event.delivery_id, jobs)
        except Exception as exc:  # noqa: BLE001 - any store failure: the delivery was not recorded
            # QueueUnavailable (Redis down), SQLITE_FULL (disk full), a locked store: the transaction
            # rolled back, so nothing of this delivery is stored. 503 makes GitHub record it as
            # failed; the bot's redelivery scan (bot/recovery.py) asks for it again later.
            error = str(exc) if isinstance(exc, QueueUnavailable) else f"{type(exc).__name__}: {exc}"
            return finish(
                503,
                {"error": "the queue is unavailable; the delivery is not accepted, redeliver it later"},
                "unavailable",
                error=error,
                extra=[("Retry-After", STORE_UNAVAILABLE_RETRY_AFTER)],
            )
        # The durable commit's share of the answer time (group commit + fsync), for operators.
        fields["commit_ms"] = round((time.perf_counter() - committing) * 1000, 2)
        if not accepted:
            return finish(200, {"duplicate": event.delivery_id}, "duplicate")
        for control in routed.controls:
            fields["dropped_jobs"] = self.queue.drop_installation(control.installation_id, control.repos)
            # Workers may be other processes: they drop their cached client (and its token, whose
            # repository access just changed) when they see this record.
            record_removed(
                self.queue, control.installation_id, event.delivery_id, _event_reason(event.event, action)
            )
            if self.on_installation_removed is not None:
                self.on_installation_removed(control)
        keys = [job.key for job in jobs]
        return finish(202, {"accepted": event.delivery_id, "jobs": keys}, "accepted", keys=keys)


def with_delivery_hints(jobs: list[JobSpec], event: str, payload: Any, received_at: float) -> list[JobSpec]:
    """Hints of the delivery as a whole, on each of its jobs: who sent it and about what (the
    echo check, bot.core.echoes) and when it arrived (``touched_at``: a freshness window closed by
    this event stays open for answers GitHub confirmed after it arrived, bot.github.freshness)."""
    if not isinstance(payload, dict):
        return jobs
    extra: dict[str, Any] = echo_hints(event, payload)
    out = []
    for job in jobs:
        hints = {**job.hints, **extra}
        if job.hints.get("touched"):
            hints["touched_at"] = round(received_at, 3)
        out.append(dataclasses.replace(job, hints=hints))
    return out
