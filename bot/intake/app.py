"""The web application: the webhook endpoint (``bot.intake.endpoint``) in front of a Flask app that
serves /healthz, /metrics, the web pages (bot.web.site) and JSON errors for everything else.

``create_app`` returns the Flask app (what gunicorn serves, what tests drive with its test
client); its ``wsgi_app`` is wrapped so ``POST {WEBHOOK_PATH}`` is answered by the lean endpoint.
"""

from __future__ import annotations

import json

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from bot.intake.endpoint import InstallationRemoved, WebhookEndpoint
from bot.intake.routing import RoutingContext
from bot.queue.base import JobQueue
from bot.settings import Settings

__all__ = ["InstallationRemoved", "create_app"]


def create_app(
    settings: Settings,
    queue: JobQueue,
    *,
    on_installation_removed: InstallationRemoved | None = None,
) -> Flask:
    """Refuses (SettingsError) to build a server that would accept unsigned webhooks outside
    sandbox mode. ``on_installation_removed`` lets a process that also runs workers drop its
    cached clients (``Services.forget_installation``) when an installation is deleted/suspended
    or loses repositories; the queue's waiting jobs are dropped in any case."""
    settings.require_webhook_secret()
    app = Flask("release-bot")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        body = json.dumps({"error": exc.description or exc.name})
        return Response(body, status=exc.code or 500, mimetype="application/json")

    from bot.web.health import health_blueprint
    from bot.web.site import register_web

    app.register_blueprint(health_blueprint(queue))
    register_web(app, settings)  # sign-in, the releases dashboard, the App setup page
    app.wsgi_app = WebhookEndpoint(  # type: ignore[method-assign]
        app.wsgi_app,
        path=settings.webhook_path,
        secret=settings.webhook_secret,
        queue=queue,
        max_body_bytes=settings.max_body_bytes,
        routing_ctx=RoutingContext(app_id=settings.app_id),
        on_installation_removed=on_installation_removed,
    )
    return app
