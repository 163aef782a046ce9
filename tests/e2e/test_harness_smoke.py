"""The harness itself: a sandbox event reaches the real bot, is accepted and worked off; settle() returns."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_a_milestone_created_in_the_sandbox_is_accepted_and_settles(e2e):
    with e2e.api("admin") as admin:
        response = admin.post("/repos/acme/rocket/milestones", json={"title": "v9.9.0"})
        assert response.status_code == 201, response.text
    e2e.settle()
    with e2e.sandbox.state.lock:
        milestone_deliveries = [d for d in e2e.sandbox.state.deliveries if d.event == "milestone"]
    assert milestone_deliveries and all(d.status_code == 202 for d in milestone_deliveries)
    assert e2e.bot.healthz()["queue"]["pending"] == 0
    lines = [json.loads(line) for line in e2e.bot.logs().splitlines() if line.startswith("{")]
    deliveries = [
        line for line in lines if line.get("msg") == "delivery" and line.get("event") == "milestone"
    ]
    assert deliveries and deliveries[0]["outcome"] == "accepted" and deliveries[0]["keys"]
    jobs = [line for line in lines if line.get("msg") == "job" and line.get("key", "").startswith("release:")]
    assert jobs, "the release job ran"
    assert {"key", "outcome", "duration_ms", "api_calls", "attempt"} <= set(jobs[0])


def test_sigterm_stops_the_bot_promptly_with_a_live_sandbox(e2e):
    import time

    with e2e.api("admin") as admin:
        assert admin.post("/repos/acme/rocket/milestones", json={"title": "v9.8.0"}).status_code == 201
    e2e.settle()
    started = time.monotonic()
    assert e2e.bot.stop() == 0
    assert time.monotonic() - started < 15  # drained, not killed at gunicorn's graceful timeout
    assert "SIGKILL" not in e2e.bot.logs()
