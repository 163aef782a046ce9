"""Commands on the tracking issue, end to end (issue 4 item 5): the sandbox, a real `release-bot serve`.

Roles given to configured teams (`roles.qa.teams`, `roles.release_managers.teams` in
`.github/release-bot.yml` on the default branch): only members may run `/uat` and `/stage`, whatever
their repository permission; a refusal names the rule (without pinging the team); an accepted
command gets a 👍. New comments only: an old comment edited into a command is not run. Text inside
HTML comments, and commands not at the start of a line, are ignored.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_release_lifecycle import BOT, REPO, comments, create_ref, tracking_issue
from test_release_lifecycle_strict import put_config, row

TEAM_CONFIG = """\
roles:
  qa: {teams: ['@acme/qa']}
  release_managers: {teams: ['release-managers']}
"""


def say(api: httpx.Client, number: int, body: str) -> int:
    r = api.post(f"{REPO}/issues/{number}/comments", json={"body": body})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def reply_to(api: httpx.Client, number: int, comment_id: int) -> list[str]:
    return [c["body"] for c in comments(api, number)
            if c["user"]["login"] == BOT and f"release-bot:reply:{comment_id} -->" in c["body"]]


def thumbs(api: httpx.Client, comment_id: int) -> list[str]:
    return [r["user"]["login"] for r in api.get(f"{REPO}/issues/comments/{comment_id}/reactions").json()
            if r["content"] == "+1"]


@pytest.mark.e2e
def test_team_roles_refusals_name_the_rule_and_only_new_comments_count(e2e: Any) -> None:
    admin, pm, dev, qa, releaser = (e2e.api(u) for u in ("admin", "pm", "dev", "qa", "releaser"))
    put_config(admin, TEAM_CONFIG, "release-bot: roles by team")
    e2e.settle()
    m = pm.post(f"{REPO}/milestones", json={"title": "v8.0.0"}).json()["number"]
    create_ref(dev, "refs/tags/v8.0.0-rc.1")
    e2e.settle()
    number = tracking_issue(pm, m)["number"]
    assert "▶️ current" in row(tracking_issue(pm, m)["body"], "UAT")

    # dev has write (enough for QA by default) and pm has maintain (enough for release managers by
    # default), but the configuration names teams: members only.
    dev_uat = say(dev, number, "/uat passed")
    pm_stage = say(pm, number, "/stage prepare")
    chatter = say(qa, number, "Looking at rc.1 now")
    hidden = say(releaser, number, "<!-- /stage deploy -->\nNot yet:\n  /stage deploy\nsee `/stage deploy`")
    e2e.settle()
    [refusal] = reply_to(pm, number, dev_uat)
    assert "`/uat` is for QA: members of @\u200bacme/qa" in refusal, refusal
    assert "@acme/qa" not in refusal  # the rule is named, the team is not pinged
    [refusal] = reply_to(pm, number, pm_stage)
    assert "`/stage` is for release managers: members of @\u200bacme/release-managers" in refusal, refusal
    assert thumbs(pm, dev_uat) == [] and thumbs(pm, pm_stage) == []
    assert reply_to(pm, number, hidden) == [] and thumbs(pm, hidden) == []
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "UAT") and "| UAT | not given |" in body

    # Team members are accepted (👍, no reply).
    qa_uat = say(qa, number, "/uat passed")
    e2e.settle()
    assert thumbs(pm, qa_uat) == [BOT] and reply_to(pm, number, qa_uat) == []
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Prepare") and "passed on rc.1 by @\u200bqa" in body

    # An old comment edited into a command is not a new command: nothing runs, nothing is answered.
    r = qa.patch(f"{REPO}/issues/comments/{chatter}", json={"body": "/uat failed found a crash"})
    assert r.status_code == 200, r.text
    e2e.settle()
    assert thumbs(pm, chatter) == [] and reply_to(pm, number, chatter) == []
    body = tracking_issue(pm, m)["body"]
    assert "▶️ current" in row(body, "Prepare") and "passed on rc.1" in body

    rm_stage = say(releaser, number, "/stage deploy")
    e2e.settle()
    assert thumbs(pm, rm_stage) == [BOT] and reply_to(pm, number, rm_stage) == []
    assert "▶️ current" in row(tracking_issue(pm, m)["body"], "Deploy")
