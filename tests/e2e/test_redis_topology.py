"""The scaled-out topology as separate OS processes on one private Redis: a web-only process
(`serve --no-worker`) and `release-bot worker` processes. A worker SIGKILLed mid-job and Redis
SIGKILLed and restarted lose nothing, no key runs on two workers at once, and the GitHub budget of
an installation is one for all workers (the sandbox sees the combined writes within the limit)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import SECRET, WEBHOOK_PATH  # noqa: E402
from redis_processes import Processes, free_port, processes, wait_for  # noqa: E402,F401 - fixture
from redis_server import redis_server, redis_url  # noqa: E402,F401 - fixtures

from bot.jobs import JobSpec  # noqa: E402
from bot.queue.redis_queue import RedisQueue  # noqa: E402

pytestmark = pytest.mark.e2e


def milestone_delivery(number: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"action": "edited", "milestone": {"number": number},
                       "repository": {"id": 42, "full_name": "acme/rocket"}, "installation": {"id": 1}}).encode()
    return body, {
        "X-GitHub-Event": "milestone",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


def effect_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.reliability(area="crash", case="Redis topology: a worker SIGKILLed mid-job and Redis SIGKILLed, nothing lost", trials=1)
def test_web_only_and_two_workers_on_redis_survive_a_worker_sigkill_and_a_redis_restart(
        processes, redis_server, redis_url, tmp_path):  # noqa: F811 - fixtures
    effects = tmp_path / "effects.txt"
    runner = {"QUEUE_URL": redis_url, "APP_ID": "1", "PRIVATE_KEY_PATH": "/nonexistent-not-used-by-the-test-runner.pem",
              "RELEASE_BOT_TEST_RUNNER": "bot_test_runners:slow_effect", "RB_TEST_EFFECTS": str(effects),
              "RB_TEST_SLEEP": "0.4", "LEASE_SECONDS": "2"}
    port = free_port()
    processes.start("web", "serve", "--no-worker", "--no-sandbox", env={**runner, "PORT": str(port)})
    web = f"http://127.0.0.1:{port}"

    def health() -> dict[str, Any]:
        try:
            return httpx.get(web + "/healthz", timeout=5).json()
        except httpx.HTTPError:
            return {}

    wait_for(lambda: health().get("status") == "ok", 30, "the web process", processes)
    worker_a = processes.start("worker-a", "worker", "--concurrency", "2", env=runner)
    processes.start("worker-b", "worker", "--concurrency", "2", env=runner)

    def post(body: bytes, headers: dict[str, str]) -> int:
        return httpx.post(web + WEBHOOK_PATH, content=body, headers=headers, timeout=30).status_code

    keys = [f"release:42@{n}" for n in range(1, 31)]
    first = [milestone_delivery(n) for n in range(1, 31)]
    assert [post(*d) for d in first] == [202] * 30

    # SIGKILL worker A while it is in the middle of a job (a start without its done).
    def a_is_mid_job() -> bool:
        lines = effect_lines(effects)
        started = {key for word, key, pid in lines if word == "start" and pid == str(worker_a.pid)}
        done = {key for word, key, pid in lines if word == "done" and pid == str(worker_a.pid)}
        return bool(started - done)

    wait_for(a_is_mid_job, 30, "worker A mid-job", processes)
    os.killpg(worker_a.pid, signal.SIGKILL)
    worker_a.wait(10)
    killed = str(worker_a.pid)
    redis_server.restart(signal.SIGKILL)  # the append-only file (fsync always) is all that survives
    processes.start("worker-c", "worker", "--concurrency", "2", env=runner)  # the replacement

    # A second event for every key (some are running: they must run once more), and GitHub's
    # redelivery of first-round deliveries, which any web process recognises.
    marks: dict[str, int] = {}
    for n, key in enumerate(keys, start=1):
        assert post(*milestone_delivery(n)) == 202
        marks[key] = len(effect_lines(effects))
    assert [post(*d) for d in first[:15]] == [200] * 15

    def settled() -> bool:
        queue = health().get("queue", {})
        if queue != {"pending": 0, "running": 0, "failed": 0}:
            return False
        lines = effect_lines(effects)
        return all(any(w == "done" and k == key for w, k, _ in lines[marks[key]:]) for key in keys)

    wait_for(settled, 90, "every key run after its last event", processes)

    lines = effect_lines(effects)
    running: dict[str, str] = {}
    for word, key, pid in lines:
        if word == "start":
            # Only the SIGKILLed worker's run may be open when another starts (its lease lapsed).
            assert running.get(key) in (None, killed), f"{key} ran in {running[key]} and {pid} at once"
            running[key] = pid
        else:
            assert running.pop(key) == pid
    interrupted = {k for w, k, p in lines if w == "start" and p == killed} - {k for w, k, p in lines if w == "done" and p == killed}
    assert interrupted and all(any(w == "done" and k == key and p != killed for w, k, p in lines) for key in interrupted)
    backlog = health()["backlog"]
    assert backlog["backend"] == "redis" and backlog["dead_letters"] == 0 and backlog["pending_by_installation"] == {}


def test_two_workers_share_one_github_budget_per_installation(processes, redis_url, tmp_path):  # noqa: F811
    """GITHUB_WRITES_PER_MINUTE=10 and two worker processes with 30 one-write jobs of one
    installation: the sandbox sees 10 writes in all (not 10 per process), and a process that made
    fewer than 10 was still told to wait: the window it consulted was the shared one."""
    from bot.sandbox.server import start_sandbox

    key_path = tmp_path / "sandbox-app.pem"
    sandbox = start_sandbox(port=0, webhook_url=None, webhook_secret=SECRET, app_key_path=str(key_path))
    try:
        admin = httpx.Client(base_url=sandbox.api_url, headers={"Authorization": "token sandbox-token-admin"}, timeout=30)
        issue = admin.post("/repos/acme/rocket/issues", json={"title": "budget"}).json()["number"]
        effects = tmp_path / "writes.txt"
        env = {"QUEUE_URL": redis_url, "APP_ID": "1", "PRIVATE_KEY_PATH": str(key_path),
               "GITHUB_API_URL": sandbox.api_url, "SANDBOX": "1", "GITHUB_WRITES_PER_MINUTE": "10",
               "RELEASE_BOT_TEST_RUNNER": "redis_runners:comment", "RB_TEST_ISSUE": str(issue),
               "RB_TEST_EFFECTS": str(effects)}
        workers = [processes.start(f"worker-{n}", "worker", "--concurrency", "2", env=env) for n in range(2)]
        queue = RedisQueue(redis_url)
        wait_for(lambda: queue.client.zcard("release-bot:workers") == 2, 30, "both workers registered", processes)
        seq = max([r["seq"] for r in httpx.get(f"{sandbox.base_url}/_sandbox/requests", timeout=30).json()] or [0])
        queue.enqueue([JobSpec(f"pr:42#{n}", 1, "acme/rocket", "budget") for n in range(30)])

        def told_to_wait(proc: subprocess.Popen[bytes]) -> bool:
            log = (tmp_path / f"worker-{workers.index(proc)}.log").read_text(errors="replace")
            return '"outcome":"retry_later"' in log

        wait_for(lambda: len(effect_lines(effects)) >= 10 and all(told_to_wait(w) for w in workers), 40,
                 "the budget used up and both workers told to wait", processes)
        wait_for(lambda: queue.counts().running == 0, 20, "no job running", processes)
        requests = httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": seq}, timeout=30).json()
        writes = [r for r in requests if r["method"] == "POST" and r["path"].endswith(f"/issues/{issue}/comments")]
        assert len(writes) == 10, writes  # the combined rate: within the limit, and all of it used
        by_process = {pid: sum(1 for _, _, p in effect_lines(effects) if p == pid) for pid in {str(w.pid) for w in workers}}
        assert sum(by_process.values()) == 10 and min(by_process.values()) < 10
        assert queue.counts().as_dict() == {"pending": 20, "running": 0, "failed": 0}  # waiting, not lost
        assert all(j.not_before > time.time() + 30 for j in queue.list_jobs(("pending",)))
    finally:
        sandbox.stop()
