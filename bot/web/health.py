"""GET /healthz and GET /metrics: the queue as every process shares it (SQLite file or Redis)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.metrics import render_metrics
from bot.queue.base import JobQueue, is_redis_url


def health_blueprint(queue: JobQueue) -> Blueprint:
    bp = Blueprint("health", __name__)
    backend = "redis" if is_redis_url(getattr(queue, "url", "")) else "sqlite"

    @bp.get("/healthz")
    def healthz() -> Response:
        # Reading the queue proves its store answers: a broken store (or Redis down) is a 503.
        try:
            stats = queue.stats()
        except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
            response = jsonify({"status": "error", "error": f"queue unavailable: {type(exc).__name__}"})
            response.status_code = 503
            return response
        backlog = {"backend": backend, **stats.as_dict()}
        return jsonify({"status": "ok", "queue": stats.counts.as_dict(), "backlog": backlog})

    @bp.get("/metrics")
    def metrics() -> Response:
        body, content_type = render_metrics(lambda: queue.counts().as_dict(), queue.stats)
        return Response(body, content_type=content_type)

    return bp
