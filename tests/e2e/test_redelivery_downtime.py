"""Issue 16 item 3: a bot that was down while people worked heals itself through GitHub's own
recovery — no one runs a command.

The same story is played twice, on two sandboxes, each with its real `release-bot serve`:
- "never down": the bot is up throughout;
- "down ten minutes": the bot is stopped (SIGTERM) while people open the release branch, open a pull
  request into it, tag a candidate, approve the pull request, sign its UAT off and add a scope issue;
  the sandbox's clock moves ten minutes on, so every one of those webhooks failed (connection
  refused) as on GitHub. Then the bot starts again. At start-up it lists the App's failed
  deliveries (`GET /app/hook/deliveries`) and asks GitHub to redeliver them
  (`POST /app/hook/deliveries/{id}/attempts`), once per guid.
Afterwards both worlds hold the same artifacts (tracking issue, stage comments, answers, the gate's
check run, labels), compared with ids, shas and times normalised away.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import E2E, open_e2e

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"

pytestmark = pytest.mark.e2e


@contextmanager
def world(tmp_path: Path, bot_factory: Any, name: str) -> Iterator[E2E]:
    """A sandbox and its bot, as the ``e2e`` fixture builds them (a second one for the comparison)."""
    with open_e2e(tmp_path, bot_factory, name=name) as built:
        yield built


@dataclass
class Story:
    milestone: int = 0
    tracking: int = 0
    pull: int = 0
    uat_comment: int = 0


def _ok(resp: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


def _main_sha(api: httpx.Client) -> str:
    return api.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"]


def _tracking_number(api: httpx.Client, milestone: int) -> int:
    issues = api.get(
        f"{REPO}/issues", params={"milestone": milestone, "state": "all", "per_page": 100}
    ).json()
    found = [
        i["number"]
        for i in issues
        if i["user"]["login"] == BOT and "release-bot:tracking:" in (i["body"] or "")
    ]
    assert len(found) == 1, issues
    return found[0]


def before_outage(e2e: E2E, story: Story) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    story.milestone = _ok(
        pm.post(f"{REPO}/milestones", json={"title": "v5.0.0", "due_on": "2030-12-01T00:00:00Z"})
    )["number"]
    _ok(dev.post(f"{REPO}/issues", json={"title": "Scope item", "milestone": story.milestone}))
    e2e.settle()
    story.tracking = _tracking_number(pm, story.milestone)


def during_outage(e2e: E2E, story: Story) -> None:
    """What people do while the bot may be down: only sandbox calls, no bot involved. The pull
    request is opened, signed off and approved in the outage: GitHub's times (its opening, the head
    branch's push in the repository activity) prove the sign-offs came after its head commit."""
    pm, dev, qa, releaser = e2e.api("pm"), e2e.api("dev"), e2e.api("qa"), e2e.api("releaser")
    sha = _main_sha(dev)
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/heads/release/5.0", "sha": sha}))
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/heads/fix-login", "sha": sha}))
    content = base64.b64encode(b"fixed\n").decode()
    _ok(
        dev.put(
            f"{REPO}/contents/fix.txt",
            json={"message": "fix login", "content": content, "branch": "fix-login"},
        )
    )
    story.pull = _ok(
        dev.post(f"{REPO}/pulls", json={"title": "Fix login", "head": "fix-login", "base": "release/5.0"})
    )["number"]
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/tags/v5.0.0-rc.1", "sha": _main_sha(dev)}))
    _ok(pm.patch(f"{REPO}/issues/{story.pull}", json={"milestone": story.milestone}), 200)
    _ok(dev.post(f"{REPO}/issues/{story.pull}/labels", json={"labels": ["bug"]}), 200)
    _ok(qa.post(f"{REPO}/issues/{story.pull}/comments", json={"body": "/uat passed"}))
    _ok(releaser.post(f"{REPO}/issues/{story.pull}/comments", json={"body": "/approve"}))
    _ok(pm.post(f"{REPO}/issues", json={"title": "Late scope item", "milestone": story.milestone}))
    _ok(pm.patch(f"{REPO}/milestones/{story.milestone}", json={"description": "Login fixes"}), 200)
    e2e.sandbox.state.advance_clock(600)  # ten minutes pass


