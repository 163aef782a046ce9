"""The scaled-out topology as separate OS processes on one private Redis: a web-only process
(`serve --no-worker`) and `release-bot worker` processes. A worker SIGKILLed mid-job and Redis
SIGKILLed and restarted lose nothing, no key runs on two workers at once, and the GitHub budget of
an installation is one for all workers (the sandbox sees the combined writes within the limit)."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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
SLOW_KEY = "release:42@7"


def milestone_delivery(number: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "action": "edited",
            "milestone": {"number": number},
            "repository": {"id": 42, "full_name": "acme/rocket"},
            "installation": {"id": 1},
        }
    ).encode()
    return body, {
        "X-GitHub-Event": "milestone",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


def effect_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.reliability(
    area="crash",
    case="Redis topology: 2,000 events (20% redelivered), 2 web + 3 workers, worker and Redis SIGKILLed",
    trials=1,
)
def test_two_web_processes_and_three_workers_lose_nothing_through_a_worker_sigkill_and_a_redis_restart(
    processes,  # noqa: F811 - a fixture
    redis_server,  # noqa: F811 - a fixture
    redis_url,  # noqa: F811 - a fixture
    tmp_path,
):
    """2,000 signed events over 200 keys, a fifth of them GitHub's redelivery of an earlier one sent
    to the other web process; a worker SIGKILLed mid-job and Redis SIGKILLed between the halves.
    Every key runs after its last event, no key ever runs in two processes at once, every
    redelivery is recognized, nothing is dead-lettered."""
    effects = tmp_path / "effects.txt"
    runner = {
        "QUEUE_URL": redis_url,
        "APP_ID": "1",
        "PRIVATE_KEY_PATH": "/nonexistent-not-used-by-the-test-runner.pem",
        "RELEASE_BOT_TEST_RUNNER": "redis_runners:effect",
        "RB_TEST_EFFECTS": str(effects),
        "RB_TEST_SLEEP": "0.05",
        "RB_TEST_SLOW_KEYS": SLOW_KEY,
        "RB_TEST_SLOW_SLEEP": "1.5",
        "LEASE_SECONDS": "2",
    }
    ports = [free_port(), free_port()]
    webs = [f"http://127.0.0.1:{port}" for port in ports]
    for n, port in enumerate(ports):
        processes.start(f"web-{n}", "serve", "--no-worker", "--no-sandbox", env={**runner, "PORT": str(port)})

    def health(web: str) -> dict[str, Any]:
        try:
            return httpx.get(web + "/healthz", timeout=5).json()
        except httpx.HTTPError:
            return {}

    wait_for(lambda: all(health(w).get("status") == "ok" for w in webs), 30, "the web processes", processes)
    workers = [processes.start(f"worker-{n}", "worker", "--concurrency", "2", env=runner) for n in range(3)]

    keys = [f"release:42@{n}" for n in range(1, 201)]
    marks: dict[str, int] = {}  # effects file size once a key's latest event was accepted
    answers: list[tuple[bool, int]] = []
    lock = threading.Lock()
    clients = [httpx.Client(base_url=w, timeout=30) for w in webs]

    def send(item: tuple[int, tuple[bytes, dict[str, str]], bool]) -> None:
        n, (body, headers), redelivery = item
        status = clients[n % 2].post(WEBHOOK_PATH, content=body, headers=headers).status_code
        size = effects.stat().st_size if effects.exists() else 0
        with lock:
            answers.append((redelivery, status))
            if status == 202:
                key = f"release:42@{json.loads(body)['milestone']['number']}"
                marks[key] = max(marks.get(key, 0), size)

    def batch(seed: int, n_fresh: int, earlier: list[Any]) -> list[tuple[bytes, dict[str, str]]]:
        """``n_fresh`` new deliveries and 200 redeliveries of earlier ones (to the other web process)."""
        fresh = [milestone_delivery(1 + (seed * 7 + i * 13) % 200) for i in range(n_fresh)]
        again = (earlier or fresh)[:200]
        items = [(i, d, False) for i, d in enumerate(fresh)] + [(i + 1, d, True) for i, d in enumerate(again)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, items))
        return fresh

    first = batch(0, 800, [])  # 1,000 events
    # SIGKILL the worker running the slow key (1.5 s a run: still running when killed), then Redis.
    pids = {str(w.pid): w for w in workers}
    caught: list[str] = []

    def slow_key_running() -> bool:
        owner = None
        for word, key, pid in effect_lines(effects):
            if key == SLOW_KEY:
                owner = pid if word == "start" else None
        caught[:] = [owner] if owner in pids else []
        return bool(caught)

    wait_for(slow_key_running, 30, "a worker running the slow key", processes)
    killed = caught[0]
    processes.kill(pids[killed])
    redis_server.restart(signal.SIGKILL)  # the append-only file (fsync always) is all that survives
    processes.start("worker-3", "worker", "--concurrency", "2", env=runner)  # the replacement
    batch(1, 800, first)  # 1,000 more

    assert len(answers) == 2000 and sum(1 for redelivery, _ in answers if redelivery) == 400
    assert {status for redelivery, status in answers if redelivery} == {
        200
    }  # recognized by the other process
    assert {status for redelivery, status in answers if not redelivery} == {202}

    def settled() -> bool:
        if health(webs[0]).get("queue") != {"pending": 0, "running": 0, "failed": 0}:
            return False
        text = effects.read_text()
        return all(f"done {key} " in text[marks[key] :] for key in marks)

    wait_for(settled, 90, "every key run after its last event", processes)
    assert set(marks) == set(keys)

    lines = effect_lines(effects)
    running: dict[str, str] = {}
    for word, key, pid in lines:
        if word == "start":
            # Only the SIGKILLed worker's run may be open when another starts (its lease lapsed).
            assert running.get(key) in (None, killed), f"{key} ran in {running[key]} and {pid} at once"
            running[key] = pid
        else:
            assert running.pop(key) == pid
    interrupted = {k for w, k, p in lines if w == "start" and p == killed} - {
        k for w, k, p in lines if w == "done" and p == killed
    }
    assert SLOW_KEY in interrupted and all(
        any(w == "done" and k == key and p != killed for w, k, p in lines) for key in interrupted
    )
    backlog = health(webs[1])["backlog"]
    assert (
        backlog["backend"] == "redis"
        and backlog["dead_letters"] == 0
        and backlog["pending_by_installation"] == {}
    )


def test_two_workers_share_one_github_budget_per_installation(processes, redis_url, tmp_path):  # noqa: F811
    """GITHUB_WRITES_PER_MINUTE=10 and two worker processes with 30 one-write jobs of one
    installation: the sandbox sees 10 writes in all (not 10 per process), and a process that made
    fewer than 10 was still told to wait: the window it consulted was the shared one."""
    from bot.sandbox.server import start_sandbox

    key_path = tmp_path / "sandbox-app.pem"
    sandbox = start_sandbox(port=0, webhook_url=None, webhook_secret=SECRET, app_key_path=str(key_path))
    try:
        admin = httpx.Client(
            base_url=sandbox.api_url, headers={"Authorization": "token sandbox-token-admin"}, timeout=30
        )
        issue = admin.post("/repos/acme/rocket/issues", json={"title": "budget"}).json()["number"]
        effects = tmp_path / "writes.txt"
        env = {
            "QUEUE_URL": redis_url,
            "APP_ID": "1",
            "PRIVATE_KEY_PATH": str(key_path),
            "GITHUB_API_URL": sandbox.api_url,
            "SANDBOX": "1",
            "GITHUB_WRITES_PER_MINUTE": "10",
            "RELEASE_BOT_TEST_RUNNER": "redis_runners:comment",
            "RB_TEST_ISSUE": str(issue),
            "RB_TEST_EFFECTS": str(effects),
        }
        workers = [processes.start(f"worker-{n}", "worker", "--concurrency", "2", env=env) for n in range(2)]
        queue = RedisQueue(redis_url)
        wait_for(
            lambda: queue.client.zcard("release-bot:workers") == 2, 30, "both workers registered", processes
        )
        seq = max(
            [r["seq"] for r in httpx.get(f"{sandbox.base_url}/_sandbox/requests", timeout=30).json()] or [0]
        )
        queue.enqueue([JobSpec(f"pr:42#{n}", 1, "acme/rocket", "budget") for n in range(30)])

        def told_to_wait(proc: subprocess.Popen[bytes]) -> bool:
            log = (tmp_path / f"worker-{workers.index(proc)}.log").read_text(errors="replace")
            return '"outcome":"retry_later"' in log

        wait_for(
            lambda: len(effect_lines(effects)) >= 10 and all(told_to_wait(w) for w in workers),
            40,
            "the budget used up and both workers told to wait",
            processes,
        )
        wait_for(lambda: queue.counts().running == 0, 20, "no job running", processes)
        requests = httpx.get(
            f"{sandbox.base_url}/_sandbox/requests", params={"since": seq}, timeout=30
        ).json()
        writes = [
            r for r in requests if r["method"] == "POST" and r["path"].endswith(f"/issues/{issue}/comments")
        ]
        assert len(writes) == 10, writes  # the combined rate: within the limit, and all of it used
        by_process = {
            pid: sum(1 for _, _, p in effect_lines(effects) if p == pid)
            for pid in {str(w.pid) for w in workers}
        }
        assert sum(by_process.values()) == 10 and min(by_process.values()) < 10
        assert queue.counts().as_dict() == {"pending": 20, "running": 0, "failed": 0}  # waiting, not lost
        assert all(j.not_before > time.time() + 30 for j in queue.list_jobs(("pending",)))
    finally:
        sandbox.stop()
