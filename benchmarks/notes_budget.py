"""Release notes budget: read calls of one rebuild on the sandbox, and render time.

    .venv/bin/python benchmarks/notes_budget.py [--sizes 100,1000,5000] [--render-runs 7]

For each N it starts a fresh sandbox (no webhook receiver), tags `v1.3.0`, opens a `v1.4.0`
milestone with N closed items — up to --max-prs merged pull requests (each a branch, a commit, a
pull request, a merge: C = 2 commits each since `v1.3.0`), the rest closed issues —, cuts
`release/1.4`, then runs `sync_release_notes` as the App twice:
a cold rebuild (creates the draft), a rebuild with nothing new, the rebuild that publishes on
the pushed tag `v1.4.0` (and comments on / labels the first 30 items as released), and the
rebuild after it (the next 30). It counts the App's requests
through `GET /_sandbox/requests` and compares reads with the issue's budget
ceil(N/100) + ceil(C/250) + 8. Rendering 5,000 pull requests is timed separately (pure code).

release-drafter, for comparison, documents its cost as one GraphQL call per `commits-since`
page of 15 commits by default (a milestone of C commits: ceil(C/15) calls) plus its REST calls.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config.defaults import default_config  # noqa: E402
from bot.core.notes import NoteItem, ReleaseInfo, render_notes, resolve_notes_config  # noqa: E402
from bot.core.versions import Version  # noqa: E402
from bot.github.notes_facts import NotesInputs  # noqa: E402
from bot.jobs import JobSpec  # noqa: E402
from bot.reconcilers.context import JobContext  # noqa: E402
from bot.reconcilers.release_notes import sync_release_notes  # noqa: E402

REPO = "acme/rocket"
LABELS = ("feature", "bug", "chore", "documentation", "enhancement", "")


class Store:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get_state(self, name: str) -> Any:
        return self.data.get(name)

    def set_state(self, name: str, value: Any) -> None:
        self.data[name] = value


def seed(api: httpx.Client, n: int, max_prs: int) -> tuple[int, int, int]:
    """Milestone v1.4.0 after tag v1.3.0 with N closed items: min(N, max_prs) merged pull requests
    (a branch, a commit, a pull request, a merge each: 2 commits) and the rest closed issues.
    Returns (milestone, pull requests, commits since v1.3.0)."""
    main = api.get(f"/repos/{REPO}/git/ref/heads/main").json()["object"]["sha"]
    api.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/tags/v1.3.0", "sha": main}).raise_for_status()
    milestone = api.post(f"/repos/{REPO}/milestones", json={"title": "v1.4.0"}).json()["number"]
    content = base64.b64encode(b"x\n").decode()
    prs = min(n, max_prs)
    tip = main
    for i in range(prs):
        api.post(f"/repos/{REPO}/git/refs", json={"ref": f"refs/heads/t{i}", "sha": tip}).raise_for_status()
        api.put(f"/repos/{REPO}/contents/c/{i}.txt",
                json={"message": f"change {i}", "content": content, "branch": f"t{i}"}).raise_for_status()
        pr = api.post(f"/repos/{REPO}/pulls", json={"title": f"Change number {i} for @someone",
                                                    "head": f"t{i}", "base": "main"}).json()["number"]
        label = LABELS[i % len(LABELS)]
        api.patch(f"/repos/{REPO}/issues/{pr}",
                  json={"milestone": milestone, "labels": [label] if label else []}).raise_for_status()
        merged = api.put(f"/repos/{REPO}/pulls/{pr}/merge", json={})
        merged.raise_for_status()
        tip = merged.json()["sha"]
        if (i + 1) % 250 == 0:
            print(f"  {i + 1}/{prs} pull requests", file=sys.stderr)
    for i in range(n - prs):
        number = api.post(f"/repos/{REPO}/issues", json={"title": f"Issue {i}", "milestone": milestone}).json()["number"]
        api.patch(f"/repos/{REPO}/issues/{number}", json={"state": "closed"}).raise_for_status()
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1}/{n - prs} issues", file=sys.stderr)
    api.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/heads/release/1.4", "sha": tip}).raise_for_status()
    return milestone, prs, 2 * prs


def app_context(sandbox: Any, key_path: str) -> JobContext:
    from bot.github.auth import GitHubApp
    from bot.github.pacer import PacerLimits

    # The sandbox's relaxed pacing (as `release-bot serve` in sandbox mode): this script counts
    # calls; with GitHub's 80 writes a minute the second marking run would requeue (RetryLater).
    app = GitHubApp(1, Path(key_path).read_text(), base_url=sandbox.api_url,
                    pacer_limits=PacerLimits.for_mode(sandbox=True))
    config = default_config()
    config["_sources"] = {"release_yml": None, "release_drafter_yml": None}
    return JobContext(job=JobSpec("release:1@1", 1, REPO, "bench"), gh=app.client_for(1), repo_full_name=REPO,
                      bot_login=app.bot_login, app_id=1, config=config, config_error=None, store=Store(),
                      enqueue=lambda jobs: None)


def count_requests(base_url: str, since: int) -> tuple[int, int, int]:
    reqs = httpx.get(f"{base_url}/_sandbox/requests", params={"since": since}, timeout=60).json()
    bot = [r for r in reqs if r["actor"] == "release-bot[bot]"]
    reads = sum(1 for r in bot if r["method"] == "GET")
    last = reqs[-1]["seq"] if reqs else since
    return reads, len(bot) - reads, last


def measure_sandbox(n: int, max_prs: int) -> dict[str, Any]:
    from bot.sandbox.server import start_sandbox

    with tempfile.TemporaryDirectory() as tmp:
        key = str(Path(tmp) / "app.pem")
        sandbox = start_sandbox(port=0, webhook_url=None, app_key_path=key)
        try:
            api = httpx.Client(base_url=sandbox.api_url, timeout=60,
                               headers={"Authorization": "token sandbox-token-admin"})
            started = time.perf_counter()
            milestone, prs, commits = seed(api, n, max_prs)
            seeded = time.perf_counter() - started
            ctx = app_context(sandbox, key)
            facts = NotesInputs(milestone_number=milestone, version=Version.parse("1.4.0"),
                                branch="release/1.4", default_branch="main")
            _r, _w, seq = count_requests(sandbox.base_url, 0)
            runs = []
            for label in ("cold rebuild", "rebuild, nothing new", "publish (tag pushed)", "rebuild after publish"):
                if label.startswith("publish"):
                    tip = api.get(f"/repos/{REPO}/git/ref/heads/release/1.4").json()["object"]["sha"]
                    api.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/tags/v1.4.0", "sha": tip}).raise_for_status()
                t0 = time.perf_counter()
                outcome = sync_release_notes(ctx, facts)
                elapsed = time.perf_counter() - t0
                reads, writes, seq = count_requests(sandbox.base_url, seq)
                runs.append({"run": label, "reads": reads, "writes": writes, "seconds": round(elapsed, 3),
                             "included": len(outcome.included), "collapsed": outcome.collapsed})
        finally:
            sandbox.stop()
    budget = math.ceil(n / 100) + math.ceil(commits / 250) + 8
    return {"N": n, "pull_requests": prs, "C": commits, "budget_reads": budget, "release_drafter_graphql_calls": math.ceil(commits / 15),
            "seed_seconds": round(seeded, 1), "runs": runs}


def measure_render(n: int, runs: int) -> dict[str, Any]:
    items = [NoteItem(number=i, title=f"Change number {i} touching @someone and #{i}", author=f"user{i % 300}",
                      url=f"https://github.com/{REPO}/pull/{i}", labels=(LABELS[i % len(LABELS)],),
                      merged_at=f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z") for i in range(1, n + 1)]
    config = resolve_notes_config(default_config()["notes"])
    release = ReleaseInfo("1.4.0", "v1.4.0", "v1.3.0", "acme", "rocket", milestone_number=1)
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        notes = render_notes(items, config, release)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # On a shared machine wall time includes waiting for a core: the best run and the CPU time
    # show the renderer's own cost, the median and max what a busy host adds.
    return {"N": n, "min_ms": round(min(times) * 1000, 1), "median_ms": round(statistics.median(times) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1), "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
            "chars": len(notes.markdown), "collapsed": list(notes.collapsed)}


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--render-runs", type=int, default=7)
    parser.add_argument("--max-prs", type=int, default=500,
                        help="merged pull requests per milestone (the rest are closed issues): the sandbox's "
                             "commit graph makes each merge slower as history grows")
    parser.add_argument("--skip-sandbox", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"render": measure_render(5000, args.render_runs), "sandbox": []}
    print(json.dumps({"loadavg": _loadavg(), "render": results["render"]}), flush=True)
    if not args.skip_sandbox:
        for n in (int(s) for s in args.sizes.split(",") if s):
            row = measure_sandbox(n, args.max_prs)
            results["sandbox"].append(row)
            print(json.dumps({**row, "loadavg_after": _loadavg()}), flush=True)
    ok = results["render"]["min_ms"] < 100 and all(
        run["reads"] <= row["budget_reads"] for row in results["sandbox"] for run in row["runs"])
    print("within budget" if ok else "OVER BUDGET", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
