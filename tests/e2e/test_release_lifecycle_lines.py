"""Release lines, feedback and lost events, end to end: the sandbox, a real `release-bot serve`.

Issue 4: Monitor lists post-release feedback (item 7); a patch release on an existing line starts at
Build & Test and hotfix pull requests into the line's branch belong to it (item 4); closing the
milestone before the final tag does not stop the tag from publishing (item 4); tags whose `create`
events were lost are still discovered by the `repo:` reconciler (item 4, "not trusted to create
events alone").
"""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
from test_release_lifecycle import (
    BOT,
    REPO,
    comments,
    create_ref,
    reconcile_now,
    stage_comments,
    tracking_issue,
)
from test_release_lifecycle_strict import published, row


def feedback_section(body: str) -> str:
    match = re.search(r"### Post-release feedback\n(.*?)(?:\n### |\n<!--|\Z)", body, re.DOTALL)
    return match.group(1) if match else ""


def commit_file(api: httpx.Client, branch: str, path: str, text: str) -> None:
    r = api.put(
        f"{REPO}/contents/{path}",
        json={
            "message": f"change {path}",
            "content": base64.b64encode(text.encode()).decode(),
            "branch": branch,
        },
    )
    assert r.status_code in (200, 201), r.text


@pytest.mark.e2e
def test_monitor_feedback_patch_release_and_a_closed_milestone_still_publishing(e2e: Any) -> None:
    pm, dev, releaser = e2e.api("pm"), e2e.api("dev"), e2e.api("releaser")
    m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0"}).json()["number"]
    for ref in ("refs/heads/release/1.4", "refs/tags/v1.4.0-rc.1", "refs/tags/v1.4.0"):
        create_ref(dev, ref)
    e2e.settle()
    number = tracking_issue(pm, m)["number"]
    releaser.post(f"{REPO}/issues/{number}/comments", json={"body": "/stage monitor"})
    e2e.settle()
    assert "▶️ current" in row(tracking_issue(pm, m)["body"], "Monitor")

    # Feedback: issues opened outside any milestone, naming the version or labelled `regression`.
    named = dev.post(f"{REPO}/issues", json={"title": "Login crash since v1.4.0"}).json()["number"]
    in_body = dev.post(
        f"{REPO}/issues", json={"title": "Slow start", "body": "Seen on 1.4.0 in production."}
    ).json()["number"]
    labelled = dev.post(f"{REPO}/issues", json={"title": "Export broken", "labels": ["regression"]}).json()[
        "number"
    ]
    other = dev.post(
        f"{REPO}/issues", json={"title": "Docs typo", "body": "Fine on 11.4.0 and 1.4.01"}
    ).json()["number"]
    later_label = dev.post(f"{REPO}/issues", json={"title": "Sync lost"}).json()["number"]
    e2e.settle()
    dev.post(f"{REPO}/issues/{later_label}/labels", json={"labels": ["regression"]})
    e2e.settle()
    listed = {int(n) for n in re.findall(r"#(\d+)", feedback_section(tracking_issue(pm, m)["body"]))}
    assert listed == {named, in_body, labelled, later_label}, (listed, other)

    # Closed: Future Planning. The patch release finds release/1.4 there and starts at Build & Test.
    pm.patch(f"{REPO}/milestones/{m}", json={"state": "closed"})
    patch = pm.post(f"{REPO}/milestones", json={"title": "v1.4.1"}).json()["number"]
    e2e.settle()
    assert "▶️ current" in row(tracking_issue(pm, m)["body"], "Future Planning")
    assert {named, labelled} <= {
        int(n) for n in re.findall(r"#(\d+)", feedback_section(tracking_issue(pm, m)["body"]))
    }
    patch_issue = tracking_issue(pm, patch)
    body = patch_issue["body"]
    assert "▶️ current" in row(body, "Build & Test") and "⏭️ skipped" in row(body, "Plan Release"), body
    assert stage_comments(pm, patch_issue["number"]) == ["identify_needs", "build_test"]

    # A hotfix pull request into release/1.4 belongs to v1.4.1 (the lowest open milestone of the line).
    create_ref(dev, "refs/heads/hotfix/login")
    commit_file(dev, "hotfix/login", "fix.txt", "fixed\n")
    pr = dev.post(
        f"{REPO}/pulls", json={"title": "Fix login crash", "head": "hotfix/login", "base": "release/1.4"}
    ).json()["number"]
    e2e.settle()
    head = pm.get(f"{REPO}/pulls/{pr}").json()["head"]["sha"]
    runs = pm.get(f"{REPO}/commits/{head}/check-runs").json()["check_runs"]
    gate = [r for r in runs if r["app"]["id"] == 1]
    assert len(gate) == 1 and "`release/1.4` belongs to `v1.4.1`" in gate[0]["output"]["summary"], gate
    releaser.patch(f"{REPO}/issues/{pr}", json={"milestone": patch})
    e2e.settle()
    assert "0 merged, 1 open" in tracking_issue(pm, patch)["body"]
    assert "0 merged, 1 open" not in tracking_issue(pm, m)["body"]

    # Closing the milestone before the final tag: the tag still publishes the release later.
    early = pm.post(f"{REPO}/milestones", json={"title": "v2.0.0"}).json()["number"]
    e2e.settle()
    early_number = tracking_issue(pm, early)["number"]
    pm.patch(f"{REPO}/milestones/{early}", json={"state": "closed"})
    e2e.settle()
    assert "▶️ current" in row(tracking_issue(pm, early)["body"], "Future Planning")
    assert not published(pm, "v2.0.0")
    create_ref(dev, "refs/tags/v2.0.0")
    e2e.settle()
    assert published(pm, "v2.0.0"), "the final tag of a closed milestone must still publish the release"
    body = tracking_issue(pm, early)["body"]
    assert "published" in body.lower() and "v2.0.0" in body
    retro = [
        c
        for c in comments(pm, early_number)
        if "release-bot:retro:" in c["body"] and c["user"]["login"] == BOT
    ]
    assert len(retro) == 1


@pytest.mark.e2e
def test_tags_whose_create_events_were_lost_are_discovered(e2e: Any) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    m = pm.post(f"{REPO}/milestones", json={"title": "v3.0.0"}).json()["number"]
    create_ref(dev, "refs/heads/release/3.0")
    e2e.settle()
    assert "▶️ current" in row(tracking_issue(pm, m)["body"], "Build & Test")

    chaos = f"{e2e.sandbox.base_url}/_sandbox/deliveries/chaos"
    assert httpx.post(chaos, json={"drop": 1.0}).status_code == 200
    try:
        for n in range(1, 6):
            create_ref(dev, f"refs/tags/v3.0.0-rc.{n}")
    finally:
        assert httpx.delete(chaos).status_code == 204
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Build & Test"), "no event arrived: nothing can have moved yet"

    # The next push anywhere (here: a commit to main) runs the repo reconciler, which lists the tags.
    commit_file(dev, "main", "NEWS.md", "news\n")
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "UAT"), body
    assert all(f"v3.0.0-rc.{n}" in body for n in range(1, 6))
    assert stage_comments(pm, tracking_issue(pm, m)["number"]) == ["identify_needs", "build_test", "uat"]

    # Lost again, and no push follows: `release-bot reconcile` finds the final tag.
    assert httpx.post(chaos, json={"drop": 1.0}).status_code == 200
    try:
        create_ref(dev, "refs/tags/v3.0.0")
    finally:
        assert httpx.delete(chaos).status_code == 204
    e2e.settle()
    reconcile_now(e2e, enqueue_only=True)
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Deploy") and published(pm, "v3.0.0")
