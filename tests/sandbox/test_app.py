"""The App: JWT authentication, installations, installation tokens (expiry by the sandbox clock,
suspension), the installation's repositories, and webhook deliveries (cursor paging, redelivery)."""

from __future__ import annotations

from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from validation import RunningSandbox


def test_get_app_with_jwt(sb: RunningSandbox) -> None:
    resp = sb.api.get("/app", token=sb.app_jwt())
    assert resp.status_code == 200, resp.text
    app = resp.json()
    assert (app["id"], app["slug"], app["owner"]["login"]) == (1, "release-bot", "acme")
    assert app["permissions"]["checks"] == "write"


def test_jwt_must_be_signed_with_the_apps_key_and_fresh(sb: RunningSandbox) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_key = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(sb.handle.state.now().timestamp())
    forged = jwt.encode({"iat": now - 60, "exp": now + 300, "iss": "1"}, forged_key, algorithm="RS256")
    assert sb.api.get("/app", token=forged).status_code == 401
    key = sb.app_key_path.read_text()
    expired = jwt.encode({"iat": now - 1200, "exp": now - 600, "iss": "1"}, key, algorithm="RS256")
    assert sb.api.get("/app", token=expired).status_code == 401
    assert sb.api.get("/app", as_="admin").status_code == 401  # a user token is not the App
    assert sb.api.post("/app/installations/1/access_tokens", as_="admin").status_code == 401


def test_installations_and_repo_installation(sb: RunningSandbox) -> None:
    jwt_token = sb.app_jwt()
    listed = sb.api.get("/app/installations", token=jwt_token).json()
    assert 1 in [i["id"] for i in listed]
    seeded = next(i for i in listed if i["id"] == 1)
    assert seeded["account"]["login"] == "acme" and seeded["app_id"] == 1
    assert sb.api.get("/repos/acme/rocket/installation", token=jwt_token).json()["id"] == 1
    assert sb.api.get("/repos/acme/nothing-here/installation", token=jwt_token).status_code == 404
    assert sb.api.get("/app/installations/1", token=jwt_token).json()["id"] == 1
    assert sb.api.get("/app/installations/987654", token=jwt_token).status_code == 404


def test_token_lists_repositories_and_expires_after_an_hour(sb: RunningSandbox) -> None:
    resp = sb.api.post("/app/installations/1/access_tokens", token=sb.app_jwt())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    token = body["token"]
    now = sb.handle.state.now()
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert 3590 <= (expires - now).total_seconds() <= 3600
    repos = sb.api.get("/installation/repositories", token=token, params={"per_page": 100}).json()
    assert "acme/rocket" in [r["full_name"] for r in repos["repositories"]]
    assert repos["total_count"] >= 1
    log_before = sb.api.sandbox("GET", "/_sandbox/requests").json()[-1]["seq"]
    sb.api.get("/repos/acme/rocket", token=token)
    actors = [r["actor"] for r in sb.api.sandbox("GET", f"/_sandbox/requests?since={log_before}").json()]
    assert actors[0] == "release-bot[bot]"
    sb.api.sandbox("POST", "/_sandbox/clock", json={"advance_seconds": 3601})
    expired = sb.api.get("/repos/acme/rocket", token=token)
    assert expired.status_code == 401 and expired.json()["message"] == "Bad credentials"
    # a JWT made by the (moved) clock still mints a fresh token
    assert sb.api.get("/repos/acme/rocket", token=sb.installation_token()).status_code == 200


def test_narrowed_token_sees_only_its_repositories(sb: RunningSandbox) -> None:
    other = sb.new_repo()
    resp = sb.api.post(
        "/app/installations/1/access_tokens", token=sb.app_jwt(), json={"repositories": ["rocket"]}
    )
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    assert [r["full_name"] for r in resp.json()["repositories"]] == ["acme/rocket"]
    listed = sb.api.get("/installation/repositories", token=token).json()
    assert [r["full_name"] for r in listed["repositories"]] == ["acme/rocket"]
    assert sb.api.get(f"/repos/{other}", token=token).status_code == 404
    bad = sb.api.post(
        "/app/installations/1/access_tokens", token=sb.app_jwt(), json={"repositories": ["nope"]}
    )
    assert bad.status_code == 422


def test_suspended_installation_gets_no_token(sb: RunningSandbox) -> None:
    repo = sb.new_repo(owner="suspendco")
    inst = sb.api.get(f"/repos/{repo}/installation", token=sb.app_jwt()).json()["id"]
    token = sb.installation_token(inst)
    assert sb.api.sandbox("POST", f"/_sandbox/installations/{inst}/suspend").status_code == 200
    refused = sb.api.post(f"/app/installations/{inst}/access_tokens", token=sb.app_jwt())
    assert refused.status_code == 403 and "suspended" in refused.json()["message"]
    assert sb.api.get(f"/repos/{repo}", token=token).status_code == 403
    assert sb.api.sandbox("DELETE", f"/_sandbox/installations/{inst}").status_code == 204
    assert sb.api.post(f"/app/installations/{inst}/access_tokens", token=sb.app_jwt()).status_code == 404


