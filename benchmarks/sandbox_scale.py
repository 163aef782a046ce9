"""How the sandbox's cost grows with the size of a repository (issue 3, "Scale").

Two figures, each on a fresh sandbox in its own process (as the bot's benchmarks run it):

- ``milestone_listing``: seed ``--issues`` issues into one milestone, then page through
  ``GET /repos/acme/rocket/issues?milestone=N&state=all&per_page=100`` (what the release reconciler
  reads every run). Reports the seeding time, the full listing time and the time of its first page.
- ``merges``: ``--merges`` pull requests, each a branch + one commit + ``POST /pulls`` +
  ``PUT /pulls/{n}/merge`` on ``main``. Reports the total and the time of the first and last
  hundred merges: a flat profile means merge cost does not grow with history.

    .venv/bin/python benchmarks/sandbox_scale.py                  # 5,000 issues, 1,000 merges
    .venv/bin/python benchmarks/sandbox_scale.py --issues 1000 --merges 200
    .venv/bin/python benchmarks/sandbox_scale.py --issues 0 --files 50   # a fixed-size tree

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_get_rate import sandbox_process  # noqa: E402

HEADERS = {"Authorization": "token sandbox-token-admin", "Accept": "application/vnd.github+json"}
REPO = "/repos/acme/rocket"


def _ok(resp: httpx.Response) -> Any:
    if resp.status_code >= 300:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:300]}"
        )
    return resp.json() if resp.content else None


def milestone_listing(api_url: str, issues: int) -> dict[str, Any]:
    with httpx.Client(base_url=api_url, headers=HEADERS, timeout=120) as http:
        number = _ok(http.post(f"{REPO}/milestones", json={"title": "v9.0.0"}))["number"]
        t0 = time.perf_counter()
        for i in range(issues):
            _ok(http.post(f"{REPO}/issues", json={"title": f"issue {i}", "milestone": number}))
        seeded = time.perf_counter() - t0
        t1 = time.perf_counter()
        first = http.get(f"{REPO}/issues", params={"milestone": number, "state": "all", "per_page": 100})
        first_page = time.perf_counter() - t1
        items = _ok(first)
        total = len(items)
        url = first.links.get("next", {}).get("url")
        while url:
            resp = http.get(url)
            total += len(_ok(resp))
            url = resp.links.get("next", {}).get("url")
        listed = time.perf_counter() - t1
        ms = _ok(http.get(f"{REPO}/milestones/{number}"))
    if total != issues or ms["open_issues"] != issues:
        raise RuntimeError(f"listed {total}, milestone says {ms['open_issues']}, expected {issues}")
    return {
        "issues": issues,
        "seed_seconds": round(seeded, 2),
        "seed_per_issue_ms": round(seeded / issues * 1000, 2),
        "list_all_seconds": round(listed, 3),
        "pages": -(-issues // 100),
        "first_page_ms": round(first_page * 1000, 1),
    }


def merges(api_url: str, count: int, files: int = 0) -> dict[str, Any]:
    """``files`` 0: each PR adds a new file (the tree grows with the history); N: PRs rewrite N files
    in turn (the tree stays small, so any growth left would come from the history itself)."""
    durations: list[float] = []
    with httpx.Client(base_url=api_url, headers=HEADERS, timeout=120) as http:
        root_sha = _ok(http.get(f"{REPO}/git/ref/heads/main"))["object"]["sha"]
        t0 = time.perf_counter()
        for i in range(count):
            started = time.perf_counter()
            tip = _ok(http.get(f"{REPO}/git/ref/heads/main"))["object"]["sha"]
            branch = f"feature/{i}"
            _ok(http.post(f"{REPO}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": tip}))
            path = f"{REPO}/contents/src/f{i % files if files else i}.txt"
            change: dict[str, Any] = {
                "message": f"change {i}",
                "branch": branch,
                "content": base64.b64encode(f"{i}\n".encode()).decode(),
            }
            current = http.get(path, params={"ref": branch})
            if current.status_code == 200:
                change["sha"] = current.json()["sha"]
            _ok(http.put(path, json=change))
            pr = _ok(http.post(f"{REPO}/pulls", json={"title": f"PR {i}", "head": branch, "base": "main"}))
            merged = _ok(http.put(f"{REPO}/pulls/{pr['number']}/merge", json={}))
            if not merged.get("merged"):
                raise RuntimeError(f"PR {pr['number']} did not merge: {merged}")
            durations.append(time.perf_counter() - started)
        total = time.perf_counter() - t0
        # A compare across the whole history and a history listing, after the merges.
        t1 = time.perf_counter()
        _ok(http.get(f"{REPO}/commits", params={"sha": "main", "per_page": 30}))
        history_ms = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        cmp = _ok(http.get(f"{REPO}/compare/{root_sha}...main", params={"per_page": 250}))
        compare_ms = (time.perf_counter() - t2) * 1000
        if cmp["ahead_by"] != 2 * count:
            raise RuntimeError(f"compare says {cmp['ahead_by']} ahead, expected {2 * count}")
    window = min(100, count)
    return {
        "merges": count,
        "files": files or "one new file per PR",
        "total_seconds": round(total, 2),
        "first_window_ms_per_merge": round(sum(durations[:window]) / window * 1000, 2),
        "last_window_ms_per_merge": round(sum(durations[-window:]) / window * 1000, 2),
        "window": window,
        "quarters_ms_per_merge": [round(sum(q) / len(q) * 1000, 2) for q in _quarters(durations)],
        "history_first_page_ms": round(history_ms, 1),
        "compare_ms": round(compare_ms, 1),
    }


def _quarters(values: list[float]) -> list[list[float]]:
    size = max(1, len(values) // 4)
    return [values[i : i + size] for i in range(0, size * 4, size) if values[i : i + size]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--merges", type=int, default=1000)
    parser.add_argument(
        "--files",
        type=int,
        default=0,
        help="PRs rewrite this many files in turn (default 0: a new file per PR)",
    )
    args = parser.parse_args(argv)
    out: dict[str, Any] = {}
    if args.issues:
        with sandbox_process() as url:
            out["milestone_listing"] = milestone_listing(url, args.issues)
    if args.merges:
        with sandbox_process() as url:
            out["merges"] = merges(url, args.merges, args.files)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
