"""Integration: the real App client against the sandbox over loopback — a real installation token
minted with the App key, configuration read through the contents API, faults and rate limits as
GitHub sends them, and our call count equal to the sandbox's request log."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from bot.config.loader import ConfigLoader
from bot.errors import RetryLater
from bot.github import accounting
from bot.github.auth import GitHubApp
from bot.github.pacer import PacerLimits
from bot.sandbox import server as sandbox_server

RB = ".github/release-bot.yml"
ADMIN = {"Authorization": "token sandbox-token-admin"}


# This module keeps a sandbox of its own rather than the session's (tests/conftest.py): it injects
# faults (a 502, an exhausted rate limit) on the seeded acme/rocket, and creates the acme/.github
# and acme/engine repositories by name, which would collide with other modules' use of them.
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[object]:
    key_path = tmp_path_factory.mktemp("sandbox") / "app.pem"
    handle = sandbox_server.start_sandbox(port=0, app_key_path=key_path)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.api_url, headers=ADMIN, timeout=10) as client:
        yield client
        httpx.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=10)


@pytest.fixture
def app(sandbox) -> Iterator[GitHubApp]:
    key = open(sandbox.app_key_path).read()
    github_app = GitHubApp(1, key, base_url=sandbox.api_url, pacer_limits=PacerLimits.for_mode(sandbox=True),
                           sleep=lambda s: None)
    yield github_app
    github_app.close()


def put_file(api: httpx.Client, repo: str, path: str, text: str) -> None:
    current = api.get(f"/repos/{repo}/contents/{path}")
    body = {"message": f"update {path}", "content": base64.b64encode(text.encode()).decode()}
    if current.status_code == 200:
        body["sha"] = current.json()["sha"]
    answer = api.put(f"/repos/{repo}/contents/{path}", json=body)
    assert answer.status_code in (200, 201), answer.text


def admin_post(sandbox, path: str, json: dict) -> httpx.Response:
    return httpx.post(f"{sandbox.base_url}{path}", json=json, headers=ADMIN, timeout=10)


def sandbox_requests(sandbox, since: int) -> list[dict]:
    answer = httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": since}, timeout=10)
    answer.raise_for_status()
    data = answer.json()
    return data if isinstance(data, list) else data.get("requests", [])


def last_seq(sandbox) -> int:
    rows = sandbox_requests(sandbox, 0)
    return max((row["seq"] for row in rows), default=0)


def test_token_bot_login_and_config_through_contents_api(sandbox, api, app):
    put_file(api, "acme/rocket", RB, "gate:\n  release_branches: ['release/*', 'hotfix/*']\n")
    since = last_seq(sandbox)
    with accounting.count_job_calls() as calls:
        assert app.bot_login == "release-bot[bot]"
        gh = app.client_for(1)
        loaded = ConfigLoader(None).load(gh, "acme/rocket")
    assert loaded.error is None and loaded.valid
    assert loaded.config["gate"]["release_branches"] == ["release/*", "hotfix/*"]
    assert loaded.sources == [f"acme/rocket:{RB}"]
    served = sandbox_requests(sandbox, since)
    assert [r["actor"] for r in served if r["path"].endswith("/access_tokens")] == ["app"]
    assert {r["actor"] for r in served if "/contents/" in r["path"]} == {"release-bot[bot]"}
    assert calls.calls == len(served)  # every request the sandbox served was counted


def test_org_fallback_and_invalid_file_line(sandbox, api, app):
    loader = ConfigLoader(None)
    gh = app.client_for(1)
    admin_post(sandbox, "/_sandbox/repos", json={"owner": "acme", "name": ".github"})
    admin_post(sandbox, "/_sandbox/repos", json={"owner": "acme", "name": "engine"})
    put_file(api, "acme/.github", RB, "gate:\n  hold_label: org-hold\n")
    assert loader.load(gh, "acme/engine").config["gate"]["hold_label"] == "org-hold"
    put_file(api, "acme/engine", RB, "gate:\n  hold_label: [not, a, string]\n")
    loader.invalidate("acme/engine")
    loaded = loader.load(gh, "acme/engine")
    assert "acme/engine:.github/release-bot.yml:2: gate.hold_label" in loaded.error
    assert not loaded.valid  # no store, nothing valid remembered for this repository


def test_sandbox_502_retried(sandbox, api, app):
    fault = {"method": "GET", "path": "/repos/acme/rocket$", "status": 502, "times": 1}
    assert admin_post(sandbox, "/_sandbox/faults", json=fault).status_code == 201
    gh = app.client_for(1)
    with accounting.count_job_calls() as calls:
        _, repository = gh.requester.requestJsonAndCheck("GET", "/repos/acme/rocket")
    assert repository["full_name"] == "acme/rocket"
    assert calls.by_status[502] == 1


def test_sandbox_rate_limit_exhaustion_requeues(sandbox, api, app):
    fault = {"method": "GET", "path": "/repos/acme/rocket$", "status": 403, "times": 1, "rate_limit_exhausted": True}
    assert admin_post(sandbox, "/_sandbox/faults", json=fault).status_code == 201
    gh = app.client_for(1)
    with pytest.raises(RetryLater) as info:
        gh.requester.requestJsonAndCheck("GET", "/repos/acme/rocket")
    assert info.value.not_before > 0
