"""Gate reads/writes and permission look-ups against a mocked REST API (`responses`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import responses
from github import Auth, Github

from bot.core.gate import CheckOutput, ExistingCheck
from bot.core.permissions import ROLE_QA, ROLE_RELEASE_MANAGERS, role_rules
from bot.github import branch_protection_io, gate_io, permissions
from bot.jobs import merge_group_pull_number

API = "https://ghe.example.test:443/api/v3"
REPO = "acme/rocket"


@pytest.fixture
def gh() -> Iterator[Github]:
    permissions.clear_caches()
    client = Github(
        base_url=API, auth=Auth.Token("t"), retry=None, seconds_between_requests=0, seconds_between_writes=0
    )
    yield client
    permissions.clear_caches()


def _perm(login: str, **booleans: bool) -> dict:
    return {"permission": "x", "role_name": "x", "user": {"login": login, "permissions": booleans}}


@responses.activate
def test_roles_from_permission_booleans_are_cached(gh: Github) -> None:
    responses.get(
        f"{API}/repos/{REPO}/collaborators/qa/permission", json=_perm("qa", push=True, triage=True, pull=True)
    )
    responses.get(
        f"{API}/repos/{REPO}/collaborators/rel/permission", json=_perm("rel", maintain=True, push=True)
    )
    responses.get(
        f"{API}/repos/{REPO}/collaborators/ghost/permission", status=404, json={"message": "Not Found"}
    )
    roles = permissions.roles_for_logins(
        gh, REPO, {}, ["qa", "rel", "ghost", "QA", "release-bot[bot]"], "release-bot[bot]"
    )
    assert roles == {
        "qa": frozenset({ROLE_QA}),
        "rel": frozenset({ROLE_QA, ROLE_RELEASE_MANAGERS}),
        "ghost": frozenset(),
        "release-bot[bot]": frozenset(),
    }
    assert len(responses.calls) == 3
    permissions.roles_for_logins(gh, REPO, {}, ["qa", "rel"])
    assert len(responses.calls) == 3  # served from the cache


@responses.activate
def test_team_rule_asks_only_teams(gh: Github) -> None:
    config = {"roles": {"qa": {"teams": ["qa"]}, "release_managers": {"teams": ["acme/release-managers"]}}}
    responses.get(f"{API}/orgs/acme/teams/qa/memberships/pat", json={"state": "active", "role": "member"})
    responses.get(
        f"{API}/orgs/acme/teams/release-managers/memberships/pat", json={"state": "pending", "role": "member"}
    )
    roles = permissions.roles_for_logins(gh, REPO, config, ["pat"])
    assert roles == {"pat": frozenset({ROLE_QA})}  # pending membership is not membership
    assert all("/collaborators/" not in call.request.url for call in responses.calls)


@responses.activate
def test_classic_permission_field_fallback(gh: Github) -> None:
    responses.get(f"{API}/repos/{REPO}/collaborators/old/permission", json={"permission": "maintain"})
    roles = permissions.Roles(gh, REPO, role_rules({}, "acme"), "release-bot[bot]")
    assert roles.holds("old", ROLE_RELEASE_MANAGERS)
    with pytest.raises(ValueError, match="unknown role"):
        roles.holds("old", "admins")


@responses.activate
def test_check_runs_are_filtered_by_app_and_name(gh: Github) -> None:
    runs = [
        {
            "id": 1,
            "name": "release-bot/gate",
            "app": {"id": 1},
            "status": "completed",
            "conclusion": "failure",
            "output": {"title": "a", "summary": "s1"},
        },
        {
            "id": 3,
            "name": "release-bot/gate",
            "app": {"id": 1},
            "status": "completed",
            "conclusion": "success",
            "output": {"title": "b", "summary": "s3"},
        },
        {
            "id": 5,
            "name": "release-bot/gate",
            "app": {"id": 99},
            "status": "completed",
            "conclusion": "success",
            "output": {"title": "fake", "summary": ""},
        },
    ]
    responses.get(f"{API}/repos/{REPO}/commits/abc/check-runs", json={"total_count": 3, "check_runs": runs})
    found = gate_io.read_gate_checks(gh, REPO, "abc", "release-bot/gate", 1)
    assert [r["id"] for r in found] == [1, 3]
    query = responses.calls[0].request.params
    assert query["app_id"] == "1" and query["check_name"] == "release-bot/gate" and query["per_page"] == "100"
    assert gate_io.latest_check(found) == ExistingCheck(3, "completed", "success", "b", "s3")


@responses.activate
def test_write_check_creates_then_updates_in_place(gh: Github) -> None:
    responses.post(f"{API}/repos/{REPO}/check-runs", json={"id": 42})
    responses.patch(f"{API}/repos/{REPO}/check-runs/42", json={"id": 42})
    output = CheckOutput("failure", "Missing: UAT", "summary")
    assert gate_io.write_check(gh, REPO, "abc", "release-bot/gate", output, None) == 42
    created = json.loads(responses.calls[0].request.body)
    assert created == {
        "name": "release-bot/gate",
        "head_sha": "abc",
        "status": "completed",
        "conclusion": "failure",
        "output": {"title": "Missing: UAT", "summary": "summary"},
    }
    gate_io.write_check(gh, REPO, "abc", "release-bot/gate", output, 42)
    assert "name" not in json.loads(responses.calls[1].request.body)


@responses.activate
def test_label_writes_encode_names_and_tolerate_missing(gh: Github) -> None:
    responses.delete(
        f"{API}/repos/{REPO}/issues/7/labels/needs%20qa%2Fsign-off",
        status=404,
        json={"message": "Label does not exist"},
    )
    gate_io.remove_label(gh, REPO, 7, "needs qa/sign-off")  # already gone: fine
    responses.post(f"{API}/repos/{REPO}/issues/7/labels", json=[])
    gate_io.add_labels(gh, REPO, 7, ["uat-passed"])
    assert json.loads(responses.calls[1].request.body) == {"labels": ["uat-passed"]}
    gate_io.add_labels(gh, REPO, 7, [])
    assert len(responses.calls) == 2


@responses.activate
def test_bot_reacted_and_comment_404(gh: Github) -> None:
    responses.get(
        f"{API}/repos/{REPO}/issues/comments/5/reactions",
        json=[
            {"id": 1, "content": "+1", "user": {"login": "qa"}},
            {"id": 2, "content": "+1", "user": {"login": "release-bot[bot]"}},
        ],
    )
    responses.get(f"{API}/repos/{REPO}/issues/comments/6", status=404, json={"message": "Not Found"})
    assert gate_io.bot_reacted(gh, REPO, 5, "release-bot[bot]")
    assert not gate_io.bot_reacted(gh, REPO, 5, "other[bot]")
    assert gate_io.read_comment(gh, REPO, 6) is None


def test_timeline_comments_keep_only_entries_as_complete_as_a_single_read() -> None:
    full = {
        "event": "commented",
        "id": 7,
        "body": "/approve",
        "user": {"login": "releaser"},
        "actor": {"login": "releaser"},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "reactions": {"total_count": 0},
    }
    no_body = {**full, "id": 8}
    del no_body["body"]  # optional in GitHub's timeline-comment-event: read on its own
    labeled = {"event": "labeled", "id": 9, "label": {"name": "x"}}
    found = gate_io.timeline_comments([full, no_body, labeled, {**full, "id": "10"}])
    assert list(found) == [7] and found[7]["body"] == "/approve"


def test_no_reactions_only_when_githubs_rollup_says_none() -> None:
    assert gate_io.has_no_reactions({"reactions": {"total_count": 0, "+1": 0}})
    assert not gate_io.has_no_reactions({"reactions": {"total_count": 1, "+1": 1}})
    assert not gate_io.has_no_reactions({})  # no rollup proves nothing
    assert not gate_io.has_no_reactions({"reactions": {"total_count": False}})
    assert not gate_io.has_no_reactions({"reactions": None})


def test_the_timeline_is_always_revalidated() -> None:
    """Commands are taken from the timeline read in their job (``pr_comments.read_comments``): that
    holds only while no freshness window serves a timeline from before the comment was made."""
    from bot.github.freshness import window_for

    assert window_for(f"{API}/repos/{REPO}/issues/5/timeline?per_page=100") is None


def test_timeline_items_in_time_order() -> None:
    entries = [
        {
            "event": "labeled",
            "id": 10,
            "actor": {"login": "qa"},
            "label": {"name": "uat-passed"},
            "created_at": "2026-01-01T10:00:05Z",
        },
        {"event": "committed", "sha": "s1", "committer": {"date": "2026-01-01T10:00:00Z"}},
        {"event": "committed", "sha": "s2", "committer": {"date": "2026-01-01T10:00:09Z"}},
        {"event": "commented", "id": 77, "actor": {"login": "dev"}, "created_at": "2026-01-01T10:00:05Z"},
        {"event": "cross-referenced", "created_at": "2026-01-01T10:00:01Z"},
        {
            "event": "head_ref_force_pushed",
            "id": 11,
            "commit_id": "s3",
            "actor": {"login": "dev"},
            "created_at": "2026-01-01T10:00:10Z",
        },
    ]
    items = gate_io.timeline_items(entries)
    assert [(i.kind, i.sha or i.id) for i in items] == [
        ("committed", "s1"),
        ("labeled", 10),
        ("commented", 77),
        ("committed", "s2"),
        ("head_ref_force_pushed", "s3"),
    ]
    assert items[1].label == "uat-passed" and items[1].actor == "qa"


def test_pull_facts_and_merge_group_numbers() -> None:
    pull = gate_io.pull_facts(
        {
            "number": 7,
            "user": {"login": "dev"},
            "base": {"ref": "release/1.4"},
            "head": {"sha": "abc"},
            "state": "open",
            "labels": [{"name": "hold"}],
            "milestone": {"number": 2, "title": "v1.4.0"},
        }
    )
    assert pull.base == "release/1.4" and pull.labels == {"hold"} and pull.milestone is not None
    assert merge_group_pull_number("refs/heads/gh-readonly-queue/release/1.4/pr-12-" + "a" * 40) == 12
    assert (
        merge_group_pull_number("gh-readonly-queue/pr-7-abc/pr-12-" + "b" * 40) == 12
    )  # the last segment only
    assert merge_group_pull_number("refs/heads/release/1.4") is None


@responses.activate
def test_protection_falls_back_to_classic_only_where_rulesets_are_unavailable(gh: Github) -> None:
    upgrade = {"message": "Upgrade to GitHub Pro or make this repository public to enable this feature."}
    responses.get(f"{API}/repos/{REPO}/rulesets", status=403, json=upgrade)
    responses.get(f"{API}/repos/{REPO}/branches", json=[{"name": "main"}, {"name": "release/1.4"}])
    responses.get(
        f"{API}/repos/{REPO}/branches/release%2F1.4/protection",
        json={
            "required_status_checks": {"strict": True, "checks": [{"context": "ci", "app_id": 7}]},
            "enforce_admins": {"enabled": True},
            "required_pull_request_reviews": {"required_approving_review_count": 2, "url": "x"},
        },
    )
    responses.put(f"{API}/repos/{REPO}/branches/release%2F1.4/protection", json={})
    done = branch_protection_io.protect_release_branches(gh, REPO, ["release/*"], "release-bot/gate", 1)
    assert done == ["release/1.4: branch protection now requires release-bot/gate from app 1"]
    body = json.loads(responses.calls[-1].request.body)
    assert body == {  # everything else kept as it was
        "required_status_checks": {
            "strict": True,
            "checks": [{"context": "ci", "app_id": 7}, {"context": "release-bot/gate", "app_id": 1}],
        },
        "enforce_admins": True,
        "required_pull_request_reviews": {"required_approving_review_count": 2},
        "restrictions": None,
    }


@responses.activate
def test_protection_reports_a_missing_permission(gh: Github) -> None:
    from github import GithubException

    responses.get(
        f"{API}/repos/{REPO}/rulesets", status=403, json={"message": "Resource not accessible by integration"}
    )
    with pytest.raises(GithubException) as raised:
        branch_protection_io.protect_release_branches(gh, REPO, ["release/*"], "release-bot/gate", 1)
    assert raised.value.status == 403
