"""The sandbox contract (docs/sandbox-contract.md), walked through sentence by sentence from outside.

The sandbox runs as outside checks run it: ``release-bot sandbox --port … --webhook-url …
--webhook-secret … --app-key …`` in its own process, ready when ``GET /api/v3/meta`` answers 200,
then driven with plain HTTP (httpx) only — no import of ``bot.sandbox``. Each test checks one
promise of the contract; the webhook receiver is a small loopback server of this module, which can
be told to fail or to hang for one repository's deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "walkthrough-s3cret"
REPO = "/repos/acme/rocket"
SEED = {
    "admin": "admin",
    "pm": "maintain",
    "releaser": "maintain",
    "qa": "write",
    "dev": "write",
    "triager": "triage",
    "outsider": "read",
}
TEAMS = {"product": "pm", "release-managers": "releaser", "qa": "qa"}


# --------------------------------------------------------------------------- webhook receiver


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers["x-github-event"]


class Receiver:
    """Records every POST; ``modes[repo_full_name]`` = "fail" (answer 500) or "hang" (answer after 11 s)."""

    def __init__(self) -> None:
        self.hooks: list[Hook] = []
        self.modes: dict[str, str] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook = Hook({k.lower(): v for k, v in self.headers.items()}, raw)
                with outer._lock:
                    outer.hooks.append(hook)
                repo = (json.loads(raw).get("repository") or {}).get("full_name", "")
                mode = outer.modes.get(repo)
                if mode == "hang":
                    time.sleep(11)
                status = 500 if mode == "fail" else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                try:
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sandbox gave up waiting (the time-out case)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait(self, match: Callable[[Hook], bool], timeout: float = 10.0) -> Hook:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [h for h in self.hooks if match(h)]
            if found:
                return found[-1]
            time.sleep(0.02)
        raise AssertionError("no matching webhook arrived")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the sandbox process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sandbox:
    port: int
    key_path: Path
    receiver: Receiver

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.root}/api/v3"

    def client(self, login: str | None = "admin", scheme: str = "token") -> httpx.Client:
        headers = {"Accept": "application/vnd.github+json"}
        if login is not None:
            headers["Authorization"] = f"{scheme} sandbox-token-{login}"
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)

    def server_time(self) -> int:
        """GitHub's clock from its ``Date`` header (the sandbox's clock may be moved ahead)."""
        return int(parsedate_to_datetime(httpx.get(f"{self.api}/meta").headers["Date"]).timestamp())

    def jwt(self, app_id: int = 1, pem: bytes | None = None) -> str:
        now = self.server_time()
        key = pem if pem is not None else self.key_path.read_bytes()
        return jwt.encode({"iat": now - 30, "exp": now + 540, "iss": str(app_id)}, key, algorithm="RS256")

    def app_client(self, app_id: int = 1, pem: bytes | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.api,
            timeout=30,
            headers={
                "Authorization": f"Bearer {self.jwt(app_id, pem)}",
                "Accept": "application/vnd.github+json",
            },
        )

    def installation_client(self, installation_id: int = 1) -> httpx.Client:
        with self.app_client() as app:
            resp = app.post(f"/app/installations/{installation_id}/access_tokens")
        assert resp.status_code == 201, resp.text
        return httpx.Client(
            base_url=self.api,
            timeout=30,
            headers={
                "Authorization": f"token {resp.json()['token']}",
                "Accept": "application/vnd.github+json",
            },
        )

    def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, f"{self.root}/_sandbox{path}", timeout=30, **kw)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    exe = ROOT / ".venv" / "bin" / "release-bot"
    command = [str(exe)] if exe.exists() else [shutil.which("release-bot") or "release-bot"]
    tmp = tmp_path_factory.mktemp("walkthrough")
    key = tmp / "sandbox-app.pem"  # does not exist yet: the sandbox creates it
    receiver = Receiver()
    port = _free_port()
    proc = subprocess.Popen(
        [
            *command,
            "sandbox",
            "--port",
            str(port),
            "--webhook-url",
            receiver.url,
            "--webhook-secret",
            SECRET,
            "--app-key",
            str(key),
        ],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if k not in ("WEBHOOK_SECRET", "APP_ID")},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v3/meta", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"sandbox did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            time.sleep(0.05)
        yield Sandbox(port, key, receiver)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        receiver.close()


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    )
    return resp.json() if resp.content else None


def _assert_error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, f"{resp.request.url}: {resp.status_code} {resp.text}"
    body = resp.json()
    assert isinstance(body["message"], str) and body["message"]
    assert body["documentation_url"].startswith("https://docs.github.com/")
    return body


def _wait_idle(sb: Sandbox) -> None:
    _ok(sb.admin("POST", "/wait-idle"))


def _new_repo(sb: Sandbox, owner: str, name: str, **extra: Any) -> dict[str, Any]:
    return _ok(sb.admin("POST", "/repos", json={"owner": owner, "name": name, **extra}), 201)


# --------------------------------------------------------------------------- starting it, what exists


def test_app_key_created_and_bot_can_use_it(sandbox: Sandbox) -> None:
    # "--app-key: created if the file does not exist; the bot reads the same file (APP_ID=1)".
    assert b"PRIVATE KEY" in sandbox.key_path.read_bytes()
    with sandbox.app_client() as app:
        body = _ok(app.get("/app"))
    assert body["id"] == 1 and body["slug"] == "release-bot"
    assert body["html_url"].startswith(sandbox.root + "/") and "/api/v3" not in body["html_url"]


def test_seeded_org_repo_default_branch_and_readme(sandbox: Sandbox) -> None:
    with sandbox.client() as http:
        assert _ok(http.get("/orgs/acme"))["login"] == "acme"
        repo = _ok(http.get(REPO))
        assert repo["full_name"] == "acme/rocket" and repo["default_branch"] == "main"
        commits = _ok(http.get(f"{REPO}/commits", params={"sha": "main"}))
        readme = _ok(http.get(f"{REPO}/contents/README.md", params={"ref": "main"}))
        first = _ok(http.get(f"{REPO}/commits", params={"sha": commits[-1]["sha"]}))
    assert len(first) == 1  # the history starts with one root commit
    assert readme["type"] == "file" and readme["path"] == "README.md"
    assert base64.b64decode(readme["content"]).decode().startswith("# ")


def test_app_bot_user_installation_and_oauth_client(sandbox: Sandbox) -> None:
    with sandbox.app_client() as app:
        installs = _ok(app.get("/app/installations"))
        inst = _ok(app.get("/app/installations/1"))
    assert [i["id"] for i in installs][:1] == [1]
    assert (
        inst["account"]["login"] == "acme" and inst["app_id"] == 1 and inst["repository_selection"] == "all"
    )
    with sandbox.client() as http:
        bot = _ok(http.get("/users/release-bot[bot]"))
    assert bot["type"] == "Bot"
    with sandbox.installation_client() as inst_http:
        repos = _ok(inst_http.get("/installation/repositories"))
    assert "acme/rocket" in [r["full_name"] for r in repos["repositories"]]
    # OAuth client id/secret: a code from the authorize shortcut trades for a user token.
    code = _authorize(sandbox, "dev")
    token = _token(sandbox, code)
    assert token.startswith("ghu_")
    bad = httpx.post(
        f"{sandbox.root}/login/oauth/access_token",
        headers={"Accept": "application/json"},
        data={"client_id": "Iv1.sandbox", "client_secret": "wrong", "code": _authorize(sandbox, "dev")},
    )
    assert bad.json()["error"] == "incorrect_client_credentials"


@pytest.mark.parametrize("login", sorted(SEED))
def test_users_tokens_permissions_and_teams(sandbox: Sandbox, login: str) -> None:
    for scheme in ("token", "Bearer"):
        with sandbox.client(login, scheme) as http:
            assert _ok(http.get("/user"))["login"] == login
    with sandbox.client() as http:
        perm = _ok(http.get(f"{REPO}/collaborators/{login}/permission"))
        expected = SEED[login]
        assert perm["role_name"] == expected
        legacy = {"maintain": "write", "triage": "read"}.get(expected, expected)
        assert perm["permission"] == legacy
        assert perm["user"]["permissions"]["push"] is (expected in ("write", "maintain", "admin"))
        assert perm["user"]["permissions"]["admin"] is (expected == "admin")
        for slug, member in TEAMS.items():
            resp = http.get(f"/orgs/acme/teams/{slug}/memberships/{login}")
            if member == login:
                assert _ok(resp)["state"] == "active"
            else:
                _assert_error(resp, 404)
        member = http.get(f"/orgs/acme/members/{login}")
    assert member.status_code == (404 if login == "outsider" else 204)


# --------------------------------------------------------------------------- shapes, errors, paging


def _urls(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _urls(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _urls(v, key)
    elif isinstance(node, str) and (key == "url" or key.endswith("_url")) and node.startswith("http"):
        yield key, node


def test_every_url_from_the_base_and_html_from_the_host_root(sandbox: Sandbox) -> None:
    with sandbox.client("pm") as http:
        ms = _ok(http.post(f"{REPO}/milestones", json={"title": "v0.1.0"}), 201)
        issue = _ok(http.post(f"{REPO}/issues", json={"title": "urls", "milestone": ms["number"]}), 201)
        bodies = [_ok(http.get(REPO)), issue, ms, _ok(http.get(f"{REPO}/branches/main"))]
    for body in bodies:
        for key, url in _urls(body):
            if key == "html_url":
                assert url.startswith(sandbox.root + "/") and not url.startswith(sandbox.api), url
            elif "{" not in url or url.startswith(sandbox.api):
                assert url.startswith(sandbox.api) or url.startswith(sandbox.root + "/"), (key, url)
    assert issue["url"] == f"{sandbox.api}{REPO}/issues/{issue['number']}"


def test_errors_have_githubs_shape_and_codes(sandbox: Sandbox) -> None:
    with sandbox.client() as http:
        _assert_error(http.get("/repos/acme/nope"), 404)
        _assert_error(http.post(f"{REPO}/milestones", json={}), 422)
    with httpx.Client(base_url=sandbox.api, headers={"Authorization": "token nope"}) as bad:
        _assert_error(bad.get(REPO), 401)
    with sandbox.client("outsider") as http:
        _assert_error(http.post(f"{REPO}/milestones", json={"title": "x"}), 403)
    with sandbox.client("triager") as http:
        _assert_error(http.put(f"{REPO}/contents/x.txt", json={"message": "m", "content": "eA=="}), 403)
    # 405 (merge blocked by a required check) and 409 (stale head sha) on a pull request.
    with sandbox.client() as http:
        _branch(http, "walk/err")
        _commit(http, "walk/err", "err.txt")
        pr = _ok(http.post(f"{REPO}/pulls", json={"title": "e", "head": "walk/err", "base": "main"}), 201)
        _assert_error(http.put(f"{REPO}/pulls/{pr['number']}/merge", json={"sha": "0" * 40}), 409)
    _new_repo(sandbox, "acme", "gated")
    with sandbox.client() as http:
        _ok(
            http.put(
                "/repos/acme/gated/branches/main/protection",
                json={
                    "required_status_checks": {"strict": False, "checks": [{"context": "ci", "app_id": 1}]},
                    "enforce_admins": True,
                    "required_pull_request_reviews": None,
                    "restrictions": None,
                },
            )
        )
        _branch(http, "f", repo="/repos/acme/gated")
        _commit(http, "f", "f.txt", repo="/repos/acme/gated")
        pr = _ok(http.post("/repos/acme/gated/pulls", json={"title": "g", "head": "f", "base": "main"}), 201)
        _assert_error(http.put(f"/repos/acme/gated/pulls/{pr['number']}/merge", json={}), 405)


def test_a_json_body_is_read_whatever_its_content_type(sandbox: Sandbox) -> None:
    """As on GitHub, `curl -d '{…}'` (sent as application/x-www-form-urlencoded) works: the README's
    example."""
    body = b'{"title": "v9.8.7", "due_on": "2026-12-15T12:00:00Z"}'
    with sandbox.client("pm") as http:
        made = _ok(
            http.post(
                f"{REPO}/milestones",
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            201,
        )
        assert made["title"] == "v9.8.7" and made["due_on"] == "2026-12-15T08:00:00Z"
        _assert_error(
            http.post(
                f"{REPO}/milestones",
                content=b"title=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            400,
        )


def test_pagination_defaults_maximum_and_link_headers(sandbox: Sandbox) -> None:
    _new_repo(sandbox, "acme", "paging")
    path = "/repos/acme/paging/labels"
    with sandbox.client() as http:
        have = len(_ok(http.get(path, params={"per_page": 100})))
        for i in range(105 - have):
            _ok(http.post(path, json={"name": f"l{i:03d}", "color": "ededed"}), 201)
        first = http.get(path)
        assert len(first.json()) == 30
        links = first.links
        assert links["next"]["url"].startswith(sandbox.api + path) and "page=2" in links["next"]["url"]
        assert "page=4" in links["last"]["url"]
        big = http.get(path, params={"per_page": 500})
        assert len(big.json()) == 100 and "page=2" in big.links["last"]["url"]
        last = http.get(big.links["next"]["url"])
        assert len(last.json()) == 5 and "next" not in last.links and "prev" in last.links


def test_hook_deliveries_page_by_cursor(sandbox: Sandbox) -> None:
    _wait_idle(sandbox)
    with sandbox.app_client() as app:
        first = app.get("/app/hook/deliveries", params={"per_page": 2})
        assert len(_ok(first)) == 2
        nxt = first.links["next"]["url"]
        assert (
            nxt.startswith(f"{sandbox.api}/app/hook/deliveries")
            and "cursor=" in nxt
            and not re.search(r"[?&]page=", nxt)
        )
        second = _ok(app.get(nxt))
        assert {d["id"] for d in second}.isdisjoint({d["id"] for d in first.json()})
        assert max(d["id"] for d in second) < min(d["id"] for d in first.json())  # newest first
        one = _ok(app.get(f"/app/hook/deliveries/{second[0]['id']}"))
        assert one["guid"] == second[0]["guid"] and "request" in one and "response" in one


def test_rate_limit_headers_and_accounting(sandbox: Sandbox) -> None:
    with sandbox.client("qa") as http:
        before = _ok(http.get("/rate_limit"))["resources"]["core"]
        resp = http.get(REPO)
        for name in ("Limit", "Remaining", "Reset", "Used", "Resource"):
            assert f"X-RateLimit-{name}" in resp.headers
        for _ in range(4):
            http.get(REPO)
        after = _ok(http.get("/rate_limit"))
    core = after["resources"]["core"]
    assert core["used"] == before["used"] + 5 and core["remaining"] == core["limit"] - core["used"]
    assert after["rate"] == core
    assert int(resp.headers["X-RateLimit-Remaining"]) == int(resp.headers["X-RateLimit-Limit"]) - int(
        resp.headers["X-RateLimit-Used"]
    )


def test_conditional_get_answers_304_without_using_the_rate_limit(sandbox: Sandbox) -> None:
    with sandbox.client("releaser") as http:
        first = http.get(REPO)
        etag = first.headers["ETag"]
        again = http.get(REPO, headers={"If-None-Match": etag})
        used = _ok(http.get("/rate_limit"))["resources"]["core"]["used"]
    assert again.status_code == 304 and not again.content and again.headers["ETag"] == etag
    assert again.headers["X-RateLimit-Used"] == first.headers["X-RateLimit-Used"] == str(used)


def test_url_encoded_branch_names(sandbox: Sandbox) -> None:
    with sandbox.client() as http:
        _branch(http, "release/1.4")
        assert _ok(http.get(f"{REPO}/branches/release%2F1.4"))["name"] == "release/1.4"
        assert _ok(http.get(f"{REPO}/git/ref/heads/release%2F1.4"))["ref"] == "refs/heads/release/1.4"
        assert _ok(http.get(f"{REPO}/commits", params={"sha": "release/1.4"}))
        _ok(
            http.put(
                f"{REPO}/branches/release%2F1.4/protection",
                json={
                    "required_status_checks": None,
                    "enforce_admins": False,
                    "required_pull_request_reviews": None,
                    "restrictions": None,
                },
            )
        )
        assert (
            _ok(http.get(f"{REPO}/branches/release%2F1.4/protection"))["enforce_admins"]["enabled"] is False
        )
        assert _ok(http.get(f"{REPO}/compare/main...release%2F1.4"))["status"] == "identical"


def test_due_on_is_a_date_at_githubs_hour(sandbox: Sandbox) -> None:
    with sandbox.client("dev") as http:
        m = _ok(
            http.post(f"{REPO}/milestones", json={"title": "v0.2.0", "due_on": "2030-01-15T20:00:00Z"}), 201
        )
        assert m["due_on"] == "2030-01-15T08:00:00Z"  # midnight Pacific (standard time) of that date
        summer = _ok(http.patch(f"{REPO}/milestones/{m['number']}", json={"due_on": "2030-07-04T12:00:00Z"}))
        assert summer["due_on"] == "2030-07-04T07:00:00Z"  # midnight Pacific (daylight time)
        early = _ok(http.patch(f"{REPO}/milestones/{m['number']}", json={"due_on": "2030-07-04T06:59:00Z"}))
        assert early["due_on"] == "2030-07-03T07:00:00Z"  # still July 3rd in California
        cleared = _ok(http.patch(f"{REPO}/milestones/{m['number']}", json={"due_on": None}))
        assert cleared["due_on"] is None
        _assert_error(http.post(f"{REPO}/milestones", json={"title": "bad", "due_on": "soon"}), 422)


def test_direct_pushes_to_protected_branches_are_refused(sandbox: Sandbox) -> None:
    path = "/repos/acme/pushguard"
    _new_repo(sandbox, "acme", "pushguard")
    protection = {
        "required_status_checks": {"strict": False, "checks": [{"context": "ci", "app_id": 1}]},
        "enforce_admins": False,
        "required_pull_request_reviews": None,
        "restrictions": None,
    }
    with sandbox.client() as admin, sandbox.client("dev") as dev:
        _branch(admin, "feature", repo=path)
        green = _commit(dev, "feature", "green.txt", repo=path)
        _ok(admin.put(f"{path}/branches/main/protection", json=protection))
        body = _assert_error(_put_file(dev, path, "main", "direct.txt"), 409)
        assert body["message"] == 'Required status check "ci" is expected.'
        ref = dev.patch(f"{path}/git/refs/heads/main", json={"sha": green})
        assert _assert_error(ref, 422)["message"] == 'Required status check "ci" is expected.'
        _assert_error(dev.post(f"{path}/merges", json={"base": "main", "head": "feature"}), 409)
        with sandbox.installation_client() as bot:  # the App's check passes on that commit: it may land
            _ok(
                bot.post(
                    f"{path}/check-runs",
                    json={"name": "ci", "head_sha": green, "status": "completed", "conclusion": "success"},
                ),
                201,
            )
        assert _ok(dev.patch(f"{path}/git/refs/heads/main", json={"sha": green}))["object"]["sha"] == green
        _ok(_put_file(admin, path, "main", "admin.txt"), 201)  # enforce_admins off: an admin bypasses
        _ok(admin.put(f"{path}/branches/main/protection", json={**protection, "enforce_admins": True}))
        _assert_error(_put_file(admin, path, "main", "admin2.txt"), 409)
        _ok(
            admin.put(
                f"{path}/branches/main/protection",
                json={
                    **protection,
                    "required_status_checks": None,
                    "required_pull_request_reviews": {"required_approving_review_count": 0},
                },
            )
        )
        body = _assert_error(_put_file(dev, path, "main", "direct2.txt"), 409)
        assert body["message"] == "Changes must be made through a pull request."
        _ok(_put_file(dev, path, "feature", "free.txt"), 201)  # unprotected branches take pushes
        # A ruleset binds admins too unless they are on its bypass list.
        ruleset = {
            "name": "gate",
            "target": "branch",
            "enforcement": "active",
            "conditions": {"ref_name": {"include": ["refs/heads/release/*"], "exclude": []}},
            "rules": [
                {
                    "type": "required_status_checks",
                    "parameters": {
                        "strict_required_status_checks_policy": False,
                        "required_status_checks": [{"context": "gate", "integration_id": 1}],
                    },
                }
            ],
        }
        rs = _ok(admin.post(f"{path}/rulesets", json=ruleset), 201)
        _branch(admin, "release/1.0", repo=path)
        for who in (dev, admin):
            body = _assert_error(_put_file(who, path, "release/1.0", "r.txt"), 409)
            assert body["message"].startswith("Repository rule violations found")
            assert 'Required status check "gate" is expected.' in body["message"]
        _ok(
            admin.put(
                f"{path}/rulesets/{rs['id']}",
                json={
                    **ruleset,
                    "bypass_actors": [
                        {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
                    ],
                },
            )
        )
        _ok(_put_file(admin, path, "release/1.0", "r.txt"), 201)
        _assert_error(_put_file(dev, path, "release/1.0", "r2.txt"), 409)


# --------------------------------------------------------------------------- webhooks


def test_webhook_headers_and_signatures(sandbox: Sandbox) -> None:
    with sandbox.client("pm") as http:
        m = _ok(http.post(f"{REPO}/milestones", json={"title": "v0.3.0"}), 201)
    hook = sandbox.receiver.wait(lambda h: h.event == "milestone" and h.payload["milestone"]["id"] == m["id"])
    h = hook.headers
    assert re.fullmatch(r"[0-9a-f-]{36}", h["x-github-delivery"])
    assert (
        h["x-hub-signature-256"]
        == "sha256=" + hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    )
    assert h["x-hub-signature"] == "sha1=" + hmac.new(SECRET.encode(), hook.body, hashlib.sha1).hexdigest()
    assert h["x-github-hook-id"].isdigit()
    assert h["x-github-hook-installation-target-id"] == "1"
    assert h["user-agent"].startswith("GitHub-Hookshot/")
    p = hook.payload
    assert p["action"] == "created" and p["installation"]["id"] == 1
    assert p["repository"]["full_name"] == "acme/rocket" and p["organization"]["login"] == "acme"
    assert p["sender"]["login"] == "pm"


def test_the_apps_own_writes_send_webhooks_with_its_bot_as_sender(sandbox: Sandbox) -> None:
    seq = int(sandbox.admin("GET", "/requests", params={"since": 10**9}).headers["X-Sandbox-Last-Seq"])
    with sandbox.installation_client() as bot:
        issue = _ok(bot.post(f"{REPO}/issues", json={"title": "by the bot"}), 201)
        comment = _ok(bot.post(f"{REPO}/issues/{issue['number']}/comments", json={"body": "hi"}), 201)
    hook = sandbox.receiver.wait(
        lambda h: h.event == "issue_comment" and h.payload["comment"]["id"] == comment["id"]
    )
    assert hook.payload["sender"]["login"] == "release-bot[bot]"
    assert hook.payload["sender"]["type"] == "Bot"
    rows = _ok(sandbox.admin("GET", "/requests", params={"since": seq}))
    actors = {(r["method"], r["path"]): r["actor"] for r in rows}
    assert actors[("POST", "/app/installations/1/access_tokens")] == "app"
    assert actors[("POST", "/repos/acme/rocket/issues")] == "release-bot[bot]"
    for row in rows:
        assert set(row) == {"seq", "method", "path", "status", "actor"}
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows) and rows[0]["seq"] > seq


def test_failed_and_timed_out_deliveries_are_recorded_and_never_retried(sandbox: Sandbox) -> None:
    _new_repo(sandbox, "hangco", "slow")
    _new_repo(sandbox, "failco", "broken")
    sandbox.receiver.modes.update({"hangco/slow": "hang", "failco/broken": "fail"})
    started = time.monotonic()
    with sandbox.client() as http:
        slow = _ok(http.post("/repos/hangco/slow/milestones", json={"title": "v1"}), 201)
        broken = _ok(http.post("/repos/failco/broken/milestones", json={"title": "v1"}), 201)
    deadline = time.monotonic() + 20

    def delivery(milestone_id: int) -> dict[str, Any] | None:
        rows = _ok(sandbox.admin("GET", "/deliveries", params={"payloads": "1"}))
        found = [
            r for r in rows if r["event"] == "milestone" and r["payload"]["milestone"]["id"] == milestone_id
        ]
        assert len(found) <= 1, found  # never retried, never duplicated
        return found[0] if found and found[0]["done"] else None

    failed = None
    while failed is None and time.monotonic() < deadline:
        failed = delivery(broken["id"])
        time.sleep(0.05)
    assert failed is not None and failed["status_code"] == 500 and failed["status"] != "OK"
    timed = None
    while timed is None and time.monotonic() < deadline:
        timed = delivery(slow["id"])
        time.sleep(0.1)
    assert timed is not None and timed["status_code"] == 0 and "time" in timed["status"].lower()
    assert 9.5 <= timed["duration"] <= 12 and time.monotonic() - started >= 9.5
    time.sleep(0.5)
    assert delivery(broken["id"]) is not None and delivery(slow["id"]) is not None  # still one each
    sandbox.receiver.modes.clear()
    with sandbox.app_client() as app:  # redelivery: same X-GitHub-Delivery, a new record
        listed = _ok(app.get("/app/hook/deliveries", params={"per_page": 100}))
        item = next(d for d in listed if d["id"] == failed["id"])
        assert item["status_code"] == 500
        _ok(app.post(f"/app/hook/deliveries/{failed['id']}/attempts"), 202)
    again = sandbox.receiver.wait(
        lambda h: (
            h.headers["x-github-delivery"] == failed["guid"]
            and h.payload.get("repository", {}).get("full_name") == "failco/broken"
        )
    )
    assert again.payload["milestone"]["id"] == broken["id"]


# --------------------------------------------------------------------------- /_sandbox/


def test_faults(sandbox: Sandbox) -> None:
    spec = {
        "method": "GET",
        "path": r"^/repos/acme/rocket/milestones$",
        "status": 502,
        "times": 2,
        "retry_after": 3,
        "delay_ms": 0,
        "rate_limit_exhausted": False,
    }
    _ok(sandbox.admin("POST", "/faults", json=spec), 201)
    with sandbox.client() as http:
        a, b, c = (http.get(f"{REPO}/milestones") for _ in range(3))
        assert a.status_code == b.status_code == 502 and a.headers["Retry-After"] == "3"
        _assert_error(a, 502)
        assert c.status_code == 200
        _ok(
            sandbox.admin(
                "POST",
                "/faults",
                json={
                    "path": "^/rate_limit$",
                    "rate_limit_exhausted": True,
                    "status": 403,
                    "retry_after": 60,
                },
            ),
            201,
        )
        limited = http.get("/rate_limit")
        assert limited.status_code == 403 and limited.headers["X-RateLimit-Remaining"] == "0"
        _ok(sandbox.admin("POST", "/faults", json={"path": "^/meta$", "delay_ms": 300, "times": 1}), 201)
        t0 = time.monotonic()
        assert http.get("/meta").status_code == 200 and time.monotonic() - t0 >= 0.3
        _ok(sandbox.admin("POST", "/faults", json={"path": "^/meta$", "status": 500, "times": 5}), 201)
        assert sandbox.admin("DELETE", "/faults").status_code == 204
        assert http.get("/meta").status_code == 200
    _assert_error(sandbox.admin("POST", "/faults", json={"path": "("}), 422)


def test_chaos_and_order(sandbox: Sandbox) -> None:
    _wait_idle(sandbox)
    on = _ok(
        sandbox.admin(
            "POST", "/deliveries/chaos", json={"shuffle": True, "duplicate": 1.0, "drop": 0, "delay_ms": 0}
        )
    )
    assert on["shuffle"] is True and on["duplicate"] == 1.0
    try:
        with sandbox.client("pm") as http:
            m = _ok(http.post(f"{REPO}/milestones", json={"title": "v0.4.0"}), 201)
        _wait_idle(sandbox)
        copies = [
            h
            for h in sandbox.receiver.hooks
            if h.event == "milestone" and h.payload["milestone"]["id"] == m["id"]
        ]
        assert (
            len(copies) == 2
            and copies[0].headers["x-github-delivery"] == copies[1].headers["x-github-delivery"]
        )
    finally:
        assert sandbox.admin("DELETE", "/deliveries/chaos").status_code == 204
    with sandbox.client("pm") as http:  # order restored: in order per repository
        ids = [
            _ok(http.post(f"{REPO}/labels", json={"name": f"ord{i}", "color": "ededed"}), 201)["id"]
            for i in range(5)
        ]
    _wait_idle(sandbox)
    got = [
        h.payload["label"]["id"]
        for h in sandbox.receiver.hooks
        if h.event == "label" and h.payload["label"]["id"] in ids
    ]
    assert got == ids


def test_clock_moves_token_expiry(sandbox: Sandbox) -> None:
    with sandbox.installation_client() as bot:
        assert bot.get(REPO).status_code == 200
        before = sandbox.server_time()
        moved = _ok(sandbox.admin("POST", "/clock", json={"advance_seconds": 3601}))
        assert "now" in moved and sandbox.server_time() - before >= 3600  # the Date header follows it
        _assert_error(bot.get(REPO), 401)
    with sandbox.installation_client() as fresh:  # a JWT signed on GitHub's clock gets a new token
        assert fresh.get(REPO).status_code == 200
    _assert_error(sandbox.admin("POST", "/clock", json={"advance_seconds": "x"}), 422)


def test_users_endpoint(sandbox: Sandbox) -> None:
    body = _ok(
        sandbox.admin("POST", "/users", json={"login": "newbie", "permission": "triage", "teams": ["qa"]}),
        201,
    )
    assert body["login"] == "newbie" and body["token"] == "sandbox-token-newbie"
    with sandbox.client("newbie") as http:
        assert _ok(http.get("/user"))["login"] == "newbie"
        assert _ok(http.get(f"{REPO}/collaborators/newbie/permission"))["role_name"] == "triage"
        assert _ok(http.get("/orgs/acme/teams/qa/memberships/newbie"))["state"] == "active"
    _assert_error(sandbox.admin("POST", "/users", json={"login": "newbie"}), 422)


def test_repos_endpoint_with_and_without_permissions(sandbox: Sandbox) -> None:
    plain = _new_repo(sandbox, "acme", "plain")
    assert plain["full_name"] == "acme/plain" and plain["default_branch"] == "main"
    with sandbox.client("triager") as http:
        assert _ok(http.get("/repos/acme/plain/collaborators/triager/permission"))["role_name"] == "triage"
    _new_repo(sandbox, "acme", "locked", private=True, permissions={"dev": "maintain"})
    with sandbox.client("dev") as http:
        assert _ok(http.get("/repos/acme/locked/collaborators/dev/permission"))["role_name"] == "maintain"
    with sandbox.client("qa") as http:
        _assert_error(http.get("/repos/acme/locked"), 404)
    with sandbox.client("admin") as http:  # organization owners keep access
        assert _ok(http.get("/repos/acme/locked"))["private"] is True
    # A new owner is a new organization with its own installation of the App.
    _new_repo(sandbox, "globex", "engine")
    hook = sandbox.receiver.wait(
        lambda h: h.event == "installation" and h.payload["installation"]["account"]["login"] == "globex"
    )
    assert hook.payload["action"] == "created"
    inst_id = hook.payload["installation"]["id"]
    assert inst_id != 1
    with sandbox.app_client() as app:
        assert _ok(app.get("/repos/globex/engine/installation"))["id"] == inst_id
    with sandbox.installation_client(inst_id) as bot:
        assert [r["full_name"] for r in _ok(bot.get("/installation/repositories"))["repositories"]] == [
            "globex/engine"
        ]
    with sandbox.client() as http:
        assert _ok(http.get("/orgs/globex"))["login"] == "globex"


def test_installation_life_cycle(sandbox: Sandbox) -> None:
    _new_repo(sandbox, "initech", "one")
    _new_repo(sandbox, "initech", "two")
    with sandbox.app_client() as app:
        inst = _ok(app.get("/repos/initech/one/installation"))["id"]
    removed = _ok(
        sandbox.admin("POST", f"/installations/{inst}/repositories", json={"remove": ["initech/two"]})
    )
    assert "initech/two" not in json.dumps(removed)
    hook = sandbox.receiver.wait(
        lambda h: (
            h.event == "installation_repositories"
            and h.payload["action"] == "removed"
            and h.payload["installation"]["id"] == inst
        )
    )
    assert [r["full_name"] for r in hook.payload["repositories_removed"]] == ["initech/two"]
    _ok(sandbox.admin("POST", f"/installations/{inst}/repositories", json={"add": ["initech/two"]}))
    sandbox.receiver.wait(
        lambda h: (
            h.event == "installation_repositories"
            and h.payload["action"] == "added"
            and h.payload["installation"]["id"] == inst
        )
    )
    with sandbox.installation_client(inst) as bot:
        _ok(sandbox.admin("POST", f"/installations/{inst}/suspend"))
        sandbox.receiver.wait(
            lambda h: (
                h.event == "installation"
                and h.payload["action"] == "suspend"
                and h.payload["installation"]["id"] == inst
            )
        )
        _assert_error(bot.get("/repos/initech/one"), 403)
    assert sandbox.admin("DELETE", f"/installations/{inst}").status_code == 204
    sandbox.receiver.wait(
        lambda h: (
            h.event == "installation"
            and h.payload["action"] == "deleted"
            and h.payload["installation"]["id"] == inst
        )
    )
    with sandbox.app_client() as app:
        _assert_error(app.get("/repos/initech/one/installation"), 404)
    created = _ok(sandbox.admin("POST", "/installations", json={"account": "initech"}), 201)
    hook = sandbox.receiver.wait(
        lambda h: (
            h.event == "installation"
            and h.payload["action"] == "created"
            and h.payload["installation"]["id"] == created["id"]
        )
    )
    assert {r["full_name"] for r in hook.payload["repositories"]} == {"initech/one", "initech/two"}


def test_merge_queue(sandbox: Sandbox) -> None:
    _new_repo(sandbox, "acme", "queued")
    path = "/repos/acme/queued"
    with sandbox.client() as http:
        _branch(http, "q1", repo=path)
        _commit(http, "q1", "q1.txt", repo=path)
        pr = _ok(http.post(f"{path}/pulls", json={"title": "q", "head": "q1", "base": "main"}), 201)
    group = _ok(
        sandbox.admin("POST", "/merge-queue", json={"repo": "acme/queued", "pull_numbers": [pr["number"]]}),
        201,
    )
    hook = sandbox.receiver.wait(
        lambda h: (
            h.event == "merge_group"
            and h.payload["action"] == "checks_requested"
            and h.payload["repository"]["full_name"] == "acme/queued"
        )
    )
    mg = hook.payload["merge_group"]
    assert hook.payload["action"] == "checks_requested" and mg["head_sha"] == group["head_sha"]
    assert re.fullmatch(
        rf"refs/heads/gh-readonly-queue/main/pr-{pr['number']}-[0-9a-f]{{40}}", mg["head_ref"]
    )


def test_vanishing_pull_request(sandbox: Sandbox) -> None:
    with sandbox.client() as http:
        _branch(http, "walk/vanish")
        _commit(http, "walk/vanish", "v.txt")
        pr = _ok(http.post(f"{REPO}/pulls", json={"title": "v", "head": "walk/vanish", "base": "main"}), 201)
        assert sandbox.admin("DELETE", f"{REPO}/pulls/{pr['number']}").status_code == 204
        _assert_error(http.get(f"{REPO}/pulls/{pr['number']}"), 404)
        _assert_error(http.get(f"{REPO}/issues/{pr['number']}"), 404)
    assert sandbox.admin("DELETE", f"{REPO}/pulls/{pr['number']}").status_code == 404


def test_deliveries_listing_and_wait_idle(sandbox: Sandbox) -> None:
    with sandbox.client("pm") as http:
        _ok(http.post(f"{REPO}/milestones", json={"title": "v0.5.0"}), 201)
    assert _ok(sandbox.admin("POST", "/wait-idle"))
    rows = _ok(sandbox.admin("GET", "/deliveries"))
    last = [r for r in rows if r["event"] == "milestone"][-1]
    assert last["action"] == "created" and last["status_code"] == 200 and isinstance(last["duration"], float)
    assert all(r["done"] for r in rows)


# --------------------------------------------------------------------------- the web side


def _authorize(sb: Sandbox, login: str, client_id: str = "Iv1.sandbox") -> str:
    resp = httpx.get(
        f"{sb.root}/login/oauth/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": "http://127.0.0.1:9/callback",
            "state": "xyz",
            "login": login,
        },
    )
    assert resp.status_code == 302, resp.text
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def _token(
    sb: Sandbox, code: str, client_id: str = "Iv1.sandbox", client_secret: str = "sandbox-client-secret"
) -> str:
    resp = httpx.post(
        f"{sb.root}/login/oauth/access_token",
        headers={"Accept": "application/json"},
        data={"client_id": client_id, "client_secret": client_secret, "code": code},
    )
    return _ok(resp)["access_token"]


def test_oauth_web_flow(sandbox: Sandbox) -> None:
    page = httpx.get(f"{sandbox.root}/login/oauth/authorize", params={"client_id": "Iv1.sandbox"})
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    for login in ("admin", "dev", "outsider"):
        assert f">{login}<" in page.text
    token = _token(sandbox, _authorize(sandbox, "qa"))
    with httpx.Client(base_url=sandbox.api, headers={"Authorization": f"token {token}"}) as user:
        assert _ok(user.get("/user"))["login"] == "qa"
        installs = _ok(user.get("/user/installations"))
        assert 1 in [i["id"] for i in installs["installations"]] and installs["total_count"] >= 1
        repos = _ok(user.get("/user/installations/1/repositories"))
        assert "acme/rocket" in [r["full_name"] for r in repos["repositories"]]
    used = httpx.post(
        f"{sandbox.root}/login/oauth/access_token",
        headers={"Accept": "application/json"},
        data={"client_id": "Iv1.sandbox", "client_secret": "sandbox-client-secret", "code": "nope"},
    )
    assert used.json()["error"] == "bad_verification_code"


@pytest.mark.parametrize("where", ["/settings/apps/new", "/organizations/acme/settings/apps/new"])
def test_manifest_flow(sandbox: Sandbox, where: str) -> None:
    name = "walk-" + hashlib.sha1(where.encode()).hexdigest()[:8]
    manifest = {
        "name": name,
        "url": "http://127.0.0.1:9/",
        "redirect_url": "http://127.0.0.1:9/done",
        "hook_attributes": {"url": "http://127.0.0.1:9/hooks"},
        "default_permissions": {"issues": "write"},
        "default_events": ["issues"],
    }
    resp = httpx.post(f"{sandbox.root}{where}", data={"manifest": json.dumps(manifest)})
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:9/done"
    code = parse_qs(location.query)["code"][0]
    conv = _ok(httpx.post(f"{sandbox.api}/app-manifests/{code}/conversions"), 201)
    for key in ("id", "pem", "webhook_secret", "client_id", "client_secret"):
        assert conv[key], key
    with sandbox.app_client(conv["id"], conv["pem"].encode()) as app:
        me = _ok(app.get("/app"))
    assert me["id"] == conv["id"] and me["name"] == name
    if where.startswith("/organizations"):
        assert me["owner"]["login"] == "acme"
    again = httpx.post(f"{sandbox.api}/app-manifests/{code}/conversions")
    _assert_error(again, 404)


# --------------------------------------------------------------------------- helpers


def _branch(http: httpx.Client, name: str, repo: str = REPO, base: str = "main") -> str:
    sha = _ok(http.get(f"{repo}/git/ref/heads/{base}"))["object"]["sha"]
    _ok(http.post(f"{repo}/git/refs", json={"ref": f"refs/heads/{name}", "sha": sha}), 201)
    return sha


def _commit(http: httpx.Client, branch: str, path: str, repo: str = REPO) -> str:
    body = _ok(
        http.put(
            f"{repo}/contents/{path}",
            json={
                "message": f"add {path}",
                "content": base64.b64encode(path.encode()).decode(),
                "branch": branch,
            },
        ),
        201,
    )
    return body["commit"]["sha"]


def _put_file(http: httpx.Client, repo: str, branch: str, path: str) -> httpx.Response:
    return http.put(
        f"{repo}/contents/{path}",
        json={
            "message": f"add {path}",
            "content": base64.b64encode(path.encode()).decode(),
            "branch": branch,
        },
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
