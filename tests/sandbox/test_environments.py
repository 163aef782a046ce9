"""Environments, custom deployment protection rules, their callback and the deploying workflow job
(``POST /_sandbox/deployments/request``), over real HTTP; every response and webhook validated."""

from __future__ import annotations

from typing import Any

from test_git import branch_sha, mark, names_after
from validation import RunningSandbox


def _request(sb: RunningSandbox, repo: str, ref: str = "v1.0.0", env: str = "production") -> Any:
    return sb.api.sandbox(
        "POST", "/_sandbox/deployments/request", json={"repo": repo, "ref": ref, "environment": env}
    )


def _tagged_repo(sb: RunningSandbox) -> tuple[str, str]:
    repo = sb.new_repo()
    sha = branch_sha(sb, repo, "main")
    assert (
        sb.api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/tags/v1.0.0", "sha": sha}).status_code
        == 201
    )
    return repo, sha


def _protect(sb: RunningSandbox, repo: str, env: str = "production") -> int:
    assert sb.api.put(f"/repos/{repo}/environments/{env}", as_="admin").status_code == 200
    resp = sb.api.post(
        f"/repos/{repo}/environments/{env}/deployment_protection_rules",
        token=sb.installation_token(),
        json={"integration_id": 1},
    )
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def test_environments_are_created_read_listed_and_deleted(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    resp = sb.api.put(
        f"/repos/{repo}/environments/production",
        as_="admin",
        json={
            "wait_timer": 5,
            "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
        },
    )
    assert resp.status_code == 200, resp.text
    env = resp.json()
    assert env["name"] == "production" and {r["type"] for r in env["protection_rules"]} == {
        "wait_timer",
        "branch_policy",
    }
    assert sb.api.put(f"/repos/{repo}/environments/staging", as_="admin").status_code == 200
    assert sb.api.get(f"/repos/{repo}/environments/Production").json()["id"] == env["id"]  # case-insensitive
    listed = sb.api.get(f"/repos/{repo}/environments").json()
    assert listed["total_count"] == 2 and [e["name"] for e in listed["environments"]] == [
        "production",
        "staging",
    ]
    assert sb.api.delete(f"/repos/{repo}/environments/staging", as_="admin").status_code == 204
    assert sb.api.get(f"/repos/{repo}/environments/staging", validate=False).status_code == 404


def test_environment_changes_need_admin_and_valid_settings(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    assert sb.api.put(f"/repos/{repo}/environments/production", as_="dev", validate=False).status_code == 403
    bad = [
        {"wait_timer": -1},
        {"wait_timer": "soon"},
        {"deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": True}},
        {"colour": "red"},
    ]
    for body in bad:
        resp = sb.api.put(f"/repos/{repo}/environments/production", as_="admin", json=body, validate=False)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["message"]
    resp = sb.api.put(f"/repos/{repo}/environments/a,b", as_="admin", validate=False)
    assert resp.status_code == 422


def test_rules_enable_an_installed_app_once(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    assert sb.api.put(f"/repos/{repo}/environments/production", as_="admin").status_code == 200
    apps = sb.api.get(
        f"/repos/{repo}/environments/production/deployment_protection_rules/apps", as_="admin"
    ).json()
    assert [a["slug"] for a in apps["available_custom_deployment_protection_rule_integrations"]] == [
        "release-bot"
    ]
    base = f"/repos/{repo}/environments/production/deployment_protection_rules"
    assert sb.api.post(base, as_="dev", json={"integration_id": 1}, validate=False).status_code == 403
    assert sb.api.post(base, as_="admin", json={"integration_id": 999}, validate=False).status_code == 422
    assert sb.api.post(base, as_="admin", json={"integration_id": "1"}, validate=False).status_code == 422
    rule_id = _protect(sb, repo)
    again = sb.api.post(base, as_="admin", json={"integration_id": 1}, validate=False)
    assert again.status_code == 422 and "already enabled" in again.json()["message"]
    rules = sb.api.get(base).json()
    assert rules["total_count"] == 1 and rules["custom_deployment_protection_rules"][0]["app"]["id"] == 1
    assert sb.api.get(f"{base}/{rule_id}").json()["enabled"] is True
    assert sb.api.delete(f"{base}/{rule_id}", as_="admin").status_code == 204
    assert sb.api.get(base).json()["total_count"] == 0
    assert (
        sb.api.get(f"/repos/{repo}/environments/qa/deployment_protection_rules", validate=False).status_code
        == 404
    )


def test_without_a_rule_the_job_deploys_at_once(sb: RunningSandbox) -> None:
    repo, sha = _tagged_repo(sb)
    start = mark(sb, repo)
    resp = _request(sb, repo, env="staging")
    assert resp.status_code == 202, resp.text
    deployment_id = resp.json()["deployment_id"]
    assert names_after(sb, repo, start) == ["deployment.created", "deployment_status.created"]
    d = sb.api.get(f"/repos/{repo}/deployments/{deployment_id}").json()
    assert d["sha"] == sha and d["ref"] == "v1.0.0" and d["environment"] == "staging"
    assert [s["state"] for s in sb.api.get(f"/repos/{repo}/deployments/{deployment_id}/statuses").json()] == [
        "success"
    ]
    assert sb.api.get(f"/repos/{repo}/environments/staging").status_code == 200  # created by the job


def test_a_rule_holds_the_job_until_its_app_approves(sb: RunningSandbox) -> None:
    repo, sha = _tagged_repo(sb)
    _protect(sb, repo)
    start = mark(sb, repo)
    resp = _request(sb, repo)
    assert resp.status_code == 202 and resp.json()["state"] == "waiting"
    deployment_id, run_id = resp.json()["deployment_id"], resp.json()["run_id"]
    assert names_after(sb, repo, start) == ["deployment.created", "deployment_protection_rule.requested"]
    asked = sb.recorder.for_repo(repo)[-1].payload
    callback = f"{sb.api_url}/repos/{repo}/actions/runs/{run_id}/deployment_protection_rule"
    assert asked["deployment_callback_url"] == callback
    assert asked["environment"] == "production" and asked["deployment"]["id"] == deployment_id
    assert asked["deployment"]["sha"] == sha and asked["installation"]["id"] == 1
    assert sb.api.get(f"/repos/{repo}/deployments/{deployment_id}/statuses").json() == []
    path = f"/repos/{repo}/actions/runs/{run_id}/deployment_protection_rule"
    token = sb.installation_token()
    # people cannot answer an App's rule; a wrong environment or a bad body is refused
    assert (
        sb.api.post(
            path, as_="admin", json={"environment_name": "production", "state": "approved"}, validate=False
        ).status_code
        == 403
    )
    for body in (
        {"environment_name": "staging", "state": "approved"},
        {"environment_name": "production", "state": "maybe"},
        {"state": "approved"},
        {"environment_name": "production"},
    ):
        assert sb.api.post(path, token=token, json=body, validate=False).status_code == 422, body
    # a comment alone keeps it waiting
    assert (
        sb.api.post(
            path, token=token, json={"environment_name": "production", "comment": "checking"}
        ).status_code
        == 204
    )
    assert sb.api.sandbox("GET", f"/_sandbox/deployments/{deployment_id}").json()["state"] == "waiting"
    ok = sb.api.post(
        path, token=token, json={"environment_name": "production", "state": "approved", "comment": "ok"}
    )
    assert ok.status_code == 204
    assert names_after(sb, repo, start)[-1] == "deployment_status.created"
    assert sb.recorder.for_repo(repo)[-1].payload["deployment_status"]["state"] == "success"
    run = sb.api.sandbox("GET", f"/_sandbox/deployments/{deployment_id}").json()
    assert run["state"] == "approved" and run["rules"] == [
        {"app_id": 1, "slug": "release-bot", "state": "approved"}
    ]
    assert [c["comment"] for c in run["comments"]] == ["checking", "ok"]
    # a rule answers once
    again = sb.api.post(
        path, token=token, json={"environment_name": "production", "state": "rejected"}, validate=False
    )
    assert again.status_code == 422 and "No pending" in again.json()["message"]


def test_a_rejection_fails_the_job_with_the_apps_comment(sb: RunningSandbox) -> None:
    repo, _sha = _tagged_repo(sb)
    _protect(sb, repo)
    resp = _request(sb, repo)
    deployment_id, run_id = resp.json()["deployment_id"], resp.json()["run_id"]
    path = f"/repos/{repo}/actions/runs/{run_id}/deployment_protection_rule"
    body = {"environment_name": "production", "state": "rejected", "comment": "UAT is not signed off"}
    assert sb.api.post(path, token=sb.installation_token(), json=body).status_code == 204
    statuses = sb.api.get(f"/repos/{repo}/deployments/{deployment_id}/statuses").json()
    assert [(s["state"], s["description"]) for s in statuses] == [("failure", "UAT is not signed off")]
    assert sb.api.sandbox("GET", f"/_sandbox/deployments/{deployment_id}").json()["state"] == "rejected"


def test_bad_requests_are_refused(sb: RunningSandbox) -> None:
    repo, _sha = _tagged_repo(sb)
    assert _request(sb, repo, ref="v9.9.9").status_code == 422
    assert _request(sb, repo, env="a/b").status_code == 422
    assert _request(sb, "acme/nothing-here").status_code == 404
    assert sb.api.sandbox("POST", "/_sandbox/deployments/request", json={"repo": repo}).status_code == 422
    assert sb.api.sandbox("GET", "/_sandbox/deployments/424242").status_code == 404
    assert (
        sb.api.post(
            f"/repos/{repo}/actions/runs/424242/deployment_protection_rule",
            token=sb.installation_token(),
            json={"environment_name": "production", "state": "approved"},
            validate=False,
        ).status_code
        == 404
    )


def test_a_new_successful_deployment_makes_the_previous_one_inactive(sb: RunningSandbox) -> None:
    repo, _sha = _tagged_repo(sb)
    first = _request(sb, repo, env="staging").json()["deployment_id"]
    second = _request(sb, repo, env="staging").json()["deployment_id"]
    states = [s["state"] for s in sb.api.get(f"/repos/{repo}/deployments/{first}/statuses").json()]
    assert states == ["inactive", "success"]  # newest first
    assert [s["state"] for s in sb.api.get(f"/repos/{repo}/deployments/{second}/statuses").json()] == [
        "success"
    ]
