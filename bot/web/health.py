"""GET /healthz and GET /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.metrics import render_metrics
from bot.queue.base import JobQueue


def health_blueprint(queue: JobQueue) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        # Reading the counts proves the queue's database answers: a broken store is a 503.
        try:
            counts = queue.counts().as_dict()
        except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
            response = jsonify({"status": "error", "error": f"queue unavailable: {type(exc).__name__}"})
            response.status_code = 503
            return response
        return jsonify({"status": "ok", "queue": counts})

    @bp.get("/metrics")
    def metrics() -> Response:
        body, content_type = render_metrics(lambda: queue.counts().as_dict())
        return Response(body, content_type=content_type)

    return bp
