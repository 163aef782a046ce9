"""Helpers of the web page tests (tests/web): API clients on the sandbox, sign-in through its OAuth
pages, fresh repositories. A module of its own name: ``from conftest import`` would depend on
which directory's conftest was imported first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from flask.testing import FlaskClient


def api(sandbox: Any, login: str = "admin") -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.api_url,
        timeout=15,
        headers={"Authorization": f"token sandbox-token-{login}", "Accept": "application/vnd.github+json"},
    )


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
    resp = httpx.post(
        f"{sandbox.api_url}/app/installations/{installation_id}/access_tokens",
        timeout=15,
        headers={"Authorization": f"Bearer {app_jwt}", "Accept": "application/vnd.github+json"},
    )
    assert resp.status_code == 201, resp.text
    return httpx.Client(
        base_url=sandbox.api_url,
        timeout=15,
        headers={"Authorization": f"token {resp.json()['token']}", "Accept": "application/vnd.github+json"},
    )


_repo_seq = iter(range(1, 10_000))


def new_repo(sandbox: Any, **extra: Any) -> str:
    """A fresh repository on acme (installed, as the seeded one), so tests sharing a sandbox do not
    collide."""
    name = f"web{next(_repo_seq)}-{os.getpid()}"
    resp = httpx.post(
        f"{sandbox.base_url}/_sandbox/repos", json={"owner": "acme", "name": name, **extra}, timeout=15
    )
    assert resp.status_code in (200, 201), resp.text
    return f"acme/{name}"
