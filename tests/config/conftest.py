"""Fixtures for configuration tests: a fake of GitHub's contents API served through ``responses``
to a real (paced, counted) installation client."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Github
from memory_store import MemoryStore as DictStore

from bot.github.auth import GitHubApp
from bot.github.pacer import PacerLimits

API = "https://api.github.com:443"
_CONTENTS = re.compile(r"https://api\.github\.com:443/repos/([^/]+/[^/]+)/contents/([^?]+)(?:\?.*)?$")


class FakeContents:
    """Files on default branches, keyed by ``("owner/repo", "path")``."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], str] = {}
        self.reads: list[tuple[str, str]] = []

    def put(self, repo: str, path: str, text: str) -> None:
        self.files[(repo.lower(), path)] = text

    def delete(self, repo: str, path: str) -> None:
        self.files.pop((repo.lower(), path), None)

    def callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        match = _CONTENTS.match(request.url)
        assert match, request.url
        repo, path = match.group(1).lower(), match.group(2)
        assert "ref=" not in request.url  # the default branch: the contents API's default
        self.reads.append((repo, path))
        headers = {"Content-Type": "application/json"}
        listing = [
            {"type": "file", "name": p.rsplit("/", 1)[-1], "path": p}
            for (r, p) in self.files
            if r == repo and p.rsplit("/", 1)[0] == path and "/" in p
        ]
        if listing:  # a directory: the contents API lists the files in it
            return 200, headers, json.dumps(sorted(listing, key=lambda e: e["path"]))
        text = self.files.get((repo, path))
        if text is None:
            return 404, headers, json.dumps({"message": "Not Found"})
        raw = text.encode()
        body = {"type": "file", "encoding": "base64", "size": len(raw), "name": path.rsplit("/", 1)[-1],
                "path": path, "content": base64.encodebytes(raw).decode()}
        return 200, headers, json.dumps(body)


@pytest.fixture(scope="session")
def app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def contents() -> Iterator[tuple[FakeContents, responses.RequestsMock]]:
    fake = FakeContents()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        mock.post(f"{API}/app/installations/5/access_tokens", json={"token": "ghs_t", "expires_at": expires},
                  status=201)
        mock.add_callback("GET", _CONTENTS, callback=fake.callback)
        yield fake, mock


@pytest.fixture
def files(contents) -> FakeContents:
    return contents[0]


@pytest.fixture
def gh(app_key, contents) -> Github:
    return GitHubApp(7, app_key, pacer_limits=PacerLimits(0, 0)).client_for(5)


@pytest.fixture
def store() -> DictStore:
    return DictStore()
