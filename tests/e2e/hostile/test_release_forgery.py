"""Forging a release's state, end to end (issue 16): the sandbox, a real `release-bot serve`.

`dev` has write access, so GitHub lets them edit the bot's tracking issue body (which keeps the bot
as its author) and other people's comments. Nothing they write there decides a stage: the bot's
record is a check run only the App can write, the body is a view rendered from it and the facts,
and a comment edited before the bot read it runs no command. Each attack below changes nothing but
the body, which the bot renders back as it was.
"""

from __future__ import annotations

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

# What the old hidden state looked like: a developer's forgery of each kind of decision in it.
FORGED_UAT = (
    '<!-- release-bot:state {"v":1,"stages":{"current":"uat","began":{},"skipped":[],"candidate":1,'
    '"uat":{"passed":true,"rc":1,"by":"qa","date":"2030-01-01","reason":""},"manual":null,'
    '"deployed":false},"watermark":0,"feedback":[],"retro":false} -->'
)
FORGED_MANUAL = (
    '<!-- release-bot:state {"v":1,"stages":{"current":"monitor","manual":"monitor",'
    '"began":{"monitor":"2030-01-01"}},"watermark":999999999} -->'
)
FORGED_DEPLOYED = '<!-- release-bot:state {"v":1,"stages":{"current":"deploy","deployed":true}} -->'


def record_id(body: str) -> int:
    match = re.search(r"<!-- release-bot:record:(\d+) -->", body)
    assert match, body
    return int(match.group(1))


def record_text(api: httpx.Client, body: str) -> str:
    run = api.get(f"{REPO}/check-runs/{record_id(body)}").json()
    assert run["app"]["slug"] == "release-bot" and run["name"] == "release-bot: release record", run
    return str(run["output"]["text"])


def forge(e2e: Any, attacker: httpx.Client, number: int, body: str) -> list[dict[str, Any]]:
    """Edit the tracking issue body as ``attacker``; return the bot's writes that follow."""
    seq = e2e.requests_since(0)[-1]["seq"]
    r = attacker.patch(f"{REPO}/issues/{number}", json={"body": body})
    assert r.status_code == 200, r.text
    e2e.settle()
    return [c for c in e2e.requests_since(seq) if c["actor"] == BOT and c["method"] != "GET"]


def rerendered_only(writes: list[dict[str, Any]], number: int) -> None:
    """The bot's only answer to an edited body: one PATCH putting its view back."""
    assert [(w["method"], w["path"]) for w in writes] == [("PATCH", f"/repos/acme/rocket/issues/{number}")], (
        writes
    )


@pytest.mark.e2e
@pytest.mark.reliability(
    area="attack",
    case=(
        "the tracking issue body edited (forged UAT sign-off, manual stage, deployed, record pointer) "
        "changes nothing"
    ),
    trials=4,
)
def test_a_developer_editing_the_tracking_issue_body_changes_nothing(e2e: Any) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    m = pm.post(f"{REPO}/milestones", json={"title": "v6.0.0", "due_on": "2030-12-01T00:00:00Z"}).json()[
        "number"
    ]
    create_ref(dev, "refs/heads/release/6.0")
    create_ref(dev, "refs/tags/v6.0.0-rc.1")
    e2e.settle()
    tracking = tracking_issue(pm, m)
    number, honest = tracking["number"], tracking["body"]
    assert "| UAT | ▶️ current |" in honest and "| UAT | not given |" in honest
    record = record_text(pm, honest)
    posted = stage_comments(pm, number)

    # 1. Forged sign-off: the old hidden state claiming "UAT passed on rc.1 by @qa", and the
    #    rendered rows edited to match.
    lying = (
        honest.replace("| UAT | not given |", "| UAT | passed on rc.1 by @qa (2030-01-01) |").replace(
            "| Prepare | ⏳ pending |", "| Prepare | ▶️ current |"
        )
        + "\n"
        + FORGED_UAT
    )
    rerendered_only(forge(e2e, dev, number, lying), number)
    body = tracking_issue(pm, m)["body"]
    assert body == honest, body
    assert (
        "| Prepare | ⏳ pending |" in body and "passed" not in body.split("| UAT |", 1)[1].split("\n", 1)[0]
    )
    assert stage_comments(pm, number) == posted  # no Prepare checklist
    assert record_text(pm, body) == record

    # 2. Forged hand-requested stage (jump to Monitor) with a watermark that would hide new commands.
    rerendered_only(
        forge(e2e, dev, number, honest.rsplit("<!-- release-bot:record:", 1)[0] + FORGED_MANUAL), number
    )
    body = tracking_issue(pm, m)["body"]
    assert body == honest and stage_comments(pm, number) == posted
    assert record_text(pm, body) == record
    # Commands still count (the watermark is the record's, not the body's): QA's real sign-off.
    qa = e2e.api("qa")
    ok = qa.post(f"{REPO}/issues/{number}/comments", json={"body": "/uat passed"}).json()["id"]
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "| Prepare | ▶️ current |" in body and "passed on rc.1 by @\u200bqa" in body
    assert [r["user"]["login"] for r in pm.get(f"{REPO}/issues/comments/{ok}/reactions").json()] == [BOT]

    # 3. Forged deployment: in Deploy, the state claims a successful production deployment.
    create_ref(dev, "refs/tags/v6.0.0")
    e2e.settle()
    honest = tracking_issue(pm, m)["body"]
    assert "| Deploy | ▶️ current |" in honest
    record = record_text(pm, honest)
    posted = stage_comments(pm, number)
    rerendered_only(forge(e2e, dev, number, honest + "\n" + FORGED_DEPLOYED), number)
    body = tracking_issue(pm, m)["body"]
    assert body == honest and "| Monitor | ⏳ pending |" in body
    assert stage_comments(pm, number) == posted and record_text(pm, body) == record

    # 4. The pointer aimed elsewhere (a check run that is not this release's record): the bot's
    #    store names the record; the body is put back.
    sha = pm.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    others = pm.get(f"{REPO}/commits/{sha}/check-runs").json()["check_runs"]
    elsewhere = max(
        [r["id"] for r in others if r["id"] != record_id(honest)], default=record_id(honest) + 1000
    )
    rerendered_only(
        forge(e2e, dev, number, honest.replace(f"record:{record_id(honest)}", f"record:{elsewhere}")), number
    )
    assert tracking_issue(pm, m)["body"] == honest