def test_app_writes_send_webhooks_with_its_bot_as_sender(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    token = sb.installation_token()
    resp = sb.api.post(f"/repos/{repo}/issues", token=token, json={"title": "Release v1.0.0"})
    assert resp.status_code == 201 and resp.json()["user"]["login"] == "release-bot[bot]"
    assert resp.json()["performed_via_github_app"]["id"] == 1
    sb.recorder.wait_names("issues.opened", repo=repo)
    opened = next(d.payload for d in sb.recorder.for_repo(repo) if d.name == "issues.opened")
    assert opened["sender"]["login"] == "release-bot[bot]" and opened["sender"]["type"] == "Bot"
    sb.recorder.assert_all_valid(repo)


def test_deliveries_page_by_cursor_and_redeliver_with_same_guid(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    for i in range(5):
        sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": f"v{i}.0.0"})
    sb.wait_idle()
    jwt_token = sb.app_jwt()
    first = sb.api.get("/app/hook/deliveries", token=jwt_token, params={"per_page": 2})
    assert first.status_code == 200 and len(first.json()) == 2
    assert "cursor=" in first.links["next"]["url"]
    seen = sb.api.paginate("/app/hook/deliveries", per_page=3, token=jwt_token)
    ids = [d["id"] for d in seen]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
    ours = [d for d in seen if d["repository_id"] == sb.api.get(f"/repos/{repo}").json()["id"]]
    assert [d["event"] for d in ours] == ["milestone"] * 5
    assert all(d["status_code"] == 200 and d["status"] == "OK" for d in ours)
    target = ours[-1]  # the oldest: v0.0.0 created
    detail = sb.api.get(f"/app/hook/deliveries/{target['id']}", token=jwt_token).json()
    assert detail["request"]["payload"]["milestone"]["title"] == "v0.0.0"
    assert detail["request"]["headers"]["X-GitHub-Event"] == "milestone"
    assert detail["guid"] == target["guid"]
    attempt = sb.api.post(f"/app/hook/deliveries/{target['id']}/attempts", token=jwt_token)
    assert attempt.status_code == 202
    sb.wait_idle()
    copies = [d for d in sb.recorder.deliveries if d.delivery_id == target["guid"]]
    assert len(copies) == 2 and copies[0].payload == copies[1].payload
    newest = sb.api.get("/app/hook/deliveries", token=jwt_token, params={"per_page": 1}).json()[0]
    assert newest["guid"] == target["guid"] and newest["redelivery"] is True
    assert sb.api.get("/app/hook/deliveries/99999999", token=jwt_token).status_code == 404


def test_an_app_without_issues_write_cannot_open_issues_or_comment(sb: RunningSandbox) -> None:
    import json as _json

    import httpx

    manifest = {
        "name": "read only app",
        "url": "http://127.0.0.1:9/",
        "default_permissions": {"issues": "read"},
    }
    resp = httpx.post(f"{sb.root_url}/settings/apps/new", data={"manifest": _json.dumps(manifest)})
    code = resp.headers["Location"].split("code=")[1].split("&")[0]
    app = sb.api.post(f"/app-manifests/{code}/conversions", anonymous=True).json()
    repo = sb.new_repo(owner="readonlyco")
    installed = sb.api.sandbox(
        "POST", "/_sandbox/installations", json={"account": "readonlyco", "app_id": app["id"]}
    )
    assert installed.status_code == 201, installed.text
    now = int(sb.handle.state.now().timestamp())
    app_jwt = jwt.encode(
        {"iat": now - 30, "exp": now + 300, "iss": str(app["id"])}, app["pem"], algorithm="RS256"
    )
    token = sb.api.post(f"/app/installations/{installed.json()['id']}/access_tokens", token=app_jwt).json()[
        "token"
    ]
    assert sb.api.get(f"/repos/{repo}/issues", token=token).status_code == 200  # reading is granted
    n = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "t"}).json()["number"]
    for method, path, body in (
        ("POST", f"/repos/{repo}/issues", {"title": "x"}),
        ("POST", f"/repos/{repo}/issues/{n}/comments", {"body": "x"}),
        ("POST", f"/repos/{repo}/issues/{n}/labels", {"labels": ["x"]}),
        ("PATCH", f"/repos/{repo}/issues/{n}", {"state": "closed"}),
    ):
        refused = sb.api.request(method, path, token=token, json=body)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["message"] == "Resource not accessible by integration"
