"""The real bot scaled out on one private Redis, as separate OS processes against the sandbox: two
web-only processes (`serve --no-worker`) and three `release-bot worker` processes running the
production reconcilers. Deliveries arrive shuffled with duplicates; a worker is SIGKILLed while jobs
run and Redis is SIGKILLed and restarted; then the load balancer sends GitHub's redelivery of every
event to the other web process. Each milestone still gets exactly one tracking issue, every
redelivery is recognized by the web process that never saw the original, nothing is dead-lettered."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import WEBHOOK_PATH  # noqa: E402
from redis_processes import Processes, processes, wait_for, web_and_workers  # noqa: E402,F401 - fixture
from redis_server import redis_server, redis_url  # noqa: E402,F401 - fixtures

pytestmark = pytest.mark.e2e
BOT = "release-bot[bot]"
REPOS = ("acme/rocket", "acme/jet")


def _tracking_issues(admin: httpx.Client, repo: str, milestone: int) -> list[dict[str, Any]]:
    issues = admin.get(
        f"/repos/{repo}/issues", params={"milestone": milestone, "state": "all", "per_page": 100}
    ).json()
    return [
        i
        for i in issues
        if i["user"]["login"] == BOT and f"release-bot:tracking:{milestone} " in (i["body"] or "") + " "
    ]


@pytest.mark.reliability(
    area="crash",
    case="Redis topology, real reconcilers: worker SIGKILL, Redis restart, redelivery to another web process",
    trials=1,
)
def test_two_web_processes_and_three_workers_make_each_release_exactly_once(
    processes: Processes,  # noqa: F811 - a fixture
    redis_server,  # noqa: F811 - a fixture
    redis_url,  # noqa: F811 - a fixture
    tmp_path,
):
    with web_and_workers(processes, redis_url, tmp_path) as topology:
        sandbox, env, webs, workers, queue = (
            topology.sandbox, topology.env, topology.webs, topology.workers, topology.queue
        )

        admin = httpx.Client(
            base_url=sandbox.api_url, headers={"Authorization": "token sandbox-token-admin"}, timeout=30
        )
        pm = httpx.Client(
            base_url=sandbox.api_url, headers={"Authorization": "token sandbox-token-pm"}, timeout=30
        )
        assert (
            httpx.post(
                f"{sandbox.base_url}/_sandbox/repos", json={"owner": "acme", "name": "jet"}, timeout=30
            ).status_code
            == 201
        )
        assert (
            httpx.post(
                f"{sandbox.base_url}/_sandbox/deliveries/chaos",
                json={"shuffle": True, "duplicate": 0.2, "seed": 13},
                timeout=30,
            ).status_code
            == 200
        )
        pids = {str(w.pid): w for w in workers}
        busy: list[Any] = []
        slow_since: list[float] = []

        def a_worker_mid_job() -> bool:
            for job in queue.list_jobs(("running",)):
                if job.updated_at < slow_since[0]:
                    continue  # claimed before the API became slow: it may finish any moment
                # The claiming worker's id is host:pid:nonce (bot/queue/worker.py).
                pid = (queue.client.hget(f"release-bot:job:{job.id}", "worker") or "::").split(":")[1]
                if pid in pids:
                    busy.append((pids[pid], job.key))
                    return True
            return False

        def wait_for_a_worker_mid_job() -> tuple[Any, str]:
            wait_for(a_worker_mid_job, 30, "a worker mid-job", processes)
            return busy[0]

        milestones: list[tuple[str, int]] = []
        for i in range(12):
            repo = REPOS[i % 2]
            made = pm.post(
                f"/repos/{repo}/milestones", json={"title": f"v{i + 1}.0.0", "due_on": "2030-12-01T00:00:00Z"}
            )
            assert made.status_code == 201, made.text
            number = made.json()["number"]
            milestones.append((repo, number))
            pm.post(f"/repos/{repo}/issues", json={"title": f"scope {i}", "milestone": number})
            if i == 5:
                # Mid-run: a worker dies without a word in the middle of a job, then Redis itself
                # (only its fsynced AOF survives).
                # The next API calls are slow (1.5 s), so a job caught running is still running
                # when its process is killed.
                slow_since.append(time.time())
                assert (
                    httpx.post(
                        f"{sandbox.base_url}/_sandbox/faults",
                        json={"path": ".*", "delay_ms": 1500, "times": 1000},
                        timeout=30,
                    ).status_code
                    == 201
                )
                victim, interrupted = wait_for_a_worker_mid_job()
                processes.kill(victim)
                live = queue.client.hget("release-bot:live", interrupted)
                assert queue.client.hget(f"release-bot:job:{live}", "state") == "running"  # killed mid-job
                httpx.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=30)
                redis_server.restart(signal.SIGKILL)
                processes.start("worker-3", "worker", "--concurrency", "2", env=env)

        settled = topology.settled

        wait_for(lambda: settled() and settled(), 120, "the bot settled", processes)
        httpx.delete(f"{sandbox.base_url}/_sandbox/deliveries/chaos", timeout=30)

        # The load balancer now sends everything to the other web process; GitHub redelivers it all.
        from bot.sandbox.webhooks import emitter

        with sandbox.state.lock:
            sandbox.state.apps[1].webhook_url = f"{webs[1]}{WEBHOOK_PATH}"
            originals = [d.id for d in sandbox.state.deliveries if d.status_code == 202]
        for delivery_id in originals:
            emitter(sandbox.state).redeliver(delivery_id)
        wait_for(settled, 60, "the redeliveries answered", processes)
        with sandbox.state.lock:
            again = [d.status_code for d in sandbox.state.deliveries if d.redelivery]
        assert again and set(again) == {200}, again  # each one a duplicate, at a process that never saw it

        for repo, number in milestones:
            found = _tracking_issues(admin, repo, number)
            assert len(found) == 1, (repo, number, [i["title"] for i in found], processes.logs())
        assert queue.counts().failed == 0, queue.list_jobs(("failed",))
        # The interrupted key was finished by another process after the dead one's lease lapsed.
        finished_elsewhere = [
            line
            for _, log in processes.started
            if log.name != f"worker-{workers.index(victim)}.log"
            for line in log.read_text(errors="replace").splitlines()
            if f'"key":"{interrupted}"' in line and '"outcome":"success"' in line
        ]
        assert finished_elsewhere, processes.logs()
