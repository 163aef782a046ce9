"""Issue 4 item 3 under delivery chaos: stage comments, replies and 👍s exactly once.

The sandbox reorders and duplicates deliveries (`POST /_sandbox/deliveries/chaos {"shuffle": true,
"duplicate": 0.3}`) while users drive a release through its stages; then the bot's store is wiped and
every delivery of the repository is replayed (GitHub's redelivery: same `X-GitHub-Delivery`, which the
wiped store no longer remembers), all at once and in no order. The real `release-bot serve` process
and the sandbox talk over HTTP; the assertions read GitHub's state and the sandbox's request log.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx
import pytest

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"


def _tracking(api: httpx.Client, milestone: int) -> dict[str, Any]:
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


def _comments(api: httpx.Client, number: int) -> list[dict[str, Any]]:
    return api.get(f"{REPO}/issues/{number}/comments", params={"per_page": 100}).json()


def _bot_markers(api: httpx.Client, number: int) -> Counter[str]:
    """How many bot comments carry each marker (stage:<id>, reply:<comment id>)."""
    found: Counter[str] = Counter()
    for c in _comments(api, number):
        if c["user"]["login"] != BOT:
            continue
        for kind, value in re.findall(r"release-bot:(stage|reply):(?:\d+:)?(\w+)", c["body"] or ""):
            found[f"{kind}:{value}"] += 1
    return found


def _ref(api: httpx.Client, ref: str) -> None:
    sha = api.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    r = api.post(f"{REPO}/git/refs", json={"ref": ref, "sha": sha})
    assert r.status_code == 201, r.text


def _say(api: httpx.Client, number: int, body: str) -> int:
    r = api.post(f"{REPO}/issues/{number}/comments", json={"body": body})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _thumbs(api: httpx.Client, comment_id: int) -> list[str]:
    return [
        r["user"]["login"]
        for r in api.get(f"{REPO}/issues/comments/{comment_id}/reactions").json()
        if r["content"] == "+1"
    ]


@pytest.mark.e2e
def test_stage_comments_and_answers_exactly_once_under_chaos_and_replay(e2e: Any) -> None:
    pm, dev, qa, releaser = e2e.api("pm"), e2e.api("dev"), e2e.api("qa"), e2e.api("releaser")
    chaos = f"{e2e.sandbox.base_url}/_sandbox/deliveries/chaos"
    r = httpx.post(chaos, json={"shuffle": True, "duplicate": 0.3, "seed": 4})
    assert r.status_code == 200, r.text
    try:
        m = pm.post(f"{REPO}/milestones", json={"title": "v7.0.0", "due_on": "2030-12-01T00:00:00Z"}).json()[
            "number"
        ]
        dev.post(f"{REPO}/issues", json={"title": "Scope item", "milestone": m})
        e2e.settle()
        number = _tracking(pm, m)["number"]
        # Phases settle in between (a command is judged against the facts when it is read), but
        # within a phase every delivery is shuffled and some arrive twice.
        _ref(dev, "refs/heads/release/7.0")
        _ref(dev, "refs/tags/v7.0.0-rc.1")
        refused = _say(dev, number, "/stage deploy")
        helped = _say(pm, number, "/help")
        e2e.settle()
        failed = _say(qa, number, "/uat failed crash on login")
        e2e.settle()
        _ref(dev, "refs/tags/v7.0.0-rc.2")
        e2e.settle()
        passed = _say(qa, number, "/uat passed")
        e2e.settle()
        body = _tracking(pm, m)["body"]
        assert "| Prepare | ▶️ current |" in body and "passed on rc.2" in body, body
        _ref(dev, "refs/tags/v7.0.0")
        e2e.settle()
        deploy = [
            c for c in _comments(pm, number) if c["user"]["login"] == BOT and ":deploy -->" in c["body"]
        ]
        assert len(deploy) == 1
        r = releaser.patch(
            f"{REPO}/issues/comments/{deploy[0]['id']}",
            json={"body": deploy[0]["body"].replace("- [ ]", "- [x]")},
        )
        assert r.status_code == 200, r.text
        e2e.settle()
        moved = _say(releaser, number, "/stage monitor")  # ticks move no stage (issue 16): a command does
        e2e.settle()
        duplicated = [d for d in e2e.sandbox.state.deliveries if not d.redelivery]
        assert len(duplicated) > len({d.guid for d in duplicated}), "chaos duplicated no delivery"
    finally:
        assert httpx.delete(chaos).status_code == 204

    expected_stages = ["identify_needs", "plan", "build_test", "uat", "prepare", "deploy", "monitor"]

    def assert_exactly_once() -> None:
        markers = _bot_markers(pm, number)
        assert {k: v for k, v in markers.items() if k.startswith("stage:")} == {
            f"stage:{s}": 1 for s in expected_stages
        }
        # Refusals and /help are answered once; accepted commands get a 👍 and no reply.
        assert {k: v for k, v in markers.items() if k.startswith("reply:")} == {
            f"reply:{refused}": 1,
            f"reply:{helped}": 1,
        }
        assert _thumbs(pm, failed) == [BOT] and _thumbs(pm, passed) == [BOT] and _thumbs(pm, moved) == [BOT]
        assert _thumbs(pm, refused) == [] and _thumbs(pm, helped) == []
        body = _tracking(pm, m)["body"]
        assert "| Monitor | ▶️ current |" in body and "| Deploy | ✅ done |" in body and " 4/4 |" in body

    assert_exactly_once()

    # Replay: wipe the bot's store (delivery ids seen, caches) and redeliver every delivery of the
    # repository at once, each on its own lane (no order). Nothing may be written again.
    seq = e2e.requests_since(0)[-1]["seq"]
    e2e.bot.kill()
    for suffix in ("", "-wal", "-shm"):
        (e2e.bot.workdir / f"queue.db{suffix}").unlink(missing_ok=True)
    e2e.bot.start()
    from bot.sandbox.webhooks import emitter

    repo_id = e2e.sandbox.state.repo("acme", "rocket").id
    originals = [
        d.id for d in e2e.sandbox.state.deliveries if d.repository_id == repo_id and not d.redelivery
    ]
    assert len(originals) >= 20
    sender = emitter(e2e.sandbox.state)
    for delivery_id in originals:
        sender.redeliver(delivery_id)
    e2e.settle(timeout=120)
    calls = [c for c in e2e.requests_since(seq) if c["actor"] == BOT]
    assert any(c["path"].endswith(f"/issues/{number}/comments") for c in calls), (
        "the replay reconciled nothing"
    )
    writes = [c for c in calls if c["method"] != "GET" and c["status"] < 400]
    assert writes == [], writes
    assert_exactly_once()
