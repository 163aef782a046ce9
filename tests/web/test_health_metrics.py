"""/healthz and /metrics through the real app."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from bot import metrics
from bot.intake.app import create_app
from bot.jobs import JobSpec
from bot.queue.sqlite import SqliteQueue
from bot.queue.worker import WorkerPool
from bot.settings import Settings

SECRET = "web-test-secret"


@pytest.fixture
def queue(tmp_path: Path) -> SqliteQueue:
    return SqliteQueue(str(tmp_path / "q.db"))


@pytest.fixture
def client(queue):
    return create_app(Settings.from_env({"WEBHOOK_SECRET": SECRET}), queue).test_client()


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
        if not labels and line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{want}}} not in metrics")


def test_healthz_counts_pending_running_and_failed(client, queue):
    assert client.get("/healthz").get_json()["queue"] == {"pending": 0, "running": 0, "failed": 0}
    queue.enqueue([JobSpec("repo:1", 1, "a/b"), JobSpec("repo:2", 1, "a/b"), JobSpec("repo:3", 1, "a/b")])
    running = queue.claim(30)
    dead = queue.claim(30)
    queue.fail_permanently(dead, "gone")
    assert running is not None
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["queue"] == {"pending": 1, "running": 1, "failed": 1}
    assert health["backlog"] == {
        "backend": "sqlite",
        "dead_letters": 1,
        "pending_by_installation": {"1": 1},
        "oldest_waiting_seconds": health["backlog"]["oldest_waiting_seconds"],
    }


def test_healthz_is_503_when_the_queue_is_unreadable(client, queue, tmp_path):
    queue._conn().execute("DROP TABLE jobs")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "error"


def test_metrics_count_events_jobs_depth_and_github_calls(client, queue):
    before = client.get("/metrics").text
    body = json.dumps(
        {"action": "closed", "milestone": {"number": 1}, "repository": {"id": 5, "full_name": "a/b"}}
    ).encode()
    headers = {
        "X-GitHub-Event": "milestone",
        "X-GitHub-Delivery": "m-1",
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }
    assert client.post("/api/github/webhooks", data=body, headers=headers).status_code == 202
    assert client.post("/api/github/webhooks", data=body, headers=headers).status_code == 200
    client.post("/api/github/webhooks", data=body, headers={**headers, "X-Hub-Signature-256": "sha256=00"})

    pool = WorkerPool(queue, lambda spec, services: {"api_calls": 3}, threads=1)
    job = queue.claim(30)
    pool.run_one(job)
    metrics.record_github_call(77, 201)
    metrics.set_rate_limit_remaining(77, 4321)
    queue.enqueue([JobSpec("pr:5#1", 1, "a/b")])

    after = client.get("/metrics").text

    def delta(name: str, **labels: str) -> float:
        try:
            old = metric(before, name, **labels)
        except AssertionError:
            old = 0.0
        return metric(after, name, **labels) - old

    assert delta("release_bot_webhook_events_total", event="milestone", outcome="accepted") == 1
    assert delta("release_bot_webhook_events_total", event="milestone", outcome="duplicate") == 1
    assert delta("release_bot_webhook_events_total", outcome="rejected") == 1
    assert delta("release_bot_jobs_total", kind="release", outcome="success") == 1
    assert delta("release_bot_job_duration_seconds_count", kind="release") == 1
    assert delta("release_bot_github_api_calls_total", installation="77", status_class="2xx") == 1
    assert metric(after, "release_bot_github_rate_limit_remaining", installation="77") == 4321
    assert metric(after, "release_bot_queue_jobs", state="pending") == 1
    assert metric(after, "release_bot_queue_jobs", state="failed") == 0
