"""The ``/_sandbox/`` control endpoints, the shared HTTP behaviour (faults, request log, rate limits,
ETags, pagination), repositories/branches and deployments, over real HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_git import branch_sha, mark, names_after
from validation import RunningSandbox

ROOT = Path(__file__).resolve().parents[2]


def _log_since(sb: RunningSandbox, seq: int) -> list[dict]:
    resp = sb.api.sandbox("GET", f"/_sandbox/requests?since={seq}")
    assert resp.status_code == 200
    return resp.json()


def _last_seq(sb: RunningSandbox) -> int:
    return int(sb.api.sandbox("GET", "/_sandbox/requests?since=999999999").headers["X-Sandbox-Last-Seq"])


def test_meta_is_the_readiness_probe(sb: RunningSandbox) -> None:
    resp = sb.api.get("/meta", anonymous=True)
    assert resp.status_code == 200


def test_request_log_names_every_actor(sb: RunningSandbox) -> None:
    seq = _last_seq(sb)
    sb.api.get("/repos/acme/rocket", as_="qa")
    sb.api.get("/repos/acme/rocket", token=sb.installation_token())
    sb.api.get("/app", token=sb.app_jwt())
    sb.api.get("/repos/acme/nope", as_="dev")
    rows = _log_since(sb, seq)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows) and rows[0]["seq"] > seq
    assert {"seq", "method", "path", "status", "actor"} <= set(rows[0])
    seen = [(r["method"], r["path"], r["status"], r["actor"]) for r in rows]
    assert ("GET", "/repos/acme/rocket", 200, "qa") in seen
    assert ("GET", "/repos/acme/rocket", 200, "release-bot[bot]") in seen
    assert ("GET", "/app", 200, "app") in seen
    assert ("POST", "/app/installations/1/access_tokens", 201, "app") in seen
    assert ("GET", "/repos/acme/nope", 404, "dev") in seen


def test_faults_status_times_retry_after_and_clear(sb: RunningSandbox) -> None:
    resp = sb.api.sandbox(
        "POST",
        "/_sandbox/faults",
        json={"method": "GET", "path": r"^/repos/acme/rocket$", "status": 502, "times": 2, "retry_after": 3},
    )
    assert resp.status_code == 201
    first = sb.api.get("/repos/acme/rocket", validate=False)
    assert first.status_code == 502 and first.headers["Retry-After"] == "3"
    assert sb.api.get("/repos/acme/rocket/branches").status_code == 200  # other paths unaffected
    assert sb.api.get("/repos/acme/rocket", validate=False).status_code == 502
    assert sb.api.get("/repos/acme/rocket").status_code == 200  # used up
    sb.api.sandbox("POST", "/_sandbox/faults", json={"path": "/repos/acme/rocket", "status": 500, "times": 5})
    assert sb.api.sandbox("DELETE", "/_sandbox/faults").status_code == 204
    assert sb.api.get("/repos/acme/rocket").status_code == 200


def test_fault_rate_limit_exhausted_and_latency(sb: RunningSandbox) -> None:
    sb.api.sandbox(
        "POST",
        "/_sandbox/faults",
        json={"path": "/rate_limit", "rate_limit_exhausted": True, "retry_after": 30},
    )
    limited = sb.api.get("/rate_limit", as_="dev", validate=False)
    assert limited.status_code == 403 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) > time.time()
    assert "rate limit" in limited.json()["message"]
    sb.api.sandbox("POST", "/_sandbox/faults", json={"path": "^/meta$", "delay_ms": 300})
    started = time.monotonic()
    assert sb.api.get("/meta").status_code == 200
    assert time.monotonic() - started >= 0.3
    bad = sb.api.sandbox("POST", "/_sandbox/faults", json={"path": "([", "status": 500})
    assert bad.status_code == 422


def test_rate_limit_headers_and_accounting(sb: RunningSandbox) -> None:
    before = sb.api.get("/rate_limit", as_="pm").json()["resources"]["core"]
    for _ in range(3):
        resp = sb.api.get("/repos/acme/rocket", as_="pm")
    assert resp.headers["X-RateLimit-Limit"] == "5000"
    assert int(resp.headers["X-RateLimit-Remaining"]) == 5000 - int(resp.headers["X-RateLimit-Used"])
    after = sb.api.get("/rate_limit", as_="pm").json()["resources"]["core"]
    assert after["used"] == before["used"] + 3 and after["remaining"] == before["remaining"] - 3


def test_conditional_get_answers_304(sb: RunningSandbox) -> None:
    first = sb.api.get("/repos/acme/rocket/branches/main")
    etag = first.headers["ETag"]
    again = sb.api.get("/repos/acme/rocket/branches/main", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_pagination_limits(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    main = branch_sha(sb, repo, "main")
    refs = {f"refs/heads/b{i:03d}": main for i in range(130)}
    assert sb.api.sandbox("POST", f"/_sandbox/repos/{repo}/push", json={"refs": refs}).status_code == 200
    resp = sb.api.get(f"/repos/{repo}/branches", params={"per_page": 500})
    assert len(resp.json()) == 100  # per_page is capped at 100
    last = resp.links["last"]["url"]
    assert last.startswith(sb.api_url) and "page=2" in last
    names = [b["name"] for b in sb.api.paginate(f"/repos/{repo}/branches")]
    assert len(names) == 131 and names == sorted(names)


def test_new_user_and_permission(sb: RunningSandbox) -> None:
    resp = sb.api.sandbox(
        "POST", "/_sandbox/users", json={"login": "newbie", "permission": "triage", "teams": ["qa"]}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"login": "newbie", "token": "sandbox-token-newbie", "id": resp.json()["id"]}
    perm = sb.api.get("/repos/acme/rocket/collaborators/newbie/permission").json()
    assert perm["permission"] == "triage" or perm.get("role_name") == "triage"
    assert sb.api.sandbox("POST", "/_sandbox/users", json={"login": "newbie"}).status_code == 422
    assert sb.api.sandbox("POST", "/_sandbox/users", json={"login": "bad name!"}).status_code == 422


def test_new_repo_with_explicit_permissions(sb: RunningSandbox) -> None:
    resp = sb.api.sandbox(
        "POST",
        "/_sandbox/repos",
        json={"owner": "acme", "name": "secret", "private": True, "permissions": {"qa": "write"}},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["private"] is True
    assert sb.api.get("/repos/acme/secret", as_="qa").status_code == 200
    assert sb.api.get("/repos/acme/secret", as_="admin").status_code == 200  # organization owner
    assert sb.api.get("/repos/acme/secret", as_="dev").status_code == 404
    assert sb.api.get("/repos/acme/secret", anonymous=True).status_code == 404
    dup = sb.api.sandbox("POST", "/_sandbox/repos", json={"owner": "acme", "name": "secret"})
    assert dup.status_code == 422


def test_new_owner_gets_org_and_installation(sb: RunningSandbox) -> None:
    sb.wait_idle()
    start = len(sb.recorder.deliveries)
    resp = sb.api.sandbox("POST", "/_sandbox/repos", json={"owner": "globex", "name": "launcher"})
    assert resp.status_code == 201
    sb.wait_idle()
    created = [d for d in sb.recorder.deliveries[start:] if d.event == "installation"]
    assert [d.payload["action"] for d in created] == ["created"]
    inst_id = created[0].payload["installation"]["id"]
    assert inst_id != 1 and created[0].payload["installation"]["account"]["login"] == "globex"
    assert [r["full_name"] for r in created[0].payload["repositories"]] == ["globex/launcher"]
    token = sb.installation_token(inst_id)
    assert sb.api.get("/repos/globex/launcher", token=token).status_code == 200
    assert sb.api.get("/repos/acme/rocket", token=token).status_code == 404


def test_installation_lifecycle_webhooks(sb: RunningSandbox) -> None:
    sb.api.sandbox("POST", "/_sandbox/repos", json={"owner": "initech", "name": "one"})
    sb.api.sandbox("POST", "/_sandbox/repos", json={"owner": "initech", "name": "two"})
    sb.wait_idle()
    inst = [
        d
        for d in sb.recorder.deliveries
        if d.event == "installation" and d.payload["installation"]["account"]["login"] == "initech"
    ][0].payload["installation"]["id"]
    start = len(sb.recorder.deliveries)
    resp = sb.api.sandbox(
        "POST", f"/_sandbox/installations/{inst}/repositories", json={"remove": ["initech/one"]}
    )
    assert resp.status_code == 200 and resp.json()["repositories"] == ["initech/two"]
    token = sb.installation_token(inst)
    assert sb.api.get("/repos/initech/one", token=token).status_code == 404
    sb.api.sandbox("POST", f"/_sandbox/installations/{inst}/repositories", json={"add": ["initech/one"]})
    assert sb.api.sandbox("POST", f"/_sandbox/installations/{inst}/suspend").status_code == 200
    assert sb.api.get("/repos/initech/two", token=token, validate=False).status_code == 403
    assert sb.api.sandbox("DELETE", f"/_sandbox/installations/{inst}").status_code == 204
    assert sb.api.get("/repos/initech/two", token=token, validate=False).status_code == 401
    again = sb.api.sandbox("POST", "/_sandbox/installations", json={"account": "initech"})
    assert again.status_code == 201
    sb.wait_idle()
    got = [(d.event, d.payload.get("action")) for d in sb.recorder.deliveries[start:]]
    assert got == [
        ("installation_repositories", "removed"),
        ("installation_repositories", "added"),
        ("installation", "suspend"),
        ("installation", "deleted"),
        ("installation", "created"),
    ]
    removed = sb.recorder.deliveries[start].payload
    assert [r["full_name"] for r in removed["repositories_removed"]] == ["initech/one"]
    sb.recorder.assert_all_valid()
    assert sb.api.sandbox("POST", "/_sandbox/installations/424242/suspend").status_code == 404


def test_clock_moves_token_expiry(sb: RunningSandbox) -> None:
    token = sb.installation_token()
    assert sb.api.get("/repos/acme/rocket", token=token).status_code == 200
    resp = sb.api.sandbox("POST", "/_sandbox/clock", json={"advance_seconds": 3601})
    assert resp.status_code == 200
    try:
        expired = sb.api.get("/repos/acme/rocket", token=token)
        assert expired.status_code == 401 and expired.json()["message"] == "Bad credentials"
    finally:
        sb.handle.state.advance_clock(-3601)  # later tests in this module mint JWTs on the real clock
    assert sb.api.sandbox("POST", "/_sandbox/clock", json={"advance_seconds": "soon"}).status_code == 422


def test_wait_idle_and_deliveries_listing(sb: RunningSandbox) -> None:
    resp = sb.api.sandbox("POST", "/_sandbox/wait-idle")
    assert resp.status_code == 200 and resp.json() == {"idle": True}
    rows = sb.api.sandbox("GET", "/_sandbox/deliveries").json()
    assert rows and {"event", "action", "status_code", "duration", "guid"} <= set(rows[-1])


def test_repository_and_branch_shapes(sb: RunningSandbox) -> None:
    repo = sb.api.get("/repos/acme/rocket", as_="triager").json()
    assert repo["permissions"] == {
        "admin": False,
        "maintain": False,
        "push": False,
        "triage": True,
        "pull": True,
    }
    assert repo["owner"]["login"] == "acme" and repo["owner"]["type"] == "Organization"
    branch = sb.api.get("/repos/acme/rocket/branches/main").json()
    assert branch["commit"]["sha"] == branch_sha(sb, "acme/rocket", "main")
    assert branch["_links"]["self"] == f"{sb.api_url}/repos/acme/rocket/branches/main"


def test_deployments_and_statuses(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    sha = branch_sha(sb, repo, "main")
    sb.api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/tags/v1.0.0", "sha": sha})
    start = mark(sb, repo)
    dep = sb.api.post(
        f"/repos/{repo}/deployments",
        as_="releaser",
        json={"ref": "v1.0.0", "environment": "production", "required_contexts": []},
    )
    assert dep.status_code == 201, dep.text
    d = dep.json()
    assert d["sha"] == sha and d["environment"] == "production" and d["creator"]["login"] == "releaser"
    st = sb.api.post(
        f"/repos/{repo}/deployments/{d['id']}/statuses",
        as_="releaser",
        json={"state": "success", "environment_url": "https://rocket.example"},
    )
    assert st.status_code == 201, st.text
    assert names_after(sb, repo, start) == ["deployment.created", "deployment_status.created"]
    sb.recorder.assert_all_valid()
    listed = sb.api.get(
        f"/repos/{repo}/deployments", params={"ref": "v1.0.0", "environment": "production"}
    ).json()
    assert [x["id"] for x in listed] == [d["id"]]
    assert sb.api.get(f"/repos/{repo}/deployments", params={"environment": "staging"}).json() == []
    statuses = sb.api.get(f"/repos/{repo}/deployments/{d['id']}/statuses").json()
    assert [s["state"] for s in statuses] == ["success"]
    # a failing commit status blocks a deployment that requires all contexts
    sb.api.post(f"/repos/{repo}/statuses/{sha}", json={"state": "failure", "context": "ci"})
    blocked = sb.api.post(f"/repos/{repo}/deployments", json={"ref": "main"}, validate=False)
    assert blocked.status_code == 409
    assert sb.api.post(f"/repos/{repo}/deployments", as_="triager", json={"ref": "main"}).status_code == 403


@pytest.mark.e2e
def test_cli_runs_the_sandbox(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "sandbox",
            "--port",
            "0",
            "--app-key",
            str(key),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        assert first.startswith("sandbox ready: http://127.0.0.1:"), first
        api = first.split("REST API ")[1].rstrip(")\n")
        assert httpx.get(f"{api}/meta", timeout=5).status_code == 200
        assert key.exists() and (key.stat().st_mode & 0o777) == 0o600
        assert b"PRIVATE KEY" in key.read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_concurrent_clients_keep_state_consistent(sb: RunningSandbox) -> None:
    """Eight clients commit and open pull requests at once: numbers stay unique, no commit is lost."""
    import base64
    from concurrent.futures import ThreadPoolExecutor

    repo = sb.new_repo()
    main = branch_sha(sb, repo, "main")

    def worker(i: int) -> tuple[int, list[str]]:
        with httpx.Client(base_url=sb.api_url, headers={"Authorization": "token sandbox-token-dev"}) as http:
            assert (
                http.post(
                    f"/repos/{repo}/git/refs", json={"ref": f"refs/heads/w{i}", "sha": main}
                ).status_code
                == 201
            )
            shas = []
            for j in range(5):
                body = {
                    "message": f"w{i} {j}",
                    "content": base64.b64encode(f"{i}-{j}".encode()).decode(),
                    "branch": f"w{i}",
                }
                resp = http.put(f"/repos/{repo}/contents/w{i}-{j}.txt", json=body)
                assert resp.status_code == 201, resp.text
                shas.append(resp.json()["commit"]["sha"])
            pr = http.post(f"/repos/{repo}/pulls", json={"title": f"w{i}", "head": f"w{i}", "base": "main"})
            assert pr.status_code == 201, pr.text
            return pr.json()["number"], shas

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    numbers = sorted(n for n, _ in results)
    assert numbers == list(range(1, 9))
    for n, shas in results:
        pr = sb.api.get(f"/repos/{repo}/pulls/{n}").json()
        assert pr["commits"] == 5 and pr["head"]["sha"] == shas[-1]
    sb.wait_idle()
    pushes = [d for d in sb.recorder.for_repo(repo) if d.event == "push" and not d.payload["created"]]
    assert len(pushes) == 40


def test_enforced_primary_rate_limit(sb: RunningSandbox) -> None:
    resp = sb.api.sandbox("POST", "/_sandbox/rate-limit", json={"enforce": True, "limit": 5, "reset": True})
    assert resp.status_code == 200
    try:
        codes = [
            sb.api.get("/repos/acme/rocket", as_="releaser", validate=False).status_code for _ in range(7)
        ]
        assert codes == [200] * 5 + [403, 403]
        refused = sb.api.get("/repos/acme/rocket", as_="releaser", validate=False)
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.json()["message"].startswith("API rate limit exceeded")
        assert sb.api.get("/repos/acme/rocket", as_="qa").status_code == 200  # budgets are per actor
    finally:
        sb.api.sandbox("POST", "/_sandbox/rate-limit", json={"enforce": False, "limit": 5000, "reset": True})
    assert sb.api.get("/repos/acme/rocket", as_="releaser").status_code == 200
