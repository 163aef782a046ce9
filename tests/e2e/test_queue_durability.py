"""A real `release-bot serve` killed with SIGKILL mid-job loses nothing; SIGTERM drains."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from harness import SECRET

pytestmark = pytest.mark.e2e


def signed_milestone(number: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "action": "edited",
            "milestone": {"number": number},
            "repository": {"id": 42, "full_name": "acme/rocket"},
            "installation": {"id": 1},
        }
    ).encode()
    headers = {
        "X-GitHub-Event": "milestone",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }
    return body, headers


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def runner_env(effects: Path, sleep: float) -> dict[str, str]:
    return {
        "APP_ID": "1",
        "PRIVATE_KEY_PATH": "/nonexistent-not-used-by-the-test-runner.pem",
        "RELEASE_BOT_TEST_RUNNER": "bot_test_runners:slow_effect",
        "RB_TEST_EFFECTS": str(effects),
        "RB_TEST_SLEEP": str(sleep),
        "LEASE_SECONDS": "2",
        "WORKER_THREADS": "2",
    }


def test_sigkill_mid_job_then_restart_completes_the_job_exactly_once(bot_factory, tmp_path):
    effects = tmp_path / "effects.txt"
    bot = bot_factory(runner_env(effects, sleep=3.0))
    body, headers = signed_milestone(3)
    response = httpx.post(bot.webhook_url, content=body, headers=headers, timeout=10)
    assert response.status_code == 202 and response.json()["jobs"] == ["release:42@3"]
    wait_for(lambda: any(line.startswith("start release:42@3") for line in lines(effects)))

    bot.kill()  # SIGKILL mid-job: no drain, no lease release
    assert not any(line.startswith("done") for line in lines(effects))

    bot.start()
    assert bot.healthz()["queue"]["pending"] + bot.healthz()["queue"]["running"] == 1  # still there
    wait_for(lambda: any(line.startswith("done release:42@3") for line in lines(effects)), timeout=30)
    wait_for(lambda: bot.healthz()["queue"] == {"pending": 0, "running": 0, "failed": 0})
    time.sleep(2.5)  # a lease length more: nothing runs it a third time
    log = lines(effects)
    assert [line.split()[0] for line in log] == ["start", "start", "done"], log
    assert len({line.split()[2] for line in log}) == 2  # the second run was a different process
    # The replayed delivery is still recognised after the restart.
    again = httpx.post(bot.webhook_url, content=body, headers=headers, timeout=10)
    assert again.status_code == 200 and "duplicate" in again.json()


def test_sigterm_lets_the_running_job_finish(bot_factory, tmp_path):
    effects = tmp_path / "effects.txt"
    bot = bot_factory(runner_env(effects, sleep=1.5))
    body, headers = signed_milestone(4)
    assert httpx.post(bot.webhook_url, content=body, headers=headers, timeout=10).status_code == 202
    wait_for(lambda: any(line.startswith("start") for line in lines(effects)))
    assert bot.stop() == 0
    assert [line.split()[0] for line in lines(effects)] == ["start", "done"]
    assert "workers stopped" in bot.logs()
