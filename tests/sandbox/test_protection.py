"""Branch protection, rulesets and the merge queue: merges refused (405) until required checks pass."""

from __future__ import annotations

from typing import Any

from test_git import branch_sha, create_branch, mark, names_after, open_pr
from validation import RunningSandbox

GATE = "release-bot/gate"


def protect(
    sb: RunningSandbox,
    repo: str,
    branch: str,
    checks: list[dict[str, Any]],
    *,
    enforce_admins: bool = False,
    reviews: dict[str, Any] | None = None,
    strict: bool = False,
) -> Any:
    resp = sb.api.put(
        f"/repos/{repo}/branches/{branch}/protection",
        json={
            "required_status_checks": {"strict": strict, "checks": checks},
            "enforce_admins": enforce_admins,
            "required_pull_request_reviews": reviews,
            "restrictions": None,
        },
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def app_check(sb: RunningSandbox, repo: str, sha: str, conclusion: str, name: str = GATE) -> dict:
    resp = sb.api.post(
        f"/repos/{repo}/check-runs",
        token=sb.installation_token(),
        json={"name": name, "head_sha": sha, "conclusion": conclusion},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_protection_put_get_delete(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "release/1.4")
    body = protect(
        sb,
        repo,
        "release/1.4",
        [{"context": GATE, "app_id": 1}],
        reviews={"required_approving_review_count": 1},
    )
    assert body["required_status_checks"]["checks"] == [{"context": GATE, "app_id": 1}]
    assert body["required_status_checks"]["contexts"] == [GATE]
    assert body["enforce_admins"]["enabled"] is False
    got = sb.api.get(f"/repos/{repo}/branches/release%2F1.4/protection").json()
    assert got["required_pull_request_reviews"]["required_approving_review_count"] == 1
    assert sb.api.get(f"/repos/{repo}/branches/release/1.4").json()["protected"] is True
    # the four keys are all required, as on GitHub
    partial = sb.api.put(f"/repos/{repo}/branches/main/protection", json={"enforce_admins": True})
    assert partial.status_code == 422 and "required_status_checks" in partial.json()["message"]
    # only admins may change protection
    denied = sb.api.put(
        f"/repos/{repo}/branches/main/protection",
        as_="releaser",
        json={
            "required_status_checks": None,
            "enforce_admins": None,
            "required_pull_request_reviews": None,
            "restrictions": None,
        },
    )
    assert denied.status_code == 403
    assert sb.api.delete(f"/repos/{repo}/branches/release/1.4/protection").status_code == 204
    assert sb.api.get(f"/repos/{repo}/branches/release/1.4/protection").status_code == 404
    # a protected branch cannot be deleted
    protect(sb, repo, "release/1.4", [])
    assert sb.api.delete(f"/repos/{repo}/git/refs/heads/release/1.4", validate=False).status_code == 422


def test_merge_refused_while_required_check_fails(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "release/2.0")
    protect(sb, repo, "release/2.0", [{"context": GATE, "app_id": 1}])
    pr = open_pr(sb, repo, "fix", base="release/2.0")
    n, head = pr["number"], pr["head"]["sha"]
    missing = sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="releaser", json={})
    assert missing.status_code == 405 and GATE in missing.json()["message"]
    app_check(sb, repo, head, "failure")
    failing = sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="releaser", json={})
    assert failing.status_code == 405 and "failing" in failing.json()["message"]
    app_check(sb, repo, head, "success")
    ok = sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="releaser", json={})
    assert ok.status_code == 200, ok.text
    assert branch_sha(sb, repo, "release/2.0") == ok.json()["sha"]


def test_neutral_and_skipped_satisfy_required_checks(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    protect(sb, repo, "main", [{"context": "ci", "app_id": None}])
    for i, conclusion in enumerate(("neutral", "skipped")):
        pr = open_pr(sb, repo, f"n{i}")
        app_check(sb, repo, pr["head"]["sha"], conclusion, name="ci")
        assert sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={}).status_code == 200


