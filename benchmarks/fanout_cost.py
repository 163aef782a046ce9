"""API calls the bot makes for one `issues` `opened` event outside any milestone, in a busy repository.

    .venv/bin/python benchmarks/fanout_cost.py [--milestones 10] [--pulls 20] [--monitor 1]

A sandbox in-process and the real intake routing and reconcilers (`route` -> `run_job`, the jobs each
one enqueues run until none is left, waiting jobs of one key coalesced with `merge_hints` as the
queue does). The repository has M open version milestones v1.0.0 … v1.{M-1}.0, each with its
release branch, P open pull requests spread over those branches, and the first ``--monitor`` of the
releases shipped (final tag + successful production deployment: they are in Monitor, the stage that
lists post-release feedback). The repository is synced first (a `release-bot reconcile` fan-out, run
twice so that every cache and watermark is warm); then one issue is opened without a milestone and
its delivery is routed and run to the end.

Counts come from the sandbox's request log (`GET /_sandbox/requests?since=`), actors
`release-bot[bot]` (installation token) and `app` (JWT); `jobs` counts the keys that ran by kind;
`feedback_listed_in` names the milestones whose tracking issue lists the new issue afterwards.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bot.intake.routing import route
from bot.jobs import JobSpec, repo_key
from bot.queue.hints import merge_hints
from bot.reconcilers.dispatch import run_job
from bot.sandbox.server import start_sandbox
from bot.services import Services
from bot.settings import Settings

BOT_ACTORS = {"release-bot[bot]", "app"}
REPO = "acme/rocket"
# A job key reached again in one drain (a release waking its duplicate) runs at most this often.
MAX_RUNS_PER_KEY = 3
_SHA = re.compile(r"[0-9a-f]{40}")


class Store:
    """The bot's key-value store and the queue, in memory: waiting jobs coalesce by key."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.waiting: dict[str, JobSpec] = {}

    def get_state(self, name: str) -> Any:
        return json.loads(json.dumps(self.data.get(name)))

    def set_state(self, name: str, value: Any) -> None:
        self.data[name] = json.loads(json.dumps(value))

    def update_state(self, name: str, change: Any) -> Any:
        value = change(self.get_state(name))
        self.set_state(name, value)
        return value

    def enqueue(self, jobs: list[JobSpec]) -> None:
        for job in jobs:
            live = self.waiting.get(job.key)
            if live is None:
                self.waiting[job.key] = job
            else:
                self.waiting[job.key] = JobSpec(
                    job.key,
                    job.installation_id or live.installation_id,
                    job.repo or live.repo,
                    job.reason,
                    merge_hints(live.hints or {}, job.hints or {}),
                )

    def drain(self, services: Services) -> list[str]:
        ran: list[str] = []
        runs: Counter[str] = Counter()
        while self.waiting:
            key = next(iter(self.waiting))
            job = self.waiting.pop(key)
            if runs[key] >= MAX_RUNS_PER_KEY:
                continue
            runs[key] += 1
            ran.append(key)
            run_job(job, services, enqueue=self.enqueue)
        return ran


def _seed(sb_api: str, milestones: int, pulls: int, monitor: int) -> dict[str, Any]:
    pm = httpx.Client(base_url=sb_api, headers={"Authorization": "token sandbox-token-pm"}, timeout=30)
    dev = httpx.Client(base_url=sb_api, headers={"Authorization": "token sandbox-token-dev"}, timeout=30)
    repo = pm.get(f"/repos/{REPO}").json()
    main_sha = dev.get(f"/repos/{REPO}/git/ref/heads/main").json()["object"]["sha"]
    for minor in range(milestones):
        pm.post(f"/repos/{REPO}/milestones", json={"title": f"v1.{minor}.0"}).raise_for_status()
        dev.post(
            f"/repos/{REPO}/git/refs", json={"ref": f"refs/heads/release/1.{minor}", "sha": main_sha}
        ).raise_for_status()
    for i in range(pulls):
        branch = f"feature/{i}"
        dev.post(
            f"/repos/{REPO}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": main_sha}
        ).raise_for_status()
        dev.put(
            f"/repos/{REPO}/contents/feature-{i}.txt",
            json={
                "message": f"feature {i}",
                "content": base64.b64encode(f"{i}\n".encode()).decode(),
                "branch": branch,
            },
        ).raise_for_status()
        dev.post(
            f"/repos/{REPO}/pulls",
            json={"title": f"Feature {i}", "head": branch, "base": f"release/1.{i % milestones}"},
        ).raise_for_status()
    for minor in range(min(monitor, milestones)):
        tag = f"v1.{minor}.0"
        dev.post(
            f"/repos/{REPO}/git/refs", json={"ref": f"refs/tags/{tag}", "sha": main_sha}
        ).raise_for_status()
        deployment = dev.post(
            f"/repos/{REPO}/deployments",
            json={"ref": tag, "environment": "production", "required_contexts": []},
        )
        deployment.raise_for_status()
        dev.post(
            f"/repos/{REPO}/deployments/{deployment.json()['id']}/statuses", json={"state": "success"}
        ).raise_for_status()
    return repo


