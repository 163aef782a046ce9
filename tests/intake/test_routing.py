"""Routing details the examples do not pin: hints, old milestones, config paths, removals."""

from __future__ import annotations

import pytest

from bot.intake.routing import DropInstallation, PayloadError, RoutingContext, route
from bot.jobs import comment_digest
from bot.queue.hints import merge_hints

REPO = {"id": 42, "full_name": "acme/rocket"}
INST = {"id": 7}


def keys(r) -> list[str]:
    return [j.key for j in r.jobs]


def test_pull_request_demilestoned_reaches_the_release_it_left():
    r = route(
        "pull_request",
        {
            "action": "demilestoned",
            "pull_request": {"number": 5, "milestone": None},
            "milestone": {"number": 2},
            "repository": REPO,
            "installation": INST,
        },
    )
    assert keys(r) == ["pr:42#5", "release:42@2"]
    assert r.jobs[0].installation_id == 7 and r.jobs[0].repo == "acme/rocket"
    assert r.jobs[0].reason == "pull_request.demilestoned"


def test_pull_request_moved_between_milestones_reaches_both():
    r = route(
        "pull_request",
        {
            "action": "milestoned",
            "pull_request": {"number": 5, "milestone": {"number": 3}},
            "milestone": {"number": 3},
            "repository": REPO,
        },
    )
    assert keys(r) == ["pr:42#5", "release:42@3"]


def test_new_pr_comment_carries_its_id_as_a_hint_but_an_edit_does_not():
    payload = {
        "issue": {"number": 9, "pull_request": {"url": "x"}},
        "comment": {"id": 555, "body": "/approve"},
        "repository": REPO,
    }
    created = route("issue_comment", {**payload, "action": "created"})
    assert keys(created) == ["pr:42#9"] and created.jobs[0].hints == {
        "comment_ids": [555],
        "comment_digests": [[555, comment_digest("/approve")]],
        "touched": ["comments"],
    }
    assert comment_digest("/approve") != comment_digest("/approve ")
    edited = route("issue_comment", {**payload, "action": "edited"})
    assert keys(edited) == ["pr:42#9"] and edited.jobs[0].hints == {"touched": ["comments"]}


def test_comment_on_tracking_issue_goes_to_its_release_and_elsewhere_is_ignored():
    base = {"action": "created", "comment": {"id": 1}, "repository": REPO}
    r = route("issue_comment", {**base, "issue": {"number": 3, "milestone": {"number": 4}}})
    assert keys(r) == ["release:42@4"] and r.jobs[0].hints == {
        "comment_ids": [1],
        "comment_digests": [[1, comment_digest("")]],
        "touched": ["comments"],
    }
    assert route("issue_comment", {**base, "issue": {"number": 3, "milestone": None}}).ignored


def test_issue_without_milestone_opened_wakes_releases_by_stage_but_assigned_is_ignored():
    # Not a full fan-out: release discovery wakes the releases whose stage lists feedback (Monitor).
    for action in ("opened", "labeled", "reopened", "closed"):
        r = route("issues", {"action": action, "issue": {"number": 1}, "repository": REPO})
        assert keys(r) == ["repo:42"]
        # Any `issues` event may change what a milestone's items show (bot.github.freshness).
        assert r.jobs[0].hints == {"release_events": ["issues"], "touched": ["items"]}
    assert route("issues", {"action": "assigned", "issue": {"number": 1}, "repository": REPO}).ignored


def test_merge_group_names_its_pr_and_hints_the_group():
    ref = "refs/heads/gh-readonly-queue/release/1.4/pr-17-929f8209d40f77f4abc622a499c93a83babdbe64"
    r = route(
        "merge_group",
        {
            "action": "checks_requested",
            "merge_group": {"head_sha": "abc", "head_ref": ref, "base_ref": "refs/heads/release/1.4"},
            "repository": REPO,
        },
    )
    assert keys(r) == ["pr:42#17"]
    assert r.jobs[0].hints["merge_group"] == {
        "head_sha": "abc",
        "head_ref": ref,
        "base_ref": "refs/heads/release/1.4",
    }
    destroyed = route(
        "merge_group", {"action": "destroyed", "merge_group": {"head_ref": ref}, "repository": REPO}
    )
    assert destroyed.ignored and not destroyed.jobs


def test_check_run_without_app_id_is_ours_by_name():
    run = {"name": "release-bot/gate", "app": {"id": 99}, "pull_requests": [{"number": 1}, {"number": 2}]}
    r = route("check_run", {"action": "rerequested", "check_run": run, "repository": REPO})
    assert keys(r) == ["pr:42#1", "pr:42#2"]
    other = route(
        "check_run", {"action": "rerequested", "check_run": {**run, "name": "ci"}, "repository": REPO}
    )
    assert other.ignored
    by_id = route(
        "check_run",
        {"action": "rerequested", "check_run": {**run, "name": "ci"}, "repository": REPO},
        RoutingContext(app_id=99),
    )
    assert keys(by_id) == ["pr:42#1", "pr:42#2"]