def test_app_pinned_check_not_satisfied_by_user_status(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    protect(sb, repo, "main", [{"context": GATE, "app_id": 1}])
    pr = open_pr(sb, repo, "sneaky")
    n, head = pr["number"], pr["head"]["sha"]
    # a developer forges a commit status with the gate's name: it must not count
    forged = sb.api.post(
        f"/repos/{repo}/statuses/{head}", as_="dev", json={"state": "success", "context": GATE}
    )
    assert forged.status_code == 201
    assert sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="dev", json={}).status_code == 405
    # an unpinned requirement of the same name would have been satisfied by it
    protect(sb, repo, "main", [{"context": GATE, "app_id": None}])
    assert sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="dev", json={}).status_code == 200


def test_admin_bypass_only_without_enforce_admins(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    protect(sb, repo, "main", [{"context": GATE, "app_id": 1}], enforce_admins=True)
    pr = open_pr(sb, repo, "urgent")
    n = pr["number"]
    assert sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="admin", json={}).status_code == 405
    protect(sb, repo, "main", [{"context": GATE, "app_id": 1}], enforce_admins=False)
    assert sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="releaser", json={}).status_code == 405
    assert sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="admin", json={}).status_code == 200


def test_required_approvals_count_write_reviewers_only(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    protect(sb, repo, "main", [], reviews={"required_approving_review_count": 1})
    pr = open_pr(sb, repo, "reviewed", as_="dev")
    n = pr["number"]
    sb.api.post(f"/repos/{repo}/pulls/{n}/reviews", as_="outsider", json={"event": "APPROVE"})
    refused = sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="dev", json={})
    assert refused.status_code == 405 and "approving review" in refused.json()["message"]
    sb.api.post(f"/repos/{repo}/pulls/{n}/reviews", as_="qa", json={"event": "APPROVE"})
    assert sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_="dev", json={}).status_code == 200


def test_ruleset_pins_check_to_integration_on_pattern(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "release/3.1")
    resp = sb.api.post(
        f"/repos/{repo}/rulesets",
        json={
            "name": "release gate",
            "target": "branch",
            "enforcement": "active",
            "conditions": {"ref_name": {"include": ["refs/heads/release/*"], "exclude": []}},
            "rules": [
                {
                    "type": "required_status_checks",
                    "parameters": {
                        "strict_required_status_checks_policy": False,
                        "required_status_checks": [{"context": GATE, "integration_id": 1}],
                    },
                }
            ],
        },
    )
    assert resp.status_code == 201, resp.text
    ruleset = resp.json()
    assert (
        sb.api.get(f"/repos/{repo}/rulesets/{ruleset['id']}").json()["rules"][0]["type"]
        == "required_status_checks"
    )
    assert [r["id"] for r in sb.api.get(f"/repos/{repo}/rulesets").json()] == [ruleset["id"]]
    rules = sb.api.get(f"/repos/{repo}/rules/branches/release/3.1").json()
    assert [r["type"] for r in rules] == ["required_status_checks"]
    assert sb.api.get(f"/repos/{repo}/rules/branches/main").json() == []
    gated = open_pr(sb, repo, "rfix", base="release/3.1")
    free = open_pr(sb, repo, "mfix", base="main")
    assert sb.api.put(f"/repos/{repo}/pulls/{free['number']}/merge", json={}).status_code == 200
    sb.api.post(f"/repos/{repo}/statuses/{gated['head']['sha']}", json={"state": "success", "context": GATE})
    # rulesets have no admin bypass unless listed: even admin is refused
    refused = sb.api.put(f"/repos/{repo}/pulls/{gated['number']}/merge", as_="admin", json={})
    assert refused.status_code == 405
    app_check(sb, repo, gated["head"]["sha"], "success")
    assert sb.api.put(f"/repos/{repo}/pulls/{gated['number']}/merge", as_="dev", json={}).status_code == 200