def after_outage(e2e: E2E, story: Story) -> None:
    """The UAT sign-off of the candidate, once the bot has seen it (in both worlds, bot up)."""
    story.uat_comment = _ok(
        e2e.api("qa").post(f"{REPO}/issues/{story.tracking}/comments", json={"body": "/uat passed"})
    )["id"]
    e2e.settle()


_NOISE = [
    # each deployment's own address and session secret: its release calendar's link differs
    (re.compile(r"https?://[^/\s)]+/calendar/[^\s)]+\.ics\?token=[0-9a-f]+"), "<calendar>"),
    (re.compile(r"\b[0-9a-f]{40}\b"), "<sha>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?"), "<time>"),
    (re.compile(r"\b\d{4,}\b"), "<id>"),
]


def _norm_text(text: Any, shas: tuple[str, ...] = ()) -> str:
    out = str(text or "")
    for sha in shas:  # commits differ between the two sandboxes (their times do): so do short shas
        out = out.replace(sha, "<sha>").replace(sha[:7], "<sha>")
    for pattern, repl in _NOISE:
        out = pattern.sub(repl, out)
    return out


def artifacts(e2e: E2E, story: Story) -> dict[str, Any]:
    """Everything the bot owns or decided, normalised for ids, shas and times."""
    pm = e2e.api("pm")
    issue = pm.get(f"{REPO}/issues/{story.tracking}").json()
    comments = pm.get(f"{REPO}/issues/{story.tracking}/comments", params={"per_page": 100}).json()
    pull_comments = pm.get(f"{REPO}/issues/{story.pull}/comments", params={"per_page": 100}).json()
    pull = pm.get(f"{REPO}/pulls/{story.pull}").json()
    runs = pm.get(f"{REPO}/commits/{pull['head']['sha']}/check-runs").json()["check_runs"]
    reactions = (
        pm.get(f"{REPO}/issues/comments/{story.uat_comment}/reactions").json() if story.uat_comment else []
    )
    milestone_issues = pm.get(f"{REPO}/issues", params={"milestone": story.milestone, "state": "all"}).json()
    shas = (pull["head"]["sha"], _main_sha(pm))

    def _norm(text: Any) -> str:
        return _norm_text(text, shas)

    return {
        "tracking": (
            _norm(issue["title"]),
            _norm(issue["body"]),
            sorted(lbl["name"] for lbl in issue["labels"]),
            issue["state"],
        ),
        "tracking comments": sorted(_norm(c["body"]) for c in comments if c["user"]["login"] == BOT),
        "pull comments": sorted(_norm(c["body"]) for c in pull_comments if c["user"]["login"] == BOT),
        "pull labels": sorted(lbl["name"] for lbl in pull["labels"]),
        "check runs": sorted(
            (
                r["name"],
                r["status"],
                r["conclusion"],
                _norm(r["output"]["title"]),
                _norm(r["output"]["summary"]),
            )
            for r in runs
            if r["app"]["id"] == 1
        ),
        "uat reactions": sorted((r["content"], r["user"]["login"]) for r in reactions),
        "milestone issues": sorted(
            (i["title"], sorted(lbl["name"] for lbl in i["labels"])) for i in milestone_issues
        ),
    }