def test_push_hints_its_ref_and_changed_yaml_paths():
    r = route(
        "push",
        {
            "ref": "refs/heads/main",
            "repository": REPO,
            "commits": [
                {"added": [".github/release-bot.yml"], "modified": ["src/a.py", "ci.yaml"], "removed": []},
                {"added": [], "modified": [".github/release-bot.yml"], "removed": [".github/release.yml"]},
            ],
        },
    )
    assert keys(r) == ["repo:42"]
    assert r.jobs[0].hints == {
        "refs": ["refs/heads/main"],
        "changed_config_paths": [".github/release-bot.yml", "ci.yaml", ".github/release.yml"],
        "touched": ["heads", "tags"],  # the read cache's freshness windows it ends (bot.github.freshness)
    }


def test_tag_creation_hints_the_ref():
    r = route("create", {"ref": "v1.4.0-rc.1", "ref_type": "tag", "repository": REPO})
    # A ref's create touches tags and heads both (bot.github.freshness: deliveries are not ordered).
    hints = {"refs": ["tag:v1.4.0-rc.1"], "touched": ["heads", "tags"]}
    assert keys(r) == ["repo:42"] and r.jobs[0].hints == hints


@pytest.mark.parametrize(
    "event,body",
    [
        ("release", {"action": "published", "release": {"id": 1}}),
        ("deployment_status", {"action": "created", "deployment_status": {"id": 1}}),
    ],
)
def test_releases_and_deployments_wake_releases_by_stage_from_the_repo(event, body):
    r = route(event, {**body, "repository": REPO})
    touched = {"release": {"touched": ["releases"]}}.get(event, {})
    assert keys(r) == ["repo:42"] and r.jobs[0].hints == {"release_events": [event], **touched}


def test_release_events_of_coalesced_jobs_are_all_kept():
    """The queue merges a waiting job's hints with `merge_hints`: every event must survive it, and a
    `fan_out` of an adoption waiting on the same key must not be lost either."""
    issue = route("issues", {"action": "opened", "issue": {"number": 1}, "repository": REPO}).jobs[0].hints
    deploy = (
        route("deployment_status", {"action": "created", "deployment_status": {"id": 1}, "repository": REPO})
        .jobs[0]
        .hints
    )
    added = route(
        "installation_repositories",
        {
            "action": "added",
            "installation": INST,
            "repositories_added": [{"id": 42, "full_name": "acme/rocket"}],
        },
    )
    merged = merge_hints(merge_hints(issue, added.jobs[0].hints), deploy)
    assert merged == {
        "release_events": ["issues", "deployment_status"],
        "fan_out": True,
        "touched": ["items", "checks", "comments", "heads", "milestones", "releases", "repo", "tags"],
    }
    assert merge_hints(issue, issue) == {"release_events": ["issues"], "touched": ["items"]}


def test_the_bots_notes_draft_wakes_only_its_own_release():
    body = "Human intro\n<!-- release-bot:notes:7 -->\n## Features\n"
    r = route("release", {"action": "edited", "release": {"id": 1, "body": body}, "repository": REPO})
    assert keys(r) == ["release:42@7"] and r.jobs[0].hints == {"touched": ["releases"]}
    # A release without the marker (someone's own) concerns the releases whose stage it can affect.
    other = route(
        "release", {"action": "edited", "release": {"id": 2, "body": "notes:7"}, "repository": REPO}
    )
    assert keys(other) == ["repo:42"] and other.jobs[0].hints == {
        "release_events": ["release"],
        "touched": ["releases"],
    }


def test_installation_created_enqueues_each_repository_and_deleted_drops_the_installation():
    created = route(
        "installation",
        {
            "action": "created",
            "installation": INST,
            "repositories": [{"id": 1, "full_name": "a/x"}, {"id": 2, "full_name": "a/y"}],
        },
    )
    assert keys(created) == ["repo:1", "repo:2"] and created.jobs[1].repo == "a/y"
    assert all(
        job.hints
        == {
            "fan_out": True,
            "touched": ["checks", "comments", "heads", "items", "milestones", "releases", "repo", "tags"],
        }
        for job in created.jobs
    )
    assert created.jobs[0].installation_id == 7
    for action in ("deleted", "suspend"):
        removed = route("installation", {"action": action, "installation": INST})
        assert removed.controls == [DropInstallation(7)] and not removed.jobs


def test_repositories_removed_drops_only_those_repositories():
    r = route(
        "installation_repositories",
        {
            "action": "removed",
            "installation": INST,
            "repositories_added": [],
            "repositories_removed": [{"id": 1, "full_name": "a/x"}],
        },
    )
    assert r.controls == [DropInstallation(7, ["a/x"])]


@pytest.mark.parametrize(
    "event,payload,field",
    [
        ("milestone", {"milestone": {"number": 1}}, "repository.id"),
        ("pull_request", {"repository": REPO}, "pull_request"),
        ("milestone", {"milestone": {"number": "1"}, "repository": REPO}, "milestone.number"),
    ],
)
def test_missing_fields_raise_payload_error_naming_them(event, payload, field):
    with pytest.raises(PayloadError, match=field):
        route(event, payload)