def measure(milestones: int, pulls: int, monitor: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_sandbox(port=0, app_key_path=str(Path(tmp) / "app.pem")) as sb,
    ):
        repo = _seed(sb.api_url, milestones, pulls, monitor)
        settings = Settings.from_env(
            {
                "APP_ID": "1",
                "PRIVATE_KEY_PATH": str(Path(tmp) / "app.pem"),
                "GITHUB_API_URL": sb.api_url,
                "SANDBOX": "1",
                "WEBHOOK_SECRET": "x",
            }
        )
        store = Store()
        services = Services.from_settings(settings, store)
        requests_url = f"{sb.base_url}/_sandbox/requests"
        try:
            # Sync as `release-bot reconcile` does, twice: the second run leaves every cache warm.
            for _ in range(2):
                store.enqueue(
                    [JobSpec(repo_key(repo["id"]), 1, REPO, "release-bot reconcile", {"fan_out": True})]
                )
                store.drain(services)

            dev = httpx.Client(
                base_url=sb.api_url, headers={"Authorization": "token sandbox-token-dev"}, timeout=30
            )
            seq = httpx.get(requests_url, params={"since": 0}).json()[-1]["seq"]
            issue = dev.post(f"/repos/{REPO}/issues", json={"title": "Login crash since v1.0.0"}).json()
            payload = {"action": "opened", "issue": issue, "repository": repo, "installation": {"id": 1}}
            routed = route("issues", payload)
            store.enqueue(routed.jobs)
            ran = store.drain(services)
            log = [
                r for r in httpx.get(requests_url, params={"since": seq}).json() if r["actor"] in BOT_ACTORS
            ]
            # The feedback must still reach the releases in Monitor: the tracking issues that list it.
            tracking = dev.get(
                f"/repos/{REPO}/issues",
                params={"creator": "release-bot[bot]", "state": "all", "per_page": 100},
            ).json()
            listed_in = sorted(
                str((t.get("milestone") or {}).get("title"))
                for t in tracking
                if re.search(rf"#{issue['number']}\b", t.get("body") or "")
            )
        finally:
            services.close()
    kinds = Counter(key.split(":", 1)[0] for key in ran)
    return {
        "milestones": milestones,
        "pulls": pulls,
        "in_monitor": min(monitor, milestones),
        "hints": [job.hints for job in routed.jobs],
        "api_calls": len(log),
        "reads": sum(1 for r in log if r["method"] == "GET"),
        "writes": sum(1 for r in log if r["method"] != "GET"),
        "jobs": dict(kinds),
        "feedback_listed_in": listed_in,
        "paths": dict(Counter(f"{r['method']} {_shape(r['path'])}" for r in log).most_common()),
    }


def _shape(path: str) -> str:
    """/repos/acme/rocket/pulls/12/reviews -> /repos/acme/rocket/pulls/N/reviews (counts by endpoint)."""
    parts = path.split("?", 1)[0].split("/")
    return "/".join("N" if part.isdigit() else "SHA" if _SHA.fullmatch(part) else part for part in parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--milestones", type=int, default=10)
    parser.add_argument("--pulls", type=int, default=20)
    parser.add_argument("--monitor", type=int, default=1, help="releases already shipped (in Monitor)")
    args = parser.parse_args()
    if args.milestones < 1 or args.pulls < 0 or args.monitor < 0:
        parser.error("--milestones must be at least 1; --pulls and --monitor not negative")
    print(json.dumps(measure(args.milestones, args.pulls, args.monitor), indent=1))


if __name__ == "__main__":
    main()
