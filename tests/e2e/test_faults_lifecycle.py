"""Issue 16 item 2: a release's whole life cycle while GitHub fails in every way it does.

Faults are injected with `POST /_sandbox/faults` (seeded, so a run is reproducible): a tenth of all
GETs answered 502, a burst of 503s on edits, a comment created whose answer is lost behind a 502
(the bot must find it, not write it twice), secondary limits (403 and 429 with Retry-After),
an exhausted primary limit with its reset, 2-second latencies, and the installation token expired
in the middle of the run. Users drive the release through its stages meanwhile. The bot recovers
by itself: every stage comment, answer and reaction exists exactly once, the GitHub Release is
published once, and no job is left failed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

# The read-back helpers of the chaos life cycle: the same artifacts, counted the same way.
from test_release_lifecycle_chaos import BOT, REPO, _bot_markers, _ref, _say, _thumbs, _tracking

pytestmark = pytest.mark.e2e

FAULTS = [
    {"method": "GET", "path": ".", "status": 502, "probability": 0.1, "seed": 11, "times": -1},
    {
        "method": "POST",
        "path": r"^/repos/acme/rocket/issues/\d+/comments$",
        "status": 502,
        "applied": True,
        "times": 2,
        "after": 1,
    },
    {"method": "PATCH", "path": r"^/repos/acme/rocket/issues/\d+$", "status": 503, "times": 3, "after": 1},
    {"method": "POST", "path": r"/reactions$", "status": 403, "retry_after": 1, "times": 1},
    {"method": "GET", "path": r"/milestones", "status": 429, "retry_after": 1, "times": 2},
    {"method": "GET", "path": r"/releases", "rate_limit_exhausted": True, "retry_after": 2, "times": 1},
    {"method": "GET", "path": r"/comments$", "delay_ms": 2000, "times": 2, "after": 3},
]




@pytest.mark.reliability(
    area="fault",
    case="life cycle under 502/503 bursts, lost answers, secondary and "
    "primary limits, 2 s latency, token expiry",
    trials=1,
)
def test_the_life_cycle_completes_exactly_once_while_github_fails(e2e: Any) -> None:
    # Short backoff: the faults are many and the suite's time is short.
    e2e.bot.env.update(JOB_BACKOFF_BASE_SECONDS="0.2", JOB_BACKOFF_CAP_SECONDS="2")
    e2e.bot.restart()
    pm, dev, qa = e2e.api("pm"), e2e.api("dev"), e2e.api("qa")
    faults = f"{e2e.sandbox.base_url}/_sandbox/faults"
    for spec in FAULTS:  # the bot's requests fail (installation token and App JWT), not the people's
        r = httpx.post(faults, json={"actor": r"release-bot\[bot\]|app", **spec})
        assert r.status_code == 201, r.text
    try:
        m = pm.post(f"{REPO}/milestones", json={"title": "v7.0.0", "due_on": "2030-12-01T00:00:00Z"}).json()[
            "number"
        ]
        dev.post(f"{REPO}/issues", json={"title": "Scope item", "milestone": m})
        e2e.settle(timeout=90)
        number = _tracking(pm, m)["number"]
        _ref(dev, "refs/heads/release/7.0")
        _ref(dev, "refs/tags/v7.0.0-rc.1")
        helped = _say(pm, number, "/help")
        e2e.settle(timeout=90)
        # The installation token runs out in the middle of the run (GitHub's clock).
        expired_at = e2e.requests_since(0)[-1]["seq"]
        assert (
            httpx.post(f"{e2e.sandbox.base_url}/_sandbox/tokens", json={"expire": True}).json()["expired"]
            >= 1
        )
        passed = _say(qa, number, "/uat passed")
        e2e.settle(timeout=90)
        _ref(dev, "refs/tags/v7.0.0")
        e2e.settle(timeout=90)
        fired = httpx.get(faults, params={"all": 1}).json()
    finally:
        assert httpx.delete(faults).status_code == 204

    # Every kind of fault hit the bot's requests.
    assert all(f["hits"] > 0 for f in fired), [(f["path"], f["status"], f["hits"]) for f in fired]
    after = [(c["method"], c["path"], c["status"]) for c in e2e.requests_since(expired_at)]
    refused = next(i for i, c in enumerate(after) if c[2] == 401)  # the expired token was refused
    assert ("POST", "/app/installations/1/access_tokens", 201) in after[refused:]  # and replaced
    markers = _bot_markers(pm, number)
    stages = {k: v for k, v in markers.items() if k.startswith("stage:")}
    assert stages == {
        f"stage:{s}": 1 for s in ["identify_needs", "plan", "build_test", "uat", "prepare", "deploy"]
    }
    assert {k: v for k, v in markers.items() if k.startswith("reply:")} == {f"reply:{helped}": 1}
    assert _thumbs(pm, passed) == [BOT]
    body = _tracking(pm, m)["body"]
    assert "| Deploy | ▶️ current |" in body and "passed on rc.1" in body
    releases = [
        r for r in pm.get(f"{REPO}/releases", params={"per_page": 100}).json() if r["tag_name"] == "v7.0.0"
    ]
    assert len(releases) == 1 and releases[0]["draft"] is False
    assert len([i for i in pm.get(f"{REPO}/issues", params={"state": "all", "creator": BOT}).json()]) == 1
    assert "failed=0" in e2e.bot.jobs()
