"""The Flask application: the webhook endpoint plus /healthz and /metrics.

``POST {WEBHOOK_PATH}`` answers, in this order:
  413 body over MAX_BODY_BYTES (refused from Content-Length before reading; a chunked body is
      read through a capped stream), 400 missing X-GitHub-Event / X-GitHub-Delivery, 401 missing,
      SHA-1-only or wrong signature, 415 content type, 400 empty body or invalid JSON or a payload
      missing a field its event always has,
  200 {"ping": ...} for ping, 200 {"ignored": reason} for events the bot has no use for,
  200 {"duplicate": id} for a delivery id accepted within 3 days,
  202 {"accepted": id, "jobs": [keys]} once the delivery id and its jobs are committed to disk.
Every error body is JSON {"error": ...}. Nothing is enqueued unless the answer is 202.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from bot.intake.routing import DropInstallation, PayloadError, RoutingContext, route
from bot.intake.verify import WebhookRejected, verify_delivery
from bot.logging import log_fields
from bot.queue.base import JobQueue
from bot.settings import Settings
from bot.web.metrics import WEBHOOK_EVENTS

log = logging.getLogger("bot.intake")

InstallationRemoved = Callable[[DropInstallation], None]


def _json(body: dict[str, Any], status: int = 200) -> Response:
    # json.dumps + Response directly: Flask's jsonify machinery costs more than the rest of a
    # refused delivery, and these bodies are plain dicts of strings.
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


_EVENT_COUNTERS: dict[tuple[str, str], Any] = {}


def _count_event(event: str, outcome: str) -> None:
    # Cache the labelled children: .labels() takes a lock and hashes the labels on every call.
    child = _EVENT_COUNTERS.get((event, outcome))
    if child is None:
        child = _EVENT_COUNTERS.setdefault((event, outcome), WEBHOOK_EVENTS.labels(event=event, outcome=outcome))
    child.inc()


def create_app(
    settings: Settings,
    queue: JobQueue,
    *,
    on_installation_removed: InstallationRemoved | None = None,
) -> Flask:
    """``on_installation_removed`` lets a process that also runs workers drop its cached clients
    (``Services.forget_installation``) when an installation is deleted/suspended or loses
    repositories; the queue's waiting jobs are dropped here in any case."""
    settings.require_webhook_secret()
    app = Flask("release-bot")
    # werkzeug enforces this on Content-Length and on chunked streams alike (RequestEntityTooLarge).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    secret = settings.webhook_secret
    routing_ctx = RoutingContext(app_id=settings.app_id)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if isinstance(exc, RequestEntityTooLarge):
            return _error(413, f"body larger than {settings.max_body_bytes} bytes")
        return _error(status, exc.description or exc.name)

    @app.post(settings.webhook_path)
    def webhook() -> Response:
        started = time.perf_counter()
        headers = request.headers
        event_name = headers.get("X-GitHub-Event", "") or "-"
        delivery_id = headers.get("X-GitHub-Delivery", "") or "-"
        fields: dict[str, Any] = {"delivery_id": delivery_id, "event": event_name}

        def finish(response: Response, outcome: str, **more: Any) -> Response:
            _count_event(event_name if outcome != "rejected" else "-", outcome)
            log_fields(
                log,
                "delivery",
                **fields,
                **more,
                outcome=outcome,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return response

        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            # Refused on the header alone: the body is never read.
            return finish(_error(413, f"body larger than {settings.max_body_bytes} bytes"), "rejected")
        try:
            body = request.get_data(cache=False)
            if length is None and len(body) >= settings.max_body_bytes:
                # A chunked body is read through werkzeug's capped stream, which stops at the
                # cap without saying whether more was coming: at the cap counts as over it.
                raise RequestEntityTooLarge()
            event = verify_delivery(headers, body, secret)
        except RequestEntityTooLarge:
            return finish(_error(413, f"body larger than {settings.max_body_bytes} bytes"), "rejected")
        except WebhookRejected as rejected:
            return finish(_error(rejected.status, rejected.message), "rejected", error=rejected.message)

        payload = event.data
        action = payload.get("action") if isinstance(payload, dict) else None
        if isinstance(action, str):
            fields["action"] = action
        if event.event == "ping":
            return finish(_json({"ping": "pong", "zen": payload.get("zen") if isinstance(payload, dict) else None}), "ping")
        try:
            routed = route(event.event, payload, routing_ctx)
        except PayloadError as exc:
            return finish(_error(400, str(exc)), "rejected", error=str(exc))
        if routed.ignored is not None and not routed.jobs and not routed.controls:
            return finish(_json({"ignored": routed.ignored}), "ignored")

        committing = time.perf_counter()
        accepted = queue.accept_delivery(event.delivery_id, routed.jobs)
        # The durable commit's share of the answer time (group commit + fsync), for operators.
        fields["commit_ms"] = round((time.perf_counter() - committing) * 1000, 2)
        if not accepted:
            return finish(_json({"duplicate": event.delivery_id}), "duplicate")
        for control in routed.controls:
            dropped = queue.drop_installation(control.installation_id, control.repos)
            fields["dropped_jobs"] = dropped
            if on_installation_removed is not None:
                on_installation_removed(control)
        keys = [job.key for job in routed.jobs]
        return finish(_json({"accepted": event.delivery_id, "jobs": keys}, 202), "accepted", keys=keys)

    from bot.web.health import health_blueprint

    app.register_blueprint(health_blueprint(queue))
    return app
