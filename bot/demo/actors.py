"""The sandbox's seeded users as REST clients: each request is made as that person.

Only GitHub's REST API is used here (no `/_sandbox/` shortcut), so every step of the demo is
something a person could do on github.com with the same request.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from bot.demo.errors import DemoFailure
from bot.sandbox.guide import token_for
from bot.sandbox.state import SEED_PERMISSIONS

SEEDED_USERS = tuple(SEED_PERMISSIONS)
__all__ = ["SEEDED_USERS", "Actor", "token_for"]


class Actor:
    """One person acting on one repository through the REST API."""

    def __init__(self, api_url: str, login: str, repo: str) -> None:
        self.login = login
        self.repo = repo
        self._http = httpx.Client(
            base_url=api_url,
            headers={
                "Authorization": f"token {token_for(login)}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            timeout=30,
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ raw requests

    def request(
        self, method: str, path: str, expect: tuple[int, ...] = (200, 201, 204), **kwargs: Any
    ) -> httpx.Response:
        """``path`` is relative to the repository when it does not start with '/'."""
        url = path if path.startswith("/") else f"/repos/{self.repo}/{path}"
        response = self._http.request(method, url, **kwargs)
        if response.status_code not in expect:
            raise DemoFailure(
                f"{self.login}: {method} {url}",
                f"GitHub answered {response.status_code} (expected {'/'.join(map(str, expect))})",
                response.text[:1000],
            )
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body).json()

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body).json()

    # ------------------------------------------------------------------ what people do

    def ref_sha(self, ref: str) -> str:
        """``ref`` like 'heads/main' or 'tags/v1.4.0'."""
        return str(self.get(f"git/ref/{ref}")["object"]["sha"])

    def create_ref(self, ref: str, sha: str) -> dict[str, Any]:
        return dict(self.post("git/refs", {"ref": ref, "sha": sha}))

    def commit_file(self, branch: str, path: str, text: str, message: str) -> str:
        body = {"message": message, "content": base64.b64encode(text.encode()).decode(), "branch": branch}
        return str(self.request("PUT", f"contents/{path}", json=body).json()["commit"]["sha"])

    def comment(self, number: int, body: str) -> dict[str, Any]:
        return dict(self.post(f"issues/{number}/comments", {"body": body}))

    def add_labels(self, number: int, *labels: str) -> None:
        self.post(f"issues/{number}/labels", {"labels": list(labels)})

    def merge(self, number: int, expect: tuple[int, ...] = (200,)) -> httpx.Response:
        return self.request("PUT", f"pulls/{number}/merge", expect=expect, json={"merge_method": "merge"})


class Cast:
    """Every seeded user, created lazily, closed together."""

    def __init__(self, api_url: str, repo: str) -> None:
        self._api_url = api_url
        self._repo = repo
        self._actors: dict[str, Actor] = {}

    def __getitem__(self, login: str) -> Actor:
        if login not in self._actors:
            self._actors[login] = Actor(self._api_url, login, self._repo)
        return self._actors[login]

    def close(self) -> None:
        for actor in self._actors.values():
            actor.close()
