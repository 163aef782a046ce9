"""Check runs (App only) and commit statuses over real HTTP, with their webhooks."""

from __future__ import annotations

from test_git import branch_sha, mark, names_after, open_pr
from validation import RunningSandbox


def test_users_cannot_write_check_runs(sb: RunningSandbox) -> None:
    sha = branch_sha(sb, "acme/rocket", "main")
    for user in ("admin", "dev"):
        resp = sb.api.post("/repos/acme/rocket/check-runs", as_=user, json={"name": "gate", "head_sha": sha})
        assert resp.status_code == 403, resp.text
        assert set(resp.json()) >= {"message", "documentation_url"}


def test_app_check_run_lifecycle_and_webhooks(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "checked")
    token = sb.installation_token()
    start = mark(sb, repo)
    head = pr["head"]["sha"]
    created = sb.api.post(
        f"/repos/{repo}/check-runs",
        token=token,
        json={
            "name": "release-bot/gate",
            "head_sha": head,
            "status": "in_progress",
            "output": {"title": "Waiting", "summary": "UAT pending"},
        },
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["app"]["slug"] == "release-bot" and run["status"] == "in_progress"
    assert [p["number"] for p in run["pull_requests"]] == [pr["number"]]
    done = sb.api.patch(
        f"/repos/{repo}/check-runs/{run['id']}",
        token=token,
        json={"conclusion": "success", "output": {"title": "OK", "summary": "approved by qa"}},
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["completed_at"] is not None
    got = sb.api.get(f"/repos/{repo}/check-runs/{run['id']}").json()
    assert got["output"]["summary"] == "approved by qa"
    again = sb.api.post(f"/repos/{repo}/check-runs/{run['id']}/rerequest", as_="dev")
    assert again.status_code == 201
    assert names_after(sb, repo, start) == [
        "check_run.created",
        "check_run.completed",
        "check_run.rerequested",
    ]
    sender = sb.recorder.for_repo(repo)[start].payload["sender"]
    assert sender["login"] == "release-bot[bot]" and sender["type"] == "Bot"
    assert sb.recorder.for_repo(repo)[-1].payload["sender"]["login"] == "dev"
    sb.recorder.assert_all_valid()


def test_list_check_runs_for_ref_latest_and_filters(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    sha = branch_sha(sb, repo, "main")
    token = sb.installation_token()
    for conclusion in ("failure", "success"):
        sb.api.post(
            f"/repos/{repo}/check-runs",
            token=token,
            json={"name": "ci", "head_sha": sha, "conclusion": conclusion},
        )
    sb.api.post(f"/repos/{repo}/check-runs", token=token, json={"name": "lint", "head_sha": sha})
    latest = sb.api.get(f"/repos/{repo}/commits/main/check-runs").json()
    assert latest["total_count"] == 2
    assert {(r["name"], r["conclusion"]) for r in latest["check_runs"]} == {("ci", "success"), ("lint", None)}
    everything = sb.api.get(f"/repos/{repo}/commits/{sha}/check-runs", params={"filter": "all"}).json()
    assert everything["total_count"] == 3
    named = sb.api.get(f"/repos/{repo}/commits/{sha}/check-runs", params={"check_name": "lint"}).json()
    assert [r["name"] for r in named["check_runs"]] == ["lint"]


def test_check_run_validation(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    token = sb.installation_token()
    bad_sha = sb.api.post(f"/repos/{repo}/check-runs", token=token, json={"name": "x", "head_sha": "f" * 40})
    assert bad_sha.status_code == 422
    sha = branch_sha(sb, repo, "main")
    bad = sb.api.post(
        f"/repos/{repo}/check-runs", token=token, json={"name": "x", "head_sha": sha, "conclusion": "great"}
    )
    assert bad.status_code == 422 and bad.json()["message"] == "Validation Failed"
    assert sb.api.get(f"/repos/{repo}/check-runs/1").status_code == 404


def test_commit_statuses_need_write_and_send_status(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    sha = branch_sha(sb, repo, "main")
    start = mark(sb, repo)
    denied = sb.api.post(
        f"/repos/{repo}/statuses/{sha}", as_="triager", json={"state": "success", "context": "ci"}
    )
    assert denied.status_code == 403
    for state in ("pending", "success"):
        resp = sb.api.post(
            f"/repos/{repo}/statuses/{sha}",
            as_="qa",
            json={"state": state, "context": "ci", "description": state},
        )
        assert resp.status_code == 201, resp.text
    sb.api.post(f"/repos/{repo}/statuses/{sha}", as_="qa", json={"state": "failure", "context": "lint"})
    assert names_after(sb, repo, start) == ["status", "status", "status"]
    sb.recorder.assert_all_valid()
    combined = sb.api.get(f"/repos/{repo}/commits/{sha}/status").json()
    assert combined["state"] == "failure" and combined["total_count"] == 2
    listed = sb.api.get(f"/repos/{repo}/commits/main/statuses").json()
    assert [s["state"] for s in listed] == ["failure", "success", "pending"]
    assert sb.api.post(f"/repos/{repo}/statuses/{sha}", json={"state": "great"}).status_code == 422
