"""Permissions as on GitHub (issue 3's list): triage labels and sets milestones but cannot merge or
push; read may only comment; a user token cannot create check runs; a user's commit status named like
the App's check does not satisfy a check pinned to the App; merging past a failing required check is
405; bad input gets GitHub's 404/422 bodies."""

from __future__ import annotations

import base64

import pytest
from validation import RunningSandbox

CHECK = "release-bot/gate"


def _protect(sb: RunningSandbox, repo: str, branch: str = "main", enforce_admins: bool = True) -> None:
    resp = sb.api.put(
        f"/repos/{repo}/branches/{branch}/protection",
        as_="admin",
        json={
            "required_status_checks": {"strict": False, "checks": [{"context": CHECK, "app_id": 1}]},
            "enforce_admins": enforce_admins,
            "required_pull_request_reviews": None,
            "restrictions": None,
        },
    )
    assert resp.status_code == 200, resp.text


def _check_run(sb: RunningSandbox, repo: str, sha: str, conclusion: str) -> dict:
    resp = sb.api.post(
        f"/repos/{repo}/check-runs",
        token=sb.installation_token(),
        json={
            "name": CHECK,
            "head_sha": sha,
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": conclusion, "summary": "gate"},
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_triage_labels_and_sets_milestones_but_cannot_merge_or_push(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ms = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v1.0.0"}).json()["number"]
    pr = sb.open_pull(repo, "feature/triage")
    n = pr["number"]
    assert (
        sb.api.post(
            f"/repos/{repo}/issues/{n}/labels", as_="triager", json={"labels": ["uat-passed"]}
        ).status_code
        == 200
    )
    assert sb.api.patch(f"/repos/{repo}/issues/{n}", as_="triager", json={"milestone": ms}).status_code == 200
    assert (
        sb.api.patch(f"/repos/{repo}/issues/{n}", as_="triager", json={"state": "closed"}).status_code == 200
    )
    assert sb.api.patch(f"/repos/{repo}/issues/{n}", as_="triager", json={"state": "open"}).status_code == 200
    merge = sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="triager", json={})
    assert merge.status_code == 403, merge.text
    push = sb.api.put(
        f"/repos/{repo}/contents/triage.txt",
        as_="triager",
        json={"message": "x", "content": base64.b64encode(b"x").decode(), "branch": "feature/triage"},
    )
    assert push.status_code in (403, 404), push.text
    main = sb.api.get(f"/repos/{repo}/git/ref/heads/main").json()["object"]["sha"]
    ref = sb.api.post(f"/repos/{repo}/git/refs", as_="triager", json={"ref": "refs/heads/x", "sha": main})
    assert ref.status_code in (403, 404)
    # triage may not manage milestones themselves
    assert sb.api.post(f"/repos/{repo}/milestones", as_="triager", json={"title": "v2"}).status_code == 403


def test_read_may_only_comment(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ms = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v1.0.0"}).json()["number"]
    n = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "t"}).json()["number"]
    assert (
        sb.api.post(f"/repos/{repo}/issues/{n}/comments", as_="outsider", json={"body": "+1"}).status_code
        == 201
    )
    refused = [
        sb.api.post(f"/repos/{repo}/issues/{n}/labels", as_="outsider", json={"labels": ["bug"]}),
        sb.api.put(f"/repos/{repo}/issues/{n}/labels", as_="outsider", json={"labels": ["bug"]}),
        sb.api.patch(f"/repos/{repo}/issues/{n}", as_="outsider", json={"milestone": ms}),
        sb.api.patch(f"/repos/{repo}/issues/{n}", as_="outsider", json={"state": "closed"}),
        sb.api.post(f"/repos/{repo}/milestones", as_="outsider", json={"title": "v9"}),
        sb.api.post(f"/repos/{repo}/labels", as_="outsider", json={"name": "mine"}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    for r in refused:
        assert r.json()["message"] and r.json()["documentation_url"]
    issue = sb.api.get(f"/repos/{repo}/issues/{n}").json()
    assert issue["labels"] == [] and issue["milestone"] is None and issue["state"] == "open"


def test_user_token_cannot_create_check_runs(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    main = sb.api.get(f"/repos/{repo}/git/ref/heads/main").json()["object"]["sha"]
    for who in ("admin", "dev"):
        resp = sb.api.post(f"/repos/{repo}/check-runs", as_=who, json={"name": CHECK, "head_sha": main})
        assert resp.status_code == 403, (who, resp.text)
    assert _check_run(sb, repo, main, "success")["app"]["id"] == 1


def test_user_status_named_like_the_apps_check_does_not_satisfy_it(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    _protect(sb, repo)
    pr = sb.open_pull(repo, "feature/spoof")
    head = pr["head"]["sha"]
    status = sb.api.post(
        f"/repos/{repo}/statuses/{head}", as_="dev", json={"state": "success", "context": CHECK}
    )
    assert status.status_code == 201, status.text
    blocked = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={})
    assert blocked.status_code == 405, blocked.text
    assert blocked.json()["message"]
    _check_run(sb, repo, head, "success")
    merged = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={})
    assert merged.status_code == 200 and merged.json()["merged"] is True


@pytest.mark.parametrize("conclusion", ["failure", "action_required", "cancelled"])
def test_merge_with_failing_required_check_is_405(sb: RunningSandbox, conclusion: str) -> None:
    repo = sb.new_repo()
    _protect(sb, repo)
    pr = sb.open_pull(repo, f"feature/{conclusion}")
    _check_run(sb, repo, pr["head"]["sha"], conclusion)
    resp = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="admin", json={})
    assert resp.status_code == 405, resp.text
    assert sb.api.get(f"/repos/{repo}/pulls/{pr['number']}").json()["merged"] is False


def test_admin_may_bypass_when_admins_are_not_enforced(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    _protect(sb, repo, enforce_admins=False)
    pr = sb.open_pull(repo, "feature/bypass")
    _check_run(sb, repo, pr["head"]["sha"], "failure")
    assert sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={}).status_code == 405
    assert sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="admin", json={}).status_code == 200


def test_bad_input_gets_githubs_error_bodies(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    cases = [
        (sb.api.get("/repos/acme/no-such-repo"), 404),
        (sb.api.get(f"/repos/{repo}/issues/31337"), 404),
        (sb.api.get(f"/repos/{repo}/milestones/31337"), 404),
        (sb.api.get(f"/repos/{repo}/labels/no-such-label"), 404),
        (sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": ""}), 422),
        (sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": None}), 422),
        (sb.api.post(f"/repos/{repo}/labels", as_="dev", json={"name": "n", "color": "zzzzzz"}), 422),
        (sb.api.patch(f"/repos/{repo}/issues/1", as_="dev", json={"state": "merged"}), 404),
    ]
    for resp, status in cases:
        assert resp.status_code == status, (resp.request.url, resp.text)
        body = resp.json()
        assert set(body) >= {"message", "documentation_url"}
        if status == 422:
            assert body["message"] == "Validation Failed" and body["errors"][0]["code"]
    # a private repository is not found (404, not 403) for someone without access
    private = sb.new_repo(private=True, permissions={"dev": "write"})
    assert sb.api.get(f"/repos/{private}/issues", as_="outsider").status_code == 404
    # bad JSON
    raw = sb.api._client.post(
        f"{sb.api_url}/repos/{repo}/issues",
        content=b"{oops",
        headers={"Authorization": "token sandbox-token-dev"},
    )
    assert raw.status_code == 400 and raw.json()["message"] == "Problems parsing JSON"
