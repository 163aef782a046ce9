"""Carry-over when a milestone closes, end to end (issue 4 item 8): the sandbox, a real `release-bot serve`.

Open pull requests into the release branch go to the next open milestone of the same release line,
when there is one, else they need a home; other open issues and pull requests go to the next open
version milestone in semver order (not "Backlog", not a lower version, not the newest); every item is
listed in the retrospective, which is posted once and moves each item once.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from test_release_lifecycle import BOT, REPO, comments, create_ref, tracking_issue
from test_release_lifecycle_lines import commit_file


def open_pull(api: httpx.Client, branch: str, base: str, title: str, milestone: int) -> int:
    create_ref(api, f"refs/heads/{branch}")
    commit_file(api, branch, f"{branch.replace('/', '-')}.txt", f"{title}\n")
    r = api.post(f"{REPO}/pulls", json={"title": title, "head": branch, "base": base})
    assert r.status_code == 201, r.text
    number = int(r.json()["number"])
    assert api.patch(f"{REPO}/issues/{number}", json={"milestone": milestone}).status_code == 200
    return number


def milestone_of(api: httpx.Client, number: int) -> str | None:
    return (api.get(f"{REPO}/issues/{number}").json().get("milestone") or {}).get("title")


@pytest.mark.e2e
def test_carry_over_by_release_line_then_semver_order_and_needing_a_home(e2e: Any) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    ms = {
        t: pm.post(f"{REPO}/milestones", json={"title": t}).json()["number"]
        for t in ("v6.0.0", "Backlog", "v7.0.0", "v6.2.0", "v5.9.0")
    }
    m = ms["v6.0.0"]
    create_ref(dev, "refs/heads/release/6.0")
    issue = dev.post(f"{REPO}/issues", json={"title": "Unfinished feature", "milestone": m}).json()["number"]
    done = dev.post(f"{REPO}/issues", json={"title": "Finished", "milestone": m}).json()["number"]
    dev.patch(f"{REPO}/issues/{done}", json={"state": "closed"})
    to_main = open_pull(dev, "feature/search", "main", "Search", m)
    to_line = open_pull(dev, "fix/crash-6.0", "release/6.0", "Fix crash on 6.0", m)
    e2e.settle()
    number = tracking_issue(pm, m)["number"]

    # No other 6.0.x milestone is open: the pull request into release/6.0 has nowhere to go.
    pm.patch(f"{REPO}/milestones/{m}", json={"state": "closed"})
    e2e.settle()
    assert milestone_of(pm, issue) == "v6.2.0" and milestone_of(pm, to_main) == "v6.2.0"
    assert milestone_of(pm, to_line) == "v6.0.0" and milestone_of(pm, done) == "v6.0.0"
    assert milestone_of(pm, number) == "v6.0.0"  # the tracking issue is never carried over
    [retro] = [
        c["body"]
        for c in comments(pm, number)
        if c["user"]["login"] == BOT and "release-bot:retro:" in c["body"]
    ]
    carry = retro.split("### Carry-over", 1)[1]
    assert re.search(rf"- issue #{issue} Unfinished feature → v6\.2\.0", carry), carry
    assert re.search(rf"- pull request #{to_main} Search → v6\.2\.0", carry), carry
    assert re.search(rf"- pull request #{to_line} Fix crash on 6\.0 → \*\*needs a home\*\*", carry), carry
    assert f"#{done}" not in carry
    assert (
        "| Planned items | 4 |" in retro
        and "| Delivered items | 1 |" in retro
        and "| Slipped items | 3 |" in retro
    )

    # A patch milestone of the line opens later; reopening and closing v6.0.0 again neither posts a
    # second retrospective nor moves anything again (carry-over happens once).
    pm.post(f"{REPO}/milestones", json={"title": "v6.0.1"})
    pm.patch(f"{REPO}/milestones/{m}", json={"state": "open"})
    e2e.settle()
    seq = e2e.requests_since(0)[-1]["seq"]
    pm.patch(f"{REPO}/milestones/{m}", json={"state": "closed"})
    e2e.settle()
    moved = [
        c
        for c in e2e.requests_since(seq)
        if c["actor"] == BOT
        and c["method"] == "PATCH"
        and re.search(rf"/issues/({issue}|{to_main}|{to_line})$", c["path"])
    ]
    assert moved == []
    retros = [
        c for c in comments(pm, number) if c["user"]["login"] == BOT and "release-bot:retro:" in c["body"]
    ]
    assert len(retros) == 1