def _wait_healed(e2e: E2E, timeout: float = 60.0) -> list[str]:
    """Until every delivery that failed has a later OK attempt (GitHub's recovery done); the guids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        e2e.sandbox.wait_idle(10)
        with e2e.sandbox.state.lock:
            attempts = [(d.guid, d.status) for d in e2e.sandbox.state.deliveries]
        failed = {g for g, s in attempts if s != "OK"}
        healed = {g for g, s in attempts if s == "OK"}
        if failed and failed <= healed:
            return sorted(failed)
        time.sleep(0.1)
    raise AssertionError(f"failed deliveries not redelivered in {timeout}s:\n{e2e.bot.logs()[-3000:]}")


@pytest.mark.reliability(area="fault", case="bot down ten minutes while people work", trials=1)
def test_a_bot_down_ten_minutes_ends_as_one_that_never_was(tmp_path: Path, bot_factory: Any) -> None:
    with world(tmp_path, bot_factory, "up") as up, world(tmp_path, bot_factory, "down") as down:
        never_down, was_down = Story(), Story()
        before_outage(up, never_down)
        before_outage(down, was_down)

        during_outage(up, never_down)
        up.settle()
        after_outage(up, never_down)

        assert down.bot.stop() == 0
        during_outage(down, was_down)
        down.sandbox.wait_idle(10)
        with down.sandbox.state.lock:
            missed = [d for d in down.sandbox.state.deliveries if d.status != "OK"]
        assert len(missed) >= 8 and all(d.status_code == 0 for d in missed)  # connection refused
        assert artifacts(down, was_down) != artifacts(up, never_down)  # the outage left a gap

        down.bot.start()  # nobody runs a command: the bot's start-up scan asks for redelivery
        healed = _wait_healed(down)
        down.settle()
        assert len(healed) == len({d.guid for d in missed})
        after_outage(down, was_down)

        assert artifacts(down, was_down) == artifacts(up, never_down)
        # Once per guid: every missed delivery was redelivered exactly once.
        with down.sandbox.state.lock:
            redeliveries = [d.guid for d in down.sandbox.state.deliveries if d.redelivery]
        assert sorted(redeliveries) == healed
        assert "redelivery scan" in down.bot.logs()


@pytest.mark.reliability(
    area="fault", case="outage past GitHub's delivery records healed by RESYNC_INTERVAL", trials=1
)
def test_the_periodic_resync_heals_what_no_delivery_record_remembers(e2e: E2E) -> None:
    """Without the redelivery scan (as after an outage longer than GitHub keeps deliveries), the
    periodic resync alone brings the open release up to date: a release branch and a candidate
    made while the bot was down get their stage comments, with no command run."""
    pm, dev = e2e.api("pm"), e2e.api("dev")
    m = _ok(pm.post(f"{REPO}/milestones", json={"title": "v5.1.0", "due_on": "2030-12-01T00:00:00Z"}))[
        "number"
    ]
    e2e.settle()
    tracking = _tracking_number(pm, m)
    assert e2e.bot.stop() == 0
    sha = _main_sha(dev)
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/heads/release/5.1", "sha": sha}))
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/tags/v5.1.0-rc.1", "sha": sha}))
    e2e.sandbox.wait_idle(10)
    e2e.bot.env.update(REDELIVERY_INTERVAL="0", RESYNC_INTERVAL="2")
    e2e.bot.start()

    def stages() -> list[str]:
        comments = pm.get(f"{REPO}/issues/{tracking}/comments", params={"per_page": 100}).json()
        return [
            re.search(r"release-bot:stage:\d+:(\w+)", c["body"]).group(1)  # type: ignore[union-attr]
            for c in comments
            if c["user"]["login"] == BOT and "release-bot:stage:" in c["body"]
        ]

    deadline = time.monotonic() + 30
    while stages() != ["identify_needs", "plan", "build_test", "uat"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stages() == ["identify_needs", "plan", "build_test", "uat"]
    with e2e.sandbox.state.lock:
        assert not [d for d in e2e.sandbox.state.deliveries if d.redelivery]  # no redelivery did it
    time.sleep(2.5)  # a resync more: it finds nothing to change
    e2e.settle()
    assert stages() == ["identify_needs", "plan", "build_test", "uat"]
    assert '"msg":"resync"' in e2e.bot.logs()
