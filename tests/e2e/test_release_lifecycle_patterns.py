"""Configured release conventions, end to end (issue 4 items 1 and 4): the sandbox, a real
`release-bot serve`.

`releases.milestone_pattern`, `branch_pattern`, `rc_tag_pattern` and `final_tag_pattern` from
`.github/release-bot.yml` drive adoption and the stage triggers; names following the defaults no
longer count.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_release_lifecycle import BOT, REPO, create_ref, stage_comments, tracking_issue
from test_release_lifecycle_strict import put_config, row

CONFIG = """\
releases:
  milestone_pattern: '^Rocket (?P<version>\\d+\\.\\d+\\.\\d+)$'
  branch_pattern: 'stable/{major}.{minor}.x'
  rc_tag_pattern: 'rocket-{version}-cand{n}'
  final_tag_pattern: 'rocket-{version}'
notes:
  tag_template: 'rocket-{version}'
"""


@pytest.mark.e2e
def test_configured_patterns_drive_adoption_and_triggers(e2e: Any) -> None:
    admin, pm, dev = e2e.api("admin"), e2e.api("pm"), e2e.api("dev")
    put_config(admin, CONFIG, "release-bot: our own conventions")
    e2e.settle()
    m = pm.post(f"{REPO}/milestones", json={"title": "Rocket 2.3.0"}).json()["number"]
    ignored = pm.post(f"{REPO}/milestones", json={"title": "v2.4.0"}).json()["number"]
    e2e.settle()
    number = tracking_issue(pm, m)["number"]
    assert tracking_issue(pm, m)["title"] == "Release v2.3.0"
    listed = pm.get(f"{REPO}/issues", params={"milestone": ignored, "state": "all"}).json()
    assert not [i for i in listed if i["user"]["login"] == BOT]  # not a version under this pattern

    # Default-style names are not this project's conventions: nothing moves.
    create_ref(dev, "refs/heads/release/2.3")
    create_ref(dev, "refs/tags/v2.3.0-rc.1")
    e2e.settle()
    assert "▶️ current" in row(tracking_issue(pm, m)["body"], "Identify Needs")

    create_ref(dev, "refs/heads/stable/2.3.x")
    e2e.settle()
    assert "▶️ current" in row(tracking_issue(pm, m)["body"], "Build & Test")
    create_ref(dev, "refs/tags/rocket-2.3.0-cand1")
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "UAT") and "`rocket-2.3.0-cand1`" in body, body
    create_ref(dev, "refs/tags/rocket-2.3.0")
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Deploy") and "| Final tag | `rocket-2.3.0` |" in body, body
    assert pm.get(f"{REPO}/releases/tags/rocket-2.3.0").status_code == 200
    assert stage_comments(pm, number) == ["identify_needs", "build_test", "uat", "deploy"]
