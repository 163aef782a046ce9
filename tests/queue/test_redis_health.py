"""/healthz and /metrics of a web process on the shared Redis queue report the whole queue:
depth per installation, the oldest waiting job's age, dead letters."""

from __future__ import annotations

import pytest
import redis

from bot.intake.app import create_app
from bot.jobs import JobSpec
from bot.queue.redis_queue import RedisQueue
from bot.settings import Settings


def _metric(text: str, line_start: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


def test_health_and_metrics_report_the_shared_backlog(redis_url):
    web = RedisQueue(redis_url)
    worker = RedisQueue(redis_url)  # another process, as far as the web process can tell
    worker.enqueue([JobSpec("repo:1", 11, "a/x"), JobSpec("repo:2", 11, "a/y"), JobSpec("repo:3", 12, "b/z")])
    dead = worker.claim(30)
    worker.fail_permanently(dead, "gone")
    client = create_app(Settings.from_env({"WEBHOOK_SECRET": "s", "QUEUE_URL": redis_url}), web).test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok"
    assert health["queue"] == {"pending": 2, "running": 0, "failed": 1}
    backlog = health["backlog"]
    assert backlog["backend"] == "redis" and backlog["dead_letters"] == 1
    assert sum(backlog["pending_by_installation"].values()) == 2 and set(
        backlog["pending_by_installation"]
    ) <= {"11", "12"}
    assert backlog["oldest_waiting_seconds"] >= 0
    text = client.get("/metrics").text
    assert _metric(text, "release_bot_queue_dead_letters ") == 1
    assert (
        sum(
            _metric(text, f'release_bot_queue_pending_by_installation{{installation="{i}"}}')
            for i in backlog["pending_by_installation"]
        )
        == 2
    )
    assert _metric(text, "release_bot_queue_oldest_waiting_seconds ") >= 0


@pytest.mark.reliability(
    area="fault", case="Redis unreachable: /healthz answers 503, not 5xx from a crash", trials=1
)
def test_healthz_is_503_when_redis_does_not_answer():
    unreachable = RedisQueue("redis://127.0.0.1:1/0", client=redis.Redis(port=1, socket_connect_timeout=0.5))
    client = create_app(Settings.from_env({"WEBHOOK_SECRET": "s"}), unreachable).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and "queue unavailable" in response.get_json()["error"]


@pytest.mark.reliability(
    area="fault", case="Redis unreachable at intake: 503, nothing half-recorded", trials=1
)
def test_a_delivery_is_answered_503_when_redis_does_not_answer():
    import hashlib
    import hmac
    import json

    unreachable = RedisQueue("redis://127.0.0.1:1/0", client=redis.Redis(port=1, socket_connect_timeout=0.5))
    client = create_app(Settings.from_env({"WEBHOOK_SECRET": "s"}), unreachable).test_client()
    body = json.dumps(
        {
            "action": "closed",
            "milestone": {"number": 1},
            "repository": {"id": 5, "full_name": "a/b"},
            "installation": {"id": 1},
        }
    ).encode()
    response = client.post(
        "/api/github/webhooks",
        data=body,
        headers={
            "X-GitHub-Event": "milestone",
            "X-GitHub-Delivery": "d-503",
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest(),
        },
    )
    assert response.status_code == 503 and "redeliver" in response.get_json()["error"]
