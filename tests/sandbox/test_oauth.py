"""The web side: the App's OAuth web flow and the App manifest flow (GitHub Enterprise Server layout)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from validation import RunningSandbox

CALLBACK = "http://127.0.0.1:9/callback"


@pytest.fixture
def web(sb: RunningSandbox) -> httpx.Client:
    with httpx.Client(base_url=sb.root_url, follow_redirects=False, timeout=10) as client:
        yield client


def _code_for(web: httpx.Client, login: str, state: str = "st4te") -> str:
    resp = web.get(
        "/login/oauth/authorize",
        params={"client_id": "Iv1.sandbox", "redirect_uri": CALLBACK, "state": state, "login": login},
    )
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def _exchange(web: httpx.Client, code: str, secret: str = "sandbox-client-secret") -> dict:
    resp = web.post(
        "/login/oauth/access_token",
        headers={"Accept": "application/json"},
        data={"client_id": "Iv1.sandbox", "client_secret": secret, "code": code},
    )
    assert resp.status_code == 200
    return resp.json()


def test_authorize_page_lets_a_person_pick_a_user(web: httpx.Client) -> None:
    resp = web.get(
        "/login/oauth/authorize",
        params={"client_id": "Iv1.sandbox", "redirect_uri": CALLBACK, "state": "<script>alert(1)</script>"},
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "login=releaser" in resp.text and "login=outsider" in resp.text
    assert "<script>" not in resp.text  # user text is escaped, never rendered as markup
    assert web.get("/login/oauth/authorize", params={"client_id": "nope"}).status_code == 404


def test_web_flow_gives_a_user_token(sb: RunningSandbox, web: httpx.Client) -> None:
    code = _code_for(web, "releaser")
    body = _exchange(web, code)
    token = body["access_token"]
    assert token.startswith("ghu_") and body["token_type"] == "bearer"
    # codes are single-use
    assert _exchange(web, code)["error"] == "bad_verification_code"
    user = sb.api.get("/user", token=token)
    assert user.status_code == 200 and user.json()["login"] == "releaser"
    installs = sb.api.get("/user/installations", token=token).json()
    assert 1 in [i["id"] for i in installs["installations"]]
    repos = sb.api.get("/user/installations/1/repositories", token=token).json()
    assert "acme/rocket" in [r["full_name"] for r in repos["repositories"]]
    assert sb.api.get("/user/installations/424242/repositories", token=token).status_code == 404


def test_form_encoded_answer_and_bad_credentials(web: httpx.Client) -> None:
    code = _code_for(web, "qa")
    assert _exchange(web, code, secret="wrong")["error"] == "incorrect_client_credentials"
    resp = web.post(
        "/login/oauth/access_token",
        data={"client_id": "Iv1.sandbox", "client_secret": "sandbox-client-secret", "code": code},
    )
    assert resp.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(resp.text)["access_token"][0].startswith("ghu_")


def test_private_repository_is_hidden_from_users_without_access(
    sb: RunningSandbox, web: httpx.Client
) -> None:
    private = sb.new_repo(private=True, permissions={"dev": "write"})
    token = _exchange(web, _code_for(web, "outsider"))["access_token"]
    repos = sb.api.get("/user/installations/1/repositories", token=token, params={"per_page": 100}).json()
    assert private not in [r["full_name"] for r in repos["repositories"]]
    dev_token = _exchange(web, _code_for(web, "dev"))["access_token"]
    dev_repos = sb.api.get(
        "/user/installations/1/repositories", token=dev_token, params={"per_page": 100}
    ).json()
    assert private in [r["full_name"] for r in dev_repos["repositories"]]


def _manifest(name: str) -> dict:
    return {
        "name": name,
        "url": "http://127.0.0.1:9/",
        "redirect_url": "http://127.0.0.1:9/setup/done",
        "hook_attributes": {"url": "http://127.0.0.1:9/api/github/webhooks"},
        "public": False,
        "default_permissions": {"issues": "write", "checks": "write", "metadata": "read"},
        "default_events": ["issues", "pull_request"],
    }


@pytest.mark.parametrize(
    "path,owner", [("/settings/apps/new", "admin"), ("/organizations/acme/settings/apps/new", "acme")]
)
def test_manifest_flow_creates_an_app(
    sb: RunningSandbox, web: httpx.Client, tmp_path: Path, path: str, owner: str
) -> None:
    name = f"release bot {owner}"
    resp = web.post(path, params={"state": "abc"}, data={"manifest": json.dumps(_manifest(name))})
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/setup/done"
    query = parse_qs(location.query)
    assert query["state"] == ["abc"]
    code = query["code"][0]
    conv = sb.api.post(f"/app-manifests/{code}/conversions", anonymous=True)
    assert conv.status_code == 201, conv.text
    app = conv.json()
    assert app["pem"].startswith("-----BEGIN") and app["webhook_secret"] and app["client_secret"]
    assert app["owner"]["login"] == owner and app["slug"] == f"release-bot-{owner}"
    assert app["permissions"] == {"issues": "write", "checks": "write", "metadata": "read"}
    # the App exists: its own JWT authenticates
    now = int(sb.handle.state.now().timestamp())
    token = jwt.encode(
        {"iat": now - 30, "exp": now + 300, "iss": str(app["id"])}, app["pem"], algorithm="RS256"
    )
    me = sb.api.get("/app", token=token)
    assert me.status_code == 200 and me.json()["id"] == app["id"]
    assert sb.api.get("/app/installations", token=token).json() == []
    # codes are single-use
    assert sb.api.post(f"/app-manifests/{code}/conversions", anonymous=True).status_code == 404


def test_invalid_manifest_is_refused(web: httpx.Client) -> None:
    assert web.post("/settings/apps/new", data={"manifest": "{not json"}).status_code == 422
    no_url = _manifest("x")
    del no_url["url"]
    assert web.post("/settings/apps/new", data={"manifest": json.dumps(no_url)}).status_code == 422
    bad_hook = _manifest("y") | {"hook_attributes": {"url": "javascript:alert(1)"}}
    resp = web.post("/settings/apps/new", data={"manifest": json.dumps(bad_hook)})
    assert resp.status_code == 422 and "javascript:" not in resp.headers.get("Location", "")
