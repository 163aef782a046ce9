"""Fixtures of the web page tests: a real sandbox over HTTP (module-scoped, with faults allowed:
the session's shared ``sandbox`` is overridden here), the bot's Flask app built on it
(``make_client``, ``web_client``). Helpers (sign-in, API clients) are in ``web_helpers.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.intake.app import create_app
from bot.queue.sqlite import SqliteQueue
from bot.settings import Settings


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from bot.sandbox.server import start_sandbox

    key = tmp_path_factory.mktemp("web-sandbox") / "sandbox-app.pem"
    handle = start_sandbox(port=0, webhook_url=None, app_key_path=str(key))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def make_client(sandbox: Any, tmp_path: Path) -> Callable[..., FlaskClient]:
    def make(**env: str) -> FlaskClient:
        base = {
            "WEBHOOK_SECRET": "web-secret",
            "APP_ID": "1",
            "PRIVATE_KEY_PATH": str(tmp_path / "unused.pem"),
            "GITHUB_API_URL": sandbox.api_url,
            "GITHUB_CLIENT_ID": "Iv1.sandbox",
            "GITHUB_CLIENT_SECRET": "sandbox-client-secret",
            "WEB_CACHE_SECONDS": "0",
            "SESSION_SECRET_FILE": str(tmp_path / "session-secret"),
            "ENV_FILE": str(tmp_path / ".env"),
        }
        settings = Settings.from_env({**base, **env})
        app = create_app(settings, SqliteQueue(str(tmp_path / "q.db")))
        app.config["TESTING"] = True
        return app.test_client()

    return make


@pytest.fixture
def web_client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client()
