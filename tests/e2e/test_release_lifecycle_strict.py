"""Strict (waterfall) mode and configuration errors, end to end: the sandbox, a real `release-bot serve`.

Issue 4 items 6 and 9: `releases.mode: strict` (pushed to the default branch) holds the release at a
stage until its checklist is fully ticked — publishing the release on the final tag included — and
says so on the tracking issue; an invalid configuration is reported there with its line number while
the last valid one goes on working.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from test_release_lifecycle import BOT, REPO, comments, create_ref, stage_comments, tracking_issue

STRICT_CONFIG = """\
releases:
  mode: strict
stages:
  identify_needs: {checklist: ['Scope agreed']}
  build_test: {checklist: ['CI green']}
  uat: {checklist: ['QA accepted']}
  deploy: {checklist: ['Deployed', 'Smoke tests pass']}
"""

# Line 3 holds the error: `mode` accepts agile | strict only.
INVALID_CONFIG = """\
# strict was too slow for us
releases:
  mode: waterfall
"""

CONFIG_PATH = f"{REPO}/contents/.github/release-bot.yml"


def put_config(api: httpx.Client, text: str, message: str) -> None:
    current = api.get(CONFIG_PATH)
    body: dict[str, Any] = {
        "message": message,
        "content": base64.b64encode(text.encode()).decode(),
        "branch": "main",
    }
    if current.status_code == 200:
        body["sha"] = current.json()["sha"]
    r = api.put(CONFIG_PATH, json=body)
    assert r.status_code in (200, 201), r.text


def tick_stage(api: httpx.Client, number: int, stage: str) -> None:
    found = [c for c in comments(api, number) if f":{stage} -->" in c["body"] and c["user"]["login"] == BOT]
    assert len(found) == 1, [c["body"][:60] for c in found]
    r = api.patch(
        f"{REPO}/issues/comments/{found[0]['id']}", json={"body": found[0]["body"].replace("- [ ]", "- [x]")}
    )
    assert r.status_code == 200, r.text


def row(body: str, title: str) -> str:
    """The stage table's row of one stage (the header table has a `| UAT |` row too)."""
    icons = ("✅", "▶️", "⏭️", "⏳")
    return next(
        line
        for line in body.splitlines()
        if line.startswith(f"| {title} |") and any(i in line for i in icons)
    )


def published(api: httpx.Client, tag: str) -> bool:
    """GET releases/tags/{tag} finds published releases only (drafts are not found by tag, as on GitHub)."""
    return api.get(f"{REPO}/releases/tags/{tag}").status_code == 200


@pytest.mark.e2e
def test_strict_mode_holds_each_stage_until_ticked_and_bad_config_keeps_the_last_valid(e2e: Any) -> None:
    admin, pm, dev, releaser = e2e.api("admin"), e2e.api("pm"), e2e.api("dev"), e2e.api("releaser")
    put_config(admin, STRICT_CONFIG, "release-bot: strict mode")
    e2e.settle()

    m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0"}).json()["number"]
    e2e.settle()
    number = tracking_issue(pm, m)["number"]
    # Everything at once: the facts point to Deploy, strict mode keeps the release in Identify Needs.
    for ref in ("refs/heads/release/1.4", "refs/tags/v1.4.0-rc.1", "refs/tags/v1.4.0"):
        create_ref(dev, ref)
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Identify Needs")
    assert "Strict mode: the release stays in Identify Needs" in body and "point to Deploy" in body
    assert stage_comments(pm, number) == ["identify_needs"]
    assert not published(pm, "v1.4.0"), "strict mode published the release before Deploy"

    # Ticking moves one stage at a time: each stage that begins is held until its own list is ticked.
    tick_stage(releaser, number, "identify_needs")
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Build & Test") and "⏭️ skipped" in row(body, "Plan Release")
    assert "Strict mode: the release stays in Build & Test" in body
    assert not published(pm, "v1.4.0")

    tick_stage(releaser, number, "build_test")
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "UAT") and "Strict mode: the release stays in UAT" in body
    assert not published(pm, "v1.4.0")

    tick_stage(releaser, number, "uat")
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Deploy") and "⏭️ skipped" in row(body, "Prepare")
    assert "Strict mode" not in body
    assert published(pm, "v1.4.0"), "reaching Deploy must publish the release on the final tag"
    assert stage_comments(pm, number) == ["identify_needs", "build_test", "uat", "deploy"]

    # An invalid configuration: reported with its line on every tracking issue; strict stays in force
    # (a release seen for the first time starts where its facts put it, in either mode: so v1.5.0 is
    # known before its branch appears).
    later = pm.post(f"{REPO}/milestones", json={"title": "v1.5.0"}).json()["number"]
    e2e.settle()
    put_config(admin, INVALID_CONFIG, "release-bot: try waterfall")
    create_ref(dev, "refs/heads/release/1.5")
    e2e.settle()
    for milestone in (m, later):
        body = tracking_issue(pm, milestone)["body"]
        assert "Configuration error in `.github/release-bot.yml`" in body
        assert "line 3" in body and "releases.mode" in body, body
    body = tracking_issue(pm, later)["body"]
    assert (
        "▶️ current" in row(body, "Identify Needs")
        and "Strict mode: the release stays in Identify Needs" in body
    )

    # Fixed: the warning goes away (agile now: the new release follows its facts to Build & Test).
    put_config(admin, "releases:\n  mode: agile\n", "release-bot: agile")
    e2e.settle()
    body = tracking_issue(pm, later)["body"]
    assert "Configuration error" not in body and "▶️ current" in row(body, "Build & Test")
    assert "Configuration error" not in tracking_issue(pm, m)["body"]
