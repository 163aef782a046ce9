"""Issue 16 item 4: `release-bot serve` SIGKILLed in the middle of a burst of 500 events.

test_queue_durability.py kills the bot in the middle of one job. Here the kill lands while
webhooks pour in and jobs run:

- with the real bot on the sandbox, 500 events (240 issues opened into a milestone, each also
  `milestoned`, and 20 of them closed) arrive while the bot is killed and started again. What it
  had accepted is in its queue; what arrived while it was down failed, as on GitHub, and its own
  redelivery scan asks for it. In the end every delivery was accepted once, the tracking issue
  counts every issue, and nothing the bot writes exists twice;
- with a job runner that records its effect as a reconciler does (look for the marker, write only
  if absent), 500 deliveries for 500 keys are posted straight at the bot and it is killed
  mid-burst: every delivery answered 202 has its effect applied after the restart, exactly once,
  and a redelivery of an accepted one is a duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import SECRET

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"

pytestmark = pytest.mark.e2e


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _accepted(e2e: Any) -> int:
    with e2e.sandbox.state.lock:
        return sum(1 for d in e2e.sandbox.state.deliveries if d.status == "OK")


def _failed(e2e: Any) -> int:
    with e2e.sandbox.state.lock:
        return sum(1 for d in e2e.sandbox.state.deliveries if d.done and d.status != "OK")


def _scope_line(body: str) -> str:
    return next(line for line in body.splitlines() if line.startswith("- Issues: "))


@pytest.mark.reliability(area="crash", case="SIGKILL in a burst of 500 events (real bot)", trials=1)
def test_sigkill_in_a_burst_of_500_events_loses_nothing_and_duplicates_nothing(e2e: Any) -> None:
    pm = e2e.api("pm")
    m = pm.post(f"{REPO}/milestones", json={"title": "v6.0.0", "due_on": "2030-12-01T00:00:00Z"}).json()[
        "number"
    ]
    e2e.settle()
    issues = pm.get(f"{REPO}/issues", params={"milestone": m, "state": "all"}).json()
    tracking = next(i for i in issues if i["user"]["login"] == BOT)
    before = _scope_line(tracking["body"])
    opened_before = int(re.search(r"(\d+) open", before).group(1))  # type: ignore[union-attr]
    deliveries_before = e2e.deliveries_count()

    created: list[int] = []

    def burst() -> None:
        with e2e.api("dev") as api:
            for n in range(240):
                r = api.post(f"{REPO}/issues", json={"title": f"Burst item {n}", "milestone": m})
                assert r.status_code == 201, r.text
                created.append(r.json()["number"])
            for number in created[:20]:
                assert api.patch(f"{REPO}/issues/{number}", json={"state": "closed"}).status_code == 200

    sender = threading.Thread(target=burst)
    sender.start()
    try:
        _wait(lambda: _accepted(e2e) >= deliveries_before + 120, 60, "120 deliveries accepted")
        e2e.bot.kill()  # SIGKILL: jobs mid-run, deliveries mid-answer
        # Scheduled scans as well as the start-up one: deliveries fail until the restart is up.
        e2e.bot.env["REDELIVERY_INTERVAL"] = "1"
        _wait(lambda: _failed(e2e) >= 40, 60, "deliveries failing while the bot is down")
        e2e.bot.start()
    finally:
        sender.join(120)
    assert len(created) == 240
    e2e.sandbox.wait_idle(30)
    with e2e.sandbox.state.lock:
        burst_deliveries = e2e.sandbox.state.deliveries[deliveries_before:]
        originals = [d for d in burst_deliveries if not d.redelivery]
    failed = {d.guid for d in originals if d.status != "OK"}
    assert len([d for d in originals if d.repository_id is not None]) >= 500
    assert failed, "the kill failed no delivery"

    def healed() -> bool:
        with e2e.sandbox.state.lock:
            ok = {d.guid for d in e2e.sandbox.state.deliveries if d.status == "OK"}
        return {d.guid for d in originals} <= ok

    _wait(healed, 90, "every delivery of the burst accepted (redelivered)")
    e2e.settle(timeout=120)

    body = pm.get(f"{REPO}/issues/{tracking['number']}").json()["body"]
    assert _scope_line(body) == f"- Issues: {opened_before + 220} open, 20 closed"
    bot_issues = [
        i for i in pm.get(f"{REPO}/issues", params={"state": "all", "per_page": 100, "creator": BOT}).json()
    ]
    assert [i["number"] for i in bot_issues] == [tracking["number"]]  # one tracking issue
    comments = pm.get(f"{REPO}/issues/{tracking['number']}/comments", params={"per_page": 100}).json()
    markers = [
        re.search(r"release-bot:stage:\d+:(\w+)", c["body"]).group(1)  # type: ignore[union-attr]
        for c in comments
        if c["user"]["login"] == BOT
    ]
    assert sorted(markers) == sorted(set(markers)) == ["identify_needs", "plan"]
    # Every guid of the burst accepted exactly once by the bot (a redelivery of an accepted one
    # would be answered "duplicate", not 202).
    with e2e.sandbox.state.lock:
        answers = [d for d in e2e.sandbox.state.deliveries[deliveries_before:] if d.status == "OK"]
    accepted = [d.guid for d in answers if '"accepted"' in d.response_body]
    assert len(accepted) == len(set(accepted)) >= 500


# --------------------------------------------------------------------------- 500 keys, posted directly


def _delivery(number: int) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(
        {
            "action": "edited",
            "milestone": {"number": number},
            "repository": {"id": 42, "full_name": "acme/rocket"},
            "installation": {"id": 1},
        }
    ).encode()
    guid = str(uuid.uuid4())
    return (
        guid,
        body,
        {
            "X-GitHub-Event": "milestone",
            "X-GitHub-Delivery": guid,
            "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json",
        },
    )


@pytest.mark.reliability(area="crash", case="SIGKILL in a burst of 500 deliveries (500 keys)", trials=1)
def test_every_accepted_delivery_of_a_killed_burst_is_applied_exactly_once(
    bot_factory: Any, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.txt"
    env = {
        "APP_ID": "1",
        "PRIVATE_KEY_PATH": "/nonexistent-not-used-by-the-test-runner.pem",
        "RELEASE_BOT_TEST_RUNNER": "bot_test_runners:idempotent_effect",
        "RB_TEST_EFFECTS": str(effects),
        "RB_TEST_SLEEP": "0.02",
        "LEASE_SECONDS": "2",
        "WORKER_THREADS": "4",
    }
    bot = bot_factory(env)
    deliveries = [_delivery(n) for n in range(1, 501)]
    answers: dict[str, int] = {}
    with httpx.Client(timeout=5) as client:
        for i, (guid, body, headers) in enumerate(deliveries):
            if i == 250:
                bot.kill()
                bot.start()
            try:
                answers[guid] = client.post(bot.webhook_url, content=body, headers=headers).status_code
            except httpx.HTTPError:
                answers[guid] = 0  # no answer: GitHub records it failed
        accepted = {g for g, s in answers.items() if s == 202}
        assert len(accepted) >= 490, sorted(set(answers.values()))
        # GitHub's redelivery of what got no answer (bot.recovery does this for a real App).
        for guid, body, headers in deliveries:
            if guid not in accepted:
                assert client.post(bot.webhook_url, content=body, headers=headers).status_code == 202
        # A redelivery of an accepted one is recognised after the crash.
        guid, body, headers = deliveries[0]
        assert client.post(bot.webhook_url, content=body, headers=headers).status_code == 200

    _wait(
        lambda: bot.healthz()["queue"] == {"pending": 0, "running": 0, "failed": 0}, 90, "the queue drained"
    )
    lines = effects.read_text().splitlines()
    done = [line.split()[1] for line in lines if line.startswith("done ")]
    assert sorted(done) == sorted(f"release:42@{n}" for n in range(1, 501))  # every one, once
    started = [line.split()[1] for line in lines if line.startswith("start ")]
    assert len(started) >= len(done)  # jobs that ran again after the kill found their effect applied
