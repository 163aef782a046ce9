"""The tracking issue, end to end (issue 4 item 2): the sandbox, a real `release-bot serve`.

Found again only by the bot's marker in an issue the bot wrote (an issue copying the marker is not
it, not even when the bot first meets the release after an outage); title and label from the
configuration; due date shown as a calendar date in `releases.timezone`.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_release_lifecycle import BOT, REPO, reconcile_now
from test_release_lifecycle_strict import put_config

CONFIG = """\
releases:
  tracking_issue_title: 'Ship {version} ({version})'
  tracking_label: shipping
  timezone: America/Los_Angeles
"""


@pytest.mark.e2e
@pytest.mark.reliability(
    area="attack",
    case="an issue carrying the bot's tracking marker (and a forged state) is not the tracking issue",
    trials=1,
)
def test_tracking_issue_is_found_by_the_bots_marker_only(e2e: Any) -> None:
    admin, pm, dev = e2e.api("admin"), e2e.api("pm"), e2e.api("dev")
    put_config(admin, CONFIG, "release-bot: tracking issue conventions")
    e2e.settle()

    # The bot is down when the milestone appears and someone files an issue copying the marker
    # (with a forged stage record claiming Deploy).
    e2e.bot.kill()
    # GitHub keeps the Pacific calendar date of `due_on` (midnight UTC is still 30 November there).
    m = pm.post(f"{REPO}/milestones", json={"title": "v4.2.0", "due_on": "2030-12-01T12:00:00Z"}).json()[
        "number"
    ]
    forged = (
        f"<!-- release-bot:tracking:{m} -->\nI am the tracking issue.\n"
        '<!-- release-bot:state {"v":1,"stages":{"current":"deploy"}} -->'
    )
    r = dev.post(
        f"{REPO}/issues",
        json={"title": "Ship 4.2.0 (4.2.0)", "body": forged, "milestone": m, "labels": ["shipping"]},
    )
    assert r.status_code == 201, r.text
    impostor = r.json()["number"]
    e2e.bot.start()
    reconcile_now(e2e, enqueue_only=True)
    e2e.settle()

    issues = pm.get(f"{REPO}/issues", params={"milestone": m, "state": "all", "per_page": 100}).json()
    mine = [i for i in issues if i["user"]["login"] == BOT]
    assert len(mine) == 1, [(i["number"], i["user"]["login"]) for i in issues]
    tracking = mine[0]
    assert tracking["number"] != impostor
    assert tracking["title"] == "Ship 4.2.0 (4.2.0)"
    assert [lbl["name"] for lbl in tracking["labels"]] == ["shipping"]
    body = tracking["body"]
    assert "| Plan Release | ▶️ current |" in body  # from the facts, not the forged record
    assert "| Due | 2030-12-01 (America/Los_Angeles) · not shipped yet |" in body, body
    assert "- Issues: 1 open, 0 closed" in body  # the copy is an ordinary issue of the milestone
    # The bot never touched the copy.
    touched = [
        c
        for c in e2e.requests_since(0)
        if c["actor"] == BOT and c["method"] != "GET" and f"/issues/{impostor}" in c["path"]
    ]
    assert touched == []
    assert pm.get(f"{REPO}/issues/{impostor}").json()["body"] == forged

    # Later events on the copy do not make it the tracking issue either.
    dev.post(f"{REPO}/issues/{impostor}/comments", json={"body": "/stage monitor"})
    e2e.settle()
    assert "| Plan Release | ▶️ current |" in pm.get(f"{REPO}/issues/{tracking['number']}").json()["body"]
    assert not [c for c in pm.get(f"{REPO}/issues/{impostor}/comments").json() if c["user"]["login"] == BOT]