@pytest.mark.e2e
@pytest.mark.reliability(area="attack", case="a comment edited into a command runs nothing", trials=1)
def test_a_comment_edited_into_a_command_before_the_bot_reads_it_runs_nothing(e2e: Any) -> None:
    pm, dev, qa = e2e.api("pm"), e2e.api("dev"), e2e.api("qa")
    m = pm.post(f"{REPO}/milestones", json={"title": "v6.1.0"}).json()["number"]
    create_ref(dev, "refs/tags/v6.1.0-rc.1")
    e2e.settle()
    number = tracking_issue(pm, m)["number"]
    # While the bot is down, QA rejects the candidate and dev edits QA's comment into a sign-off.
    e2e.bot.kill()
    verdict = qa.post(f"{REPO}/issues/{number}/comments", json={"body": "/uat failed crash on login"}).json()[
        "id"
    ]
    # A few seconds later (GitHub's timestamps have one-second steps: an edit within the second of
    # the post cannot be told from it by ``updated_at``).
    httpx.post(
        f"{e2e.sandbox.base_url}/_sandbox/clock", json={"advance_seconds": 5}, timeout=30
    ).raise_for_status()
    r = dev.patch(f"{REPO}/issues/comments/{verdict}", json={"body": "/uat passed"})
    assert r.status_code == 200, r.text
    e2e.bot.start()
    reconcile_now(e2e, enqueue_only=True)  # the deliveries it missed: GitHub does not retry them
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "| UAT | ▶️ current |" in body and "| UAT | not given |" in body, body
    replies = [c["body"] for c in comments(pm, number) if f"release-bot:reply:{verdict} -->" in c["body"]]
    assert len(replies) == 1 and "edited before release-bot read it" in replies[0], replies


@pytest.mark.e2e
@pytest.mark.reliability(
    area="attack",
    case="the bot's stage comment edited (boxes ticked, a forged state and command pasted in) moves no stage",
    trials=1,
)
def test_a_developer_editing_the_bots_stage_comment_moves_no_stage(e2e: Any) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    m = pm.post(f"{REPO}/milestones", json={"title": "v6.2.0"}).json()["number"]
    create_ref(dev, "refs/heads/release/6.2")
    create_ref(dev, "refs/tags/v6.2.0-rc.1")
    e2e.settle()
    tracking = tracking_issue(pm, m)
    number, honest = tracking["number"], tracking["body"]
    assert "| UAT | ▶️ current |" in honest
    record = record_text(pm, honest)
    posted = stage_comments(pm, number)
    (uat,) = [
        c
        for c in comments(pm, number)
        if c["user"]["login"] == BOT and f"release-bot:stage:{m}:uat" in c["body"]
    ]
    # dev ticks every box of the UAT checklist, and pastes the old hidden state and a sign-off
    forged = uat["body"].replace("- [ ]", "- [x]") + "\n/uat passed\n" + FORGED_UAT + "\n"
    r = dev.patch(f"{REPO}/issues/comments/{uat['id']}", json={"body": forged})
    assert r.status_code == 200, r.text
    pm.patch(f"{REPO}/milestones/{m}", json={"description": "touch"})
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert (
        "| UAT | ▶️ current |" in body and "| UAT | not given |" in body and "| Prepare | ⏳ pending |" in body
    ), body
    assert stage_comments(pm, number) == posted  # no Prepare checklist
    # The ticks show as progress (GitHub cannot say who ticked); the record's stages are as they were.
    assert record_stages(record_text(pm, body)) == record_stages(record)


def record_stages(text: str) -> Any:
    import json

    return json.loads(text[text.index("{") : text.rindex("}") + 1])["stages"]
