"""A release's life cycle end to end: the sandbox, a real `release-bot serve`, users acting over REST."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"


def tracking_issue(api: httpx.Client, milestone: int) -> dict[str, Any]:
    issues = api.get(
        f"{REPO}/issues", params={"milestone": milestone, "state": "all", "per_page": 100}
    ).json()
    found = [
        i
        for i in issues
        if i["user"]["login"] == BOT and f"release-bot:tracking:{milestone} " in i["body"] + " "
    ]
    assert len(found) == 1, [i["title"] for i in issues]
    return found[0]


def comments(api: httpx.Client, number: int) -> list[dict[str, Any]]:
    return api.get(f"{REPO}/issues/{number}/comments", params={"per_page": 100}).json()


def stage_comments(api: httpx.Client, number: int) -> list[str]:
    out = []
    for c in comments(api, number):
        m = re.search(r"release-bot:stage:\d+:(\w+)", c["body"] or "")
        if m and c["user"]["login"] == BOT:
            out.append(m.group(1))
    return out


def main_sha(api: httpx.Client) -> str:
    return api.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"]


def create_ref(api: httpx.Client, ref: str) -> None:
    r = api.post(f"{REPO}/git/refs", json={"ref": ref, "sha": main_sha(api)})
    assert r.status_code == 201, r.text


@pytest.mark.e2e
def test_release_life_cycle(e2e: Any) -> None:
    pm, dev, qa, releaser = e2e.api("pm"), e2e.api("dev"), e2e.api("qa"), e2e.api("releaser")
    m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0", "due_on": "2030-12-01T00:00:00Z"}).json()[
        "number"
    ]
    e2e.settle()
    issue = tracking_issue(pm, m)
    number = issue["number"]
    assert issue["title"] == "Release v1.4.0"
    assert [lbl["name"] for lbl in issue["labels"]] == ["release-tracking"]
    assert stage_comments(pm, number) == ["identify_needs", "plan"]

    create_ref(dev, "refs/heads/release/1.4")
    create_ref(dev, "refs/tags/v1.4.0-rc.1")
    e2e.settle()
    assert stage_comments(pm, number) == ["identify_needs", "plan", "build_test", "uat"]
    body = tracking_issue(pm, m)["body"]
    # Agile: the release moved on; the unticked items of the stages it left are listed as outstanding.
    outstanding = body.split("### Outstanding checklist items", 1)[1].split("###", 1)[0]
    assert "- Identify Needs: " in outstanding and "- Plan Release: " in outstanding
    assert "- UAT: " not in outstanding  # the current stage is not outstanding yet
    links = body.split("### Links", 1)[1].split("\n\n", 2)[1]
    milestone_url = pm.get(f"{REPO}/milestones/{m}").json()["html_url"]
    assert f"- [Milestone]({milestone_url})" in links
    assert "- [Release branch](" in links and links.count("/tree/release/1.4)") == 1, links

    refused = dev.post(f"{REPO}/issues/{number}/comments", json={"body": "/stage deploy"}).json()["id"]
    qa.post(f"{REPO}/issues/{number}/comments", json={"body": "/uat failed crash on login"})
    e2e.settle()
    replies = [c for c in comments(pm, number) if f"release-bot:reply:{refused}" in c["body"]]
    assert len(replies) == 1 and "release managers" in replies[0]["body"]
    body = tracking_issue(pm, m)["body"]
    assert "| UAT | ▶️ current |" in body and "failed on rc.1" in body
    assert "| Prepare | ⏳ pending |" in body
    create_ref(dev, "refs/tags/v1.4.0-rc.2")
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    # The new candidate is under UAT; the failed verdict was about rc.1 and does not carry over.
    assert "| UAT | ▶️ current |" in body and "`v1.4.0-rc.1`, `v1.4.0-rc.2`" in body
    ok = qa.post(f"{REPO}/issues/{number}/comments", json={"body": "/uat passed"}).json()["id"]
    e2e.settle()
    reactions = pm.get(f"{REPO}/issues/comments/{ok}/reactions").json()
    assert [(r["content"], r["user"]["login"]) for r in reactions] == [("+1", BOT)]
    body = tracking_issue(pm, m)["body"]
    assert "| Prepare | ▶️ current |" in body and "passed on rc.2" in body
    # Items that are facts were ticked by the bot, with who and when: the sign-off, the branch, the candidate.
    assert next(line for line in body.splitlines() if line.startswith("| UAT | ✅ done |")).endswith(" 1/4 |")
    assert next(line for line in body.splitlines() if line.startswith("| Build & Test | ✅ done |")).endswith(
        " 2/5 |"
    )
    uat_comment = next(c for c in comments(pm, number) if ":uat -->" in c["body"])
    assert (
        "- [x] Sign-off given with `/uat passed` on this issue — ✔ by @\u200bqa, on " in uat_comment["body"]
    )

    create_ref(dev, "refs/tags/v1.4.0")
    e2e.settle()
    release = pm.get(f"{REPO}/releases/tags/v1.4.0").json()
    assert f"- [GitHub Release]({release['html_url']})" in tracking_issue(pm, m)["body"]
    deploy = [c for c in comments(pm, number) if ":deploy -->" in c["body"]]
    assert len(deploy) == 1
    r = releaser.patch(
        f"{REPO}/issues/comments/{deploy[0]['id']}",
        json={"body": deploy[0]["body"].replace("- [ ]", "- [x]")},
    )
    assert r.status_code == 200, r.text
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    # Progress from the ticked boxes, but no stage moves on a tick: GitHub does not say who ticked.
    assert "| Deploy | ▶️ current |" in body and " 4/4 |" in body
    releaser.post(f"{REPO}/issues/{number}/comments", json={"body": "/stage monitor"})
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "| Monitor | ▶️ current |" in body
    assert "| Deploy | ✅ done |" in body and " 4/4 |" in body

    # Mid-flight (answered commands, a UAT verdict, ticked boxes): wipe the bot's store and re-sync.
    assert_wipe_and_reconcile_change_nothing(e2e, tracking_number=number)

    nxt = pm.post(f"{REPO}/milestones", json={"title": "v1.5.0"}).json()["number"]
    left = dev.post(f"{REPO}/issues", json={"title": "Unfinished", "milestone": m}).json()["number"]
    e2e.settle()
    pm.patch(f"{REPO}/milestones/{m}", json={"state": "closed"})
    e2e.settle()
    assert pm.get(f"{REPO}/issues/{left}").json()["milestone"]["number"] == nxt
    retro = [c for c in comments(pm, number) if "release-bot:retro:" in c["body"]]
    assert len(retro) == 1 and f"#{left}" in retro[0]["body"]
    assert stage_comments(pm, number) == [
        "identify_needs",
        "plan",
        "build_test",
        "uat",
        "prepare",
        "deploy",
        "monitor",
        "future_planning",
    ]
    tracking = tracking_issue(pm, m)
    # Never carried over, counted or marked released; open until Future Planning is fully ticked.
    assert tracking["milestone"]["number"] == m and tracking["state"] == "open"
    # The only issue left in the milestone is the (open) tracking issue: the scope counts none.
    assert "- Issues: 0 open, 0 closed" in tracking["body"], tracking["body"]
    assert "released" not in {lbl["name"] for lbl in tracking["labels"]}
    assert not [c for c in comments(pm, number) if "release-bot:released:" in c["body"]]
    fp = [c for c in comments(pm, number) if ":future_planning -->" in c["body"]]
    assert len(fp) == 1 and fp[0]["body"].count("- [ ]") >= 2
    partly = fp[0]["body"].replace("- [ ]", "- [x]", 1)
    assert releaser.patch(f"{REPO}/issues/comments/{fp[0]['id']}", json={"body": partly}).status_code == 200
    e2e.settle()
    assert pm.get(f"{REPO}/issues/{number}").json()["state"] == "open"
    total = fp[0]["body"].count("- [ ]")
    assert "| Future Planning | ▶️ current | " in tracking_issue(pm, m)["body"]
    assert f" 1/{total} |" in tracking_issue(pm, m)["body"]
    fully = fp[0]["body"].replace("- [ ]", "- [x]")
    assert releaser.patch(f"{REPO}/issues/comments/{fp[0]['id']}", json={"body": fully}).status_code == 200
    e2e.settle()
    closed = pm.get(f"{REPO}/issues/{number}").json()
    assert closed["state"] == "closed" and closed["state_reason"] == "completed"
    # Closed, it is still not one of the release's delivered items.
    assert "released" not in {lbl["name"] for lbl in closed["labels"]}
    assert not [c for c in comments(pm, number) if "release-bot:released:" in c["body"]]
    notes = pm.get(f"{REPO}/releases/tags/v1.4.0").json()["body"]
    assert f"#{number}" not in notes

    # A milestone created while the bot is stopped is adopted by `release-bot reconcile`.
    e2e.bot.kill()
    later = pm.post(f"{REPO}/milestones", json={"title": "v2.0.0"}).json()["number"]
    e2e.bot.start()
    reconcile_now(e2e, enqueue_only=True)  # onto the running bot's queue: its workers adopt the milestone
    e2e.settle()
    assert stage_comments(pm, tracking_issue(pm, later)["number"]) == ["identify_needs"]

    # Wipe the bot's store and re-sync from GitHub: nothing changes.
    assert_wipe_and_reconcile_change_nothing(e2e, tracking_number=tracking_issue(pm, later)["number"])


def assert_wipe_and_reconcile_change_nothing(e2e: Any, tracking_number: int) -> None:
    """Kill the bot, delete its store (queue, delivery ids, caches, last valid config), start it,
    run `release-bot reconcile --now`: the re-sync reads the release back and writes nothing."""
    e2e.settle()
    seq = e2e.requests_since(0)[-1]["seq"]
    e2e.bot.kill()
    for suffix in ("", "-wal", "-shm"):
        (e2e.bot.workdir / f"queue.db{suffix}").unlink(missing_ok=True)
    e2e.bot.start()
    reconcile_now(e2e)
    e2e.settle()
    calls = [r for r in e2e.requests_since(seq) if r["actor"] == BOT]
    # The re-sync did reconcile the release (it read the tracking issue's comments) ...
    assert any(r["path"].endswith(f"/issues/{tracking_number}/comments") for r in calls), [
        r["path"] for r in calls
    ]
    # ... and wrote nothing.
    writes = [r for r in calls if r["method"] != "GET" and r["status"] < 400]
    assert writes == [], writes


def reconcile_now(e2e: Any, enqueue_only: bool = False) -> None:
    args = ["reconcile"] if enqueue_only else ["reconcile", "--now"]
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args],
        cwd=e2e.bot.workdir,
        # The deployment's whole environment, as the bot's own process has it (HOST and PORT too:
        # the release calendar's link on the tracking issue is built on the bot's address).
        env={**os.environ, **e2e.bot.env, "PORT": str(e2e.bot.port), "HOST": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ("enqueued 1 repository job" if enqueue_only else "ran ") in out.stdout, out.stdout + out.stderr
    if not enqueue_only:
        assert out.returncode == 0 and " 0 failure(s)" in out.stdout, out.stdout + out.stderr
    for line in out.stderr.splitlines():
        assert '"level":"error"' not in line, line


@pytest.mark.e2e
def test_rename_duplicate_and_delete(e2e: Any) -> None:
    pm = e2e.api("pm")
    m = pm.post(f"{REPO}/milestones", json={"title": "v3.0.0"}).json()["number"]
    e2e.settle()
    number = tracking_issue(pm, m)["number"]
    pm.patch(f"{REPO}/milestones/{m}", json={"title": "v3.1.0"})
    e2e.settle()
    assert pm.get(f"{REPO}/issues/{number}").json()["title"] == "Release v3.1.0"
    dup = pm.post(f"{REPO}/milestones", json={"title": "3.1.0"}).json()["number"]
    e2e.settle()
    for milestone in (m, dup):
        assert "Several open milestones name version 3.1.0" in tracking_issue(pm, milestone)["body"]
    assert pm.delete(f"{REPO}/milestones/{m}").status_code == 204
    e2e.settle()
    closed = pm.get(f"{REPO}/issues/{number}").json()
    assert closed["state"] == "closed"
    notes = [c for c in comments(pm, number) if f"release-bot:closed:{m}" in c["body"]]
    assert len(notes) == 1


@pytest.mark.e2e
def test_production_deployment_starts_monitor(e2e: Any) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    m = pm.post(f"{REPO}/milestones", json={"title": "v5.0.0"}).json()["number"]
    create_ref(dev, "refs/tags/v5.0.0")
    e2e.settle()
    assert "| Deploy | ▶️ current |" in tracking_issue(pm, m)["body"]
    deployment = dev.post(
        f"{REPO}/deployments", json={"ref": "v5.0.0", "environment": "production", "required_contexts": []}
    )
    assert deployment.status_code == 201, deployment.text
    status = dev.post(f"{REPO}/deployments/{deployment.json()['id']}/statuses", json={"state": "success"})
    assert status.status_code == 201, status.text
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "| Monitor | ▶️ current |" in body and "| Deploy | ✅ done |" in body
