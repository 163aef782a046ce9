"""Helpers for mocking GitHub with ``responses`` (imported by the tests of tests/github)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import responses

# PyGithub always writes the port into the URL it requests.
API = "https://api.github.com:443"


def token_response(token: str, expires_at: datetime | None = None) -> dict[str, object]:
    expires = expires_at or datetime.now(UTC) + timedelta(hours=1)
    return {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "permissions": {}}


def add_token(
    mock: responses.RequestsMock, installation_id: int, *tokens: tuple[str, datetime | None]
) -> None:
    """Each POST to the installation's access_tokens answers the next token of ``tokens``."""
    remaining = list(tokens)

    def callback(request: object) -> tuple[int, dict[str, str], str]:
        token, expires = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return 201, {"Content-Type": "application/json"}, json.dumps(token_response(token, expires))

    mock.add_callback("POST", f"{API}/app/installations/{installation_id}/access_tokens", callback=callback)


REPO_JSON = {
    "id": 42,
    "name": "rocket",
    "full_name": "acme/rocket",
    "default_branch": "main",
    "owner": {"login": "acme", "id": 1},
}
