"""Fixtures of the web page tests: a real sandbox over HTTP (module-scoped), the bot's Flask app
built on it (``web_client``), and ``sign_in`` through the sandbox's OAuth pages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
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


def api(sandbox: Any, login: str = "admin") -> httpx.Client:
    return httpx.Client(base_url=sandbox.api_url, timeout=15,
                        headers={"Authorization": f"token sandbox-token-{login}", "Accept": "application/vnd.github+json"})


@pytest.fixture
def make_client(sandbox: Any, tmp_path: Path) -> Callable[..., FlaskClient]:
    def make(**env: str) -> FlaskClient:
        base = {"WEBHOOK_SECRET": "web-secret", "APP_ID": "1", "PRIVATE_KEY_PATH": str(tmp_path / "unused.pem"),
                "GITHUB_API_URL": sandbox.api_url, "GITHUB_CLIENT_ID": "Iv1.sandbox",
                "GITHUB_CLIENT_SECRET": "sandbox-client-secret", "WEB_CACHE_SECONDS": "0",
                "SESSION_SECRET_FILE": str(tmp_path / "session-secret"), "ENV_FILE": str(tmp_path / ".env")}
        settings = Settings.from_env({**base, **env})
        app = create_app(settings, SqliteQueue(str(tmp_path / "q.db")))
        app.config["TESTING"] = True
        return app.test_client()
    return make


@pytest.fixture
def web_client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client()


def sign_in(client: FlaskClient, login: str, next_path: str | None = None) -> None:
    """/login → the sandbox's authorize page (``login=`` picks the user) → /login/callback."""
    resp = client.get("/login", query_string={"login": login, **({"next": next_path} if next_path else {})})
    assert resp.status_code == 302, resp.text
    authorize = resp.headers["Location"]
    back = httpx.get(authorize, follow_redirects=False, timeout=15)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 303, done.text


def installation_api(sandbox: Any, installation_id: int = 1) -> httpx.Client:
    """Acting as the App's installation (what it writes is the bot's, as release-bot's writes are)."""
    import jwt

    now = int(sandbox.state.now().timestamp())
    key = Path(sandbox.app_key_path).read_text()
    app_jwt = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": "1"}, key, algorithm="RS256")
    resp = httpx.post(f"{sandbox.api_url}/app/installations/{installation_id}/access_tokens", timeout=15,
                      headers={"Authorization": f"Bearer {app_jwt}", "Accept": "application/vnd.github+json"})
    assert resp.status_code == 201, resp.text
    return httpx.Client(base_url=sandbox.api_url, timeout=15, headers={
        "Authorization": f"token {resp.json()['token']}", "Accept": "application/vnd.github+json"})


_repo_seq = iter(range(1, 10_000))


def new_repo(sandbox: Any, **extra: Any) -> str:
    """A fresh repository on acme (installed, as the seeded one), so tests sharing a sandbox do not collide."""
    name = f"web{next(_repo_seq)}-{os.getpid()}"
    resp = httpx.post(f"{sandbox.base_url}/_sandbox/repos", json={"owner": "acme", "name": name, **extra}, timeout=15)
    assert resp.status_code in (200, 201), resp.text
    return f"acme/{name}"