def test_merge_queue_merges_after_checks_pass(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    protect(sb, repo, "main", [{"context": GATE, "app_id": 1}])
    p1 = open_pr(sb, repo, "q1")
    p2 = open_pr(sb, repo, "q2")
    base = branch_sha(sb, repo, "main")
    start = mark(sb, repo)
    resp = sb.api.sandbox(
        "POST", "/_sandbox/merge-queue", json={"repo": repo, "pull_numbers": [p1["number"], p2["number"]]}
    )
    assert resp.status_code == 201, resp.text
    group = resp.json()
    assert group["head_ref"] == f"refs/heads/gh-readonly-queue/main/pr-{p2['number']}-{p2['head']['sha']}"
    assert names_after(sb, repo, start) == ["merge_group.checks_requested"]
    payload = sb.recorder.for_repo(repo)[start].payload["merge_group"]
    assert payload["head_sha"] == group["head_sha"] and payload["base_sha"] == base
    assert "gh-readonly-queue/main/pr-" in payload["head_ref"]
    # the group's commit holds both changes; nothing is merged yet
    assert sb.api.get(f"/repos/{repo}/pulls/{p1['number']}").json()["merged"] is False
    app_check(sb, repo, group["head_sha"], "success")
    assert branch_sha(sb, repo, "main") == group["head_sha"]
    names = names_after(sb, repo, start)
    assert names[-4:] == ["pull_request.closed", "pull_request.closed", "push", "merge_group.destroyed"]
    for p in (p1, p2):
        got = sb.api.get(f"/repos/{repo}/pulls/{p['number']}").json()
        assert got["merged"] is True and got["merge_commit_sha"]
    sb.recorder.assert_all_valid()


def test_merge_queue_group_invalidated_by_failing_check(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    protect(sb, repo, "main", [{"context": GATE, "app_id": 1}])
    pr = open_pr(sb, repo, "qbad")
    base = branch_sha(sb, repo, "main")
    group = sb.api.sandbox(
        "POST", "/_sandbox/merge-queue", json={"repo": repo, "pull_numbers": [pr["number"]]}
    ).json()
    start = mark(sb, repo)
    app_check(sb, repo, group["head_sha"], "failure")
    assert names_after(sb, repo, start)[-1] == "merge_group.destroyed"
    assert sb.recorder.for_repo(repo)[-1].payload["reason"] == "invalidated"
    assert branch_sha(sb, repo, "main") == base
    assert sb.api.get(f"/repos/{repo}/pulls/{pr['number']}").json()["state"] == "open"
    bad = sb.api.sandbox("POST", "/_sandbox/merge-queue", json={"repo": repo, "pull_numbers": [999]})
    assert bad.status_code == 404


def test_strict_requires_head_up_to_date(sb: RunningSandbox) -> None:
    from test_git import commit_file

    repo = sb.new_repo()
    protect(sb, repo, "main", [], strict=True)
    pr = open_pr(sb, repo, "behind")
    commit_file(sb, repo, "main", "moved.txt", "base moved on")
    refused = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={})
    assert refused.status_code == 405 and "not up to date" in refused.json()["message"]
    # bring the head up to date by merging main into it (a two-parent commit on the head branch)
    up = sb.api.post(f"/repos/{repo}/pulls", json={"title": "sync", "head": "main", "base": "behind"}).json()
    assert sb.api.put(f"/repos/{repo}/pulls/{up['number']}/merge", json={}).status_code == 200
    assert sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={}).status_code == 200


def test_ruleset_bypass_actors(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    resp = sb.api.post(
        f"/repos/{repo}/rulesets",
        json={
            "name": "main gate",
            "target": "branch",
            "enforcement": "active",
            "bypass_actors": [
                {"actor_type": "RepositoryRole", "actor_id": 5, "bypass_mode": "always"},
                {"actor_type": "Integration", "actor_id": 1, "bypass_mode": "always"},
            ],
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [
                {
                    "type": "required_status_checks",
                    "parameters": {
                        "strict_required_status_checks_policy": False,
                        "required_status_checks": [{"context": GATE, "integration_id": 1}],
                    },
                }
            ],
        },
    )
    assert resp.status_code == 201, resp.text
    by_admin, by_app, by_maintainer = (open_pr(sb, repo, b) for b in ("ba", "bb", "bc"))
    assert (
        sb.api.put(
            f"/repos/{repo}/pulls/{by_maintainer['number']}/merge", as_="releaser", json={}
        ).status_code
        == 405
    )
    assert (
        sb.api.put(f"/repos/{repo}/pulls/{by_admin['number']}/merge", as_="admin", json={}).status_code == 200
    )
    token = sb.installation_token()
    assert (
        sb.api.put(f"/repos/{repo}/pulls/{by_app['number']}/merge", token=token, json={}).status_code == 200
    )
    # disabled rulesets bind no one
    sb.api.put(f"/repos/{repo}/rulesets/{resp.json()['id']}", json={"enforcement": "disabled"})
    assert (
        sb.api.put(
            f"/repos/{repo}/pulls/{by_maintainer['number']}/merge", as_="releaser", json={}
        ).status_code
        == 200
    )
