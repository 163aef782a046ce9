"""Read calls of one `release:` reconcile against the budget ceil(N/100) + ceil(C/250) + 8, and writes
when nothing changed. Runs the sandbox in-process and the real reconcilers through `run_job`.

    .venv/bin/python benchmarks/release_budget.py [--items 250] [--commits 300] [--comments 20]
                                                  [--comment-interval 5]

Comments on the tracking issue are spread over time (``--comment-interval`` seconds of the sandbox's
clock apart, as a discussion is): a steady reconcile lists only the comments changed since its last
read (``?since=``, less a 10 s margin), so it reads one page of them however many there are.

The first reconcile of a cold process also loads the repository's configuration (`config_reads`:
`.github/release-bot.yml`, the organization fallback, `release.yml`, `release-drafter.yml`; cached
afterwards for every job of the repository); `release_reads` is the release's own share.

Counts come from the sandbox's request log (`GET /_sandbox/requests?since=`), actor release-bot[bot].
C commits land on the release branch after the previous release's tag (v1.3.0), so the release
notes compare v1.3.0...release/1.4 (250 commits a page) as they would on GitHub.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bot.jobs import JobSpec, release_key
from bot.reconcilers.dispatch import run_job
from bot.sandbox.server import start_sandbox
from bot.services import Services
from bot.settings import Settings

BOT = "release-bot[bot]"


class Store:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.jobs: list[JobSpec] = []

    def get_state(self, name: str) -> Any:
        return self.data.get(name)

    def set_state(self, name: str, value: Any) -> None:
        self.data[name] = value

    def enqueue(self, jobs: list[JobSpec]) -> None:
        self.jobs.extend(jobs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=250)
    parser.add_argument("--comments", type=int, default=20)
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--comment-interval", type=float, default=5.0)
    parser.add_argument(
        "--final-tag",
        action="store_true",
        help="tag v1.4.0 on the branch first: the release is in Deploy (published notes, "
        "and the production deployment look-up Deploy adds)",
    )
    args = parser.parse_args()
    print(
        json.dumps(
            measure(args.items, args.commits, args.comments, args.comment_interval, args.final_tag), indent=1
        )
    )


def measure(
    items: int, commits: int, comments: int, comment_interval: float = 5.0, final_tag: bool = False
) -> dict[str, Any]:
    """Build a release of ``items`` milestone items and ``commits`` commits since v1.3.0, reconcile it
    (first run: creation), add ``comments`` comments, then measure a reconcile that finds nothing new."""
    args = argparse.Namespace(items=items, commits=commits, comments=comments)
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_sandbox(port=0, app_key_path=str(Path(tmp) / "app.pem")) as sb,
    ):
        api = httpx.Client(
            base_url=sb.api_url, headers={"Authorization": "token sandbox-token-pm"}, timeout=30
        )
        repo = api.get("/repos/acme/rocket").json()
        m = api.post(
            "/repos/acme/rocket/milestones", json={"title": "v1.4.0", "due_on": "2030-12-01T00:00:00Z"}
        ).json()
        for i in range(args.items):
            api.post("/repos/acme/rocket/issues", json={"title": f"item {i}", "milestone": m["number"]})
        dev = httpx.Client(
            base_url=sb.api_url, headers={"Authorization": "token sandbox-token-dev"}, timeout=30
        )
        main_sha = dev.get("/repos/acme/rocket/git/ref/heads/main").json()["object"]["sha"]
        for ref in ("refs/tags/v1.3.0", "refs/heads/release/1.4"):
            dev.post("/repos/acme/rocket/git/refs", json={"ref": ref, "sha": main_sha}).raise_for_status()
        for i in range(args.commits):
            dev.put(
                f"/repos/acme/rocket/contents/change-{i}.txt",
                json={
                    "message": f"change {i}",
                    "content": base64.b64encode(f"{i}\n".encode()).decode(),
                    "branch": "release/1.4",
                },
            ).raise_for_status()
        if final_tag:
            tip = dev.get("/repos/acme/rocket/git/ref/heads/release/1.4").json()["object"]["sha"]
            dev.post(
                "/repos/acme/rocket/git/refs", json={"ref": "refs/tags/v1.4.0", "sha": tip}
            ).raise_for_status()
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
        job = JobSpec(release_key(repo["id"], m["number"]), 1, "acme/rocket", "benchmark")

        def reconcile() -> dict[str, Any]:
            seq = httpx.get(f"{sb.base_url}/_sandbox/requests", params={"since": 0}).json()[-1]["seq"]
            error = None
            try:
                run_job(job, services, enqueue=store.enqueue)
            except Exception as exc:  # the notes part fails while the sandbox lacks the releases API
                error = str(exc)
            log = [
                r
                for r in httpx.get(f"{sb.base_url}/_sandbox/requests", params={"since": seq}).json()
                if r["actor"] == BOT
            ]
            # The configuration files are read once per repository (then cached, shared by all of
            # its jobs): counted apart so the release's own reads can be held to the budget.
            config_reads = sum(1 for r in log if r["method"] == "GET" and "/contents/.github/" in r["path"])
            return {
                "reads": sum(1 for r in log if r["method"] == "GET"),
                "config_reads": config_reads,
                "release_reads": sum(1 for r in log if r["method"] == "GET") - config_reads,
                "writes_ok": sum(1 for r in log if r["method"] != "GET" and r["status"] < 400),
                "writes_attempted": sum(1 for r in log if r["method"] != "GET"),
                # What GitHub charges to the primary limit: everything but a 304 Not Modified.
                "counted": sum(1 for r in log if r["status"] != 304),
                "not_modified": sum(1 for r in log if r["status"] == 304),
                "error": error,
                "paths": sorted({f"{r['method']} {r['path']}" for r in log}),
            }

        first = reconcile()
        tracking = [
            i for i in api.get("/repos/acme/rocket/issues", params={"creator": BOT, "state": "all"}).json()
        ]
        for i in range(args.comments):
            api.post(
                f"/repos/acme/rocket/issues/{tracking[0]['number']}/comments", json={"body": f"note {i}"}
            )
            if comment_interval > 0:
                httpx.post(
                    f"{sb.base_url}/_sandbox/clock", json={"advance_seconds": comment_interval}
                ).raise_for_status()
        reconcile()  # records the comment watermark
        steady = reconcile()
        # Nothing changed since ``steady`` read everything: every read is revalidated (304) or
        # served inside its freshness window, so GitHub counts nothing against the primary limit.
        unchanged = reconcile()
        n = args.items
        c = args.commits
        budget = math.ceil(n / 100) + math.ceil(c / 250) + 8
        services.close()
        return {
            "N": n, "C": c, "budget_reads": budget, "first": first, "steady": steady, "unchanged": unchanged
        }


if __name__ == "__main__":
    main()
