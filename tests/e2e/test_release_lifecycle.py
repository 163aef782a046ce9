"""A release's life cycle end to end: the sandbox, a real `release-bot serve`, users acting over REST."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"


def tracking_issue(api: httpx.Client, milestone: int) -> dict[str, Any]:
    issues = api.get(f"{REPO}/issues", params={"milestone": milestone, "state": "all", "per_page": 100}).json()
    found = [i for i in issues if i["user"]["login"] == BOT and f"release-bot:tracking:{milestone} " in i["body"] + " "]
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
    m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0", "due_on": "2030-12-01T00:00:00Z"}).json()["number"]
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

    refused = dev.post(f"{REPO}/issues/{number}/comments", json={"body": "/stage deploy"}).json()["id"]
    qa.post(f"{REPO}/issues/{number}/comments", json={"body": "/uat failed crash on login"})
    e2e.settle()
    replies = [c for c in comments(pm, number) if f"release-bot:reply:{refused}" in c["body"]]
    assert len(replies) == 1 and "release managers" in replies[0]["body"]
    create_ref(dev, "refs/tags/v1.4.0-rc.2")
    e2e.settle()
    ok = qa.post(f"{REPO}/issues/{number}/comments", json={"body": "/uat passed"}).json()["id"]
    e2e.settle()
    reactions = pm.get(f"{REPO}/issues/comments/{ok}/reactions").json()
    assert [(r["content"], r["user"]["login"]) for r in reactions] == [("+1", BOT)]
    body = tracking_issue(pm, m)["body"]
    assert "| Prepare | ▶️ current |" in body and "passed on rc.2" in body

    create_ref(dev, "refs/tags/v1.4.0")
    e2e.settle()
    deploy = [c for c in comments(pm, number) if ":deploy -->" in c["body"]]
    assert len(deploy) == 1
    r = releaser.patch(f"{REPO}/issues/comments/{deploy[0]['id']}",
                       json={"body": deploy[0]["body"].replace("- [ ]", "- [x]")})
    assert r.status_code == 200, r.text
    e2e.settle()
    assert "| Monitor | ▶️ current |" in tracking_issue(pm, m)["body"]

    nxt = pm.post(f"{REPO}/milestones", json={"title": "v1.5.0"}).json()["number"]
    left = dev.post(f"{REPO}/issues", json={"title": "Unfinished", "milestone": m}).json()["number"]
    e2e.settle()
    pm.patch(f"{REPO}/milestones/{m}", json={"state": "closed"})
    e2e.settle()
    assert pm.get(f"{REPO}/issues/{left}").json()["milestone"]["number"] == nxt
    retro = [c for c in comments(pm, number) if "release-bot:retro:" in c["body"]]
    assert len(retro) == 1 and f"#{left}" in retro[0]["body"]
    assert stage_comments(pm, number) == ["identify_needs", "plan", "build_test", "uat", "prepare", "deploy",
                                          "monitor", "future_planning"]

    # Wipe the bot's store and re-sync from GitHub: nothing changes.
    seq = e2e.requests_since(0)[-1]["seq"]
    e2e.bot.kill()
    (e2e.bot.workdir / "queue.db").unlink()
    e2e.bot.start()
    out = e2e.bot.jobs()  # noqa: F841 - keeps the process helper warm
    env_run = __import__("subprocess").run(
        [__import__("sys").executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "reconcile", "--now"],
        cwd=e2e.bot.workdir, env={**__import__("os").environ, **e2e.bot.env}, capture_output=True, text=True, timeout=120,
    )
    assert env_run.returncode == 0, env_run.stdout + env_run.stderr
    e2e.settle()
    writes = [r for r in e2e.requests_since(seq) if r["method"] != "GET" and r["actor"] == BOT]
    assert writes == [], writes
