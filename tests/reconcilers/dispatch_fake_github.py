"""A small ``responses`` fake of GitHub for the dispatch and repo reconciler tests: the App,
tokens, the contents API, repositories, milestones and pull requests (paged at 100)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

API = "https://api.github.com:443"
_CONTENTS = re.compile(r"https://api\.github\.com:443/repos/([^/]+/[^/]+)/contents/([^?]+)")
_REPO = re.compile(r"https://api\.github\.com:443/repos/([^/]+/[^/?]+)(?:\?.*)?$")
_LIST = re.compile(r"https://api\.github\.com:443/repos/([^/]+/[^/]+)/(milestones|pulls)(?:\?.*)?$")


def make_app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class FakeGitHub:
    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.files: dict[tuple[str, str], str] = {}
        self.default_branch = "main"
        self.milestones: dict[str, list[dict[str, Any]]] = {}
        self.pulls: dict[str, list[dict[str, Any]]] = {}
        self.token_status = 201
        self.token_body: dict[str, Any] | None = None
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        mock.add_callback("POST", re.compile(rf"{re.escape(API)}/app/installations/\d+/access_tokens"),
                          callback=lambda r: (self.token_status, {},
                                              json.dumps(self.token_body or {"token": "ghs_t", "expires_at": expires})))
        mock.get(f"{API}/app", json={"id": 7, "slug": "release-bot", "name": "Release Bot"})
        mock.add_callback("GET", _CONTENTS, callback=self._contents)
        mock.add_callback("GET", _LIST, callback=self._list)
        mock.add_callback("GET", _REPO, callback=self._repo)

    def put(self, repo: str, path: str, text: str) -> None:
        self.files[(repo, path)] = text

    def requests(self, pattern: str = "") -> list[str]:
        return [f"{c.request.method} {c.request.url}" for c in self.mock.calls if pattern in c.request.url]

    def _contents(self, request: Any) -> tuple[int, dict[str, str], str]:
        match = _CONTENTS.match(request.url)
        assert match
        repo, path = match.group(1), match.group(2)
        listing = [{"type": "file", "path": p} for (r, p) in self.files if r == repo and "/" in p and p.rsplit("/", 1)[0] == path]
        if listing:  # a directory: the contents API lists the files in it
            return 200, {}, json.dumps(listing)
        text = self.files.get((repo, path))
        if text is None:
            return 404, {}, json.dumps({"message": "Not Found"})
        return 200, {}, json.dumps({"type": "file", "encoding": "base64", "path": match.group(2),
                                    "content": base64.b64encode(text.encode()).decode()})

    def _repo(self, request: Any) -> tuple[int, dict[str, str], str]:
        name = _REPO.match(request.url).group(1)
        return 200, {}, json.dumps({"id": 42, "full_name": name, "default_branch": self.default_branch})

    def _list(self, request: Any) -> tuple[int, dict[str, str], str]:
        match = _LIST.match(request.url)
        repo, kind = match.group(1), match.group(2)
        items = (self.milestones if kind == "milestones" else self.pulls).get(repo, [])
        query = parse_qs(urlsplit(request.url).query)
        assert query["state"] == ["open"] and query["per_page"] == ["100"]
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * 100: page * 100]
        headers = {}
        if page * 100 < len(items):
            headers["Link"] = f'<https://api.github.com/repos/{repo}/{kind}?state=open&per_page=100&page={page + 1}>; rel="next"'
        return 200, headers, json.dumps(chunk)
