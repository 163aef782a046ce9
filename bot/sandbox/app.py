"""The sandbox's Flask application: shared request hooks plus one blueprint per resource area."""

from __future__ import annotations

import importlib

from flask import Flask

from bot.sandbox import http
from bot.sandbox.api import MODULES
from bot.sandbox.state import SandboxState
from bot.sandbox.webhooks import emitter


def create_sandbox_app(state: SandboxState) -> Flask:
    """A WSGI app serving ``state``: the REST API under ``/api/v3``, web pages and ``/_sandbox``."""
    app = Flask("bot.sandbox")
    app.config["SANDBOX_STATE"] = state
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    emitter(state)
    http.install_hooks(app)
    for name in MODULES:
        module = importlib.import_module(name)
        prefix = getattr(module, "URL_PREFIX", http.API_PREFIX)
        app.register_blueprint(module.bp, url_prefix=prefix or None)
    return app
