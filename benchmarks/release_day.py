"""A busy release day: the same whole release played on N repositories of one installation at once,
at GitHub's real secondary limits, with the read cache on and off.

Each repository gets: a milestone (the release), its release branch, ``--pulls`` pull requests into
it (labelled, milestoned by a release manager, UAT and approval by command, merged), two work
issues (one closed, one left open to be carried over), a candidate tag, UAT on the tracking issue,
the final tag (notes published), ``/stage monitor`` and the milestone closed (retrospective). The
people act as the seeded users over the sandbox's REST API; a real ``release-bot serve`` does the
rest, paced at 80 writes and 900 points a minute per installation (GitHub's documented limits,
not the sandbox's relaxed ones).

Measured from the outside: the sandbox's request log (every request the bot made and GitHub's
status, so a 304 is visible), its webhook deliveries, and for every step the time from the
person's action until its effect is visible (polled every 50 ms by a reader whose requests are
not the bot's). The longest pacing delay comes from the bot's own metric.

Usage:
    .venv/bin/python benchmarks/release_day.py                  # N = 1, 5, 10; cache on and off
    .venv/bin/python benchmarks/release_day.py --repos 1 --pulls 2 --cache on
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.stages import STAGE_TITLES  # noqa: E402
from bot.demo import readback as rb  # noqa: E402
from bot.demo.actors import Cast  # noqa: E402
from bot.demo.environment import DemoEnvironment  # noqa: E402
from bot.demo.errors import DemoFailure  # noqa: E402

T = TypeVar("T")
PEOPLE = {"admin", "pm", "dev", "qa", "releaser", "triager", "outsider"}
REAL_LIMITS = {
    "GITHUB_WRITES_PER_MINUTE": "80",
    "GITHUB_WRITES_PER_HOUR": "500",
    "GITHUB_POINTS_PER_MINUTE": "900",
}
POLL_SECONDS = 0.05


class EffectMissing(RuntimeError):
    pass


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    gate: list[float] = field(default_factory=list)  # the merge gate's check runs only
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, what: str = "") -> None:
        with self.lock:
            self.latencies.append(seconds)
            if "gate" in what:
                self.gate.append(seconds)


@dataclass
class Release:
    """One repository's release, played step by step; every step waits for its effect."""

    api_url: str
    repo: str
    pulls: int
    timings: Timings
    think: float = 0.0  # seconds a person takes after seeing an effect, before the next action
    timeout: float = 180.0

    def __post_init__(self) -> None:
        self.cast = Cast(self.api_url, self.repo)
        self.reader = self.cast["admin"]
        self.milestone = 0
        self.tracking = 0

    def effect(self, began: float, what: str, probe: Callable[[], T | None]) -> T:
        deadline = began + self.timeout
        while True:
            value = probe()
            if value:
                self.timings.add(time.monotonic() - began, what)
                if self.think:
                    time.sleep(self.think)
                return value
            if time.monotonic() > deadline:
                raise EffectMissing(f"{self.repo}: {what} did not happen within {self.timeout:.0f}s")
            time.sleep(POLL_SECONDS)

    def stage(self, began: float, stage_id: str) -> None:
        title = STAGE_TITLES[stage_id]

        def probe() -> bool:
            issue = rb.tracking_issue(self.reader, self.milestone)
            return bool(issue) and rb.current_stage(issue.get("body") or "") == title

        self.effect(began, f"stage {title}", probe)

    def play(self) -> None:
        pm, dev, qa, releaser, triager = (self.cast[x] for x in ("pm", "dev", "qa", "releaser", "triager"))
        due = (datetime.now(UTC) + timedelta(days=21)).strftime("%Y-%m-%dT00:00:00Z")
        began = time.monotonic()
        self.milestone = int(pm.post("milestones", {"title": "v1.4.0", "due_on": due})["number"])
        issue = self.effect(
            began, "the tracking issue", lambda: rb.tracking_issue(self.reader, self.milestone)
        )
        self.tracking = int(issue["number"])
        self.stage(began, "plan")

        began = time.monotonic()
        dev.create_ref("refs/heads/release/1.4", dev.ref_sha("heads/main"))
        self.stage(began, "build_test")

        work = []
        for n in range(2):
            began = time.monotonic()
            item = dev.post("issues", {"title": f"Work item {n}", "milestone": self.milestone})
            triager.add_labels(int(item["number"]), "feature")
            work.append(int(item["number"]))

        heads: dict[int, str] = {}
        for n in range(self.pulls):
            branch = f"feature/{n}"
            dev.create_ref(f"refs/heads/{branch}", dev.ref_sha("heads/release/1.4"))
            dev.commit_file(branch, f"f{n}.txt", f"{n}\n", f"Change {n}")
            began = time.monotonic()
            pull = dev.post("pulls", {"title": f"Change {n}", "head": branch, "base": "release/1.4"})
            number = int(pull["number"])
            heads[number] = str(pull["head"]["sha"])
            dev.patch(f"issues/{number}", {"labels": ["feature"]})
            releaser.patch(f"issues/{number}", {"milestone": self.milestone})
            self.effect(
                began, f"the gate on #{number}", lambda n=number: _check(self.reader, heads[n], "failure")
            )

        for number, head in heads.items():
            began = time.monotonic()
            qa.comment(number, "/uat passed")
            releaser.comment(number, "/approve")
            self.effect(began, f"a green gate on #{number}", lambda h=head: _check(self.reader, h, "success"))

        for number in heads:
            began = time.monotonic()
            dev.merge(number)
            needle = f"(#{number})"
            self.effect(
                began,
                f"#{number} in the notes draft",
                lambda needle=needle: (
                    needle in ((rb.notes_release(self.reader, self.milestone) or {}).get("body") or "")
                ),
            )
        dev.patch(f"issues/{work[0]}", {"state": "closed"})

        began = time.monotonic()
        dev.create_ref("refs/tags/v1.4.0-rc.1", dev.ref_sha("heads/release/1.4"))
        self.stage(began, "uat")
        began = time.monotonic()
        qa.comment(self.tracking, "/uat passed")
        self.stage(began, "prepare")
        began = time.monotonic()
        dev.create_ref("refs/tags/v1.4.0", dev.ref_sha("heads/release/1.4"))
        self.effect(began, "the published release", lambda: _published(self.reader, self.milestone))
        self.stage(began, "deploy")
        began = time.monotonic()
        releaser.comment(self.tracking, "/stage monitor")
        self.stage(began, "monitor")
        began = time.monotonic()
        pm.patch(f"milestones/{self.milestone}", {"state": "closed"})
        self.stage(began, "future_planning")
        marker = f"release-bot:retro:{self.milestone}"
        self.effect(
            began, "the retrospective", lambda: rb.bot_comments(self.reader, self.tracking, containing=marker)
        )

    def close(self) -> None:
        self.cast.close()


def _check(reader: Any, sha: str, conclusion: str) -> bool:
    check = rb.gate_check(reader, sha)
    return bool(check) and check.get("status") == "completed" and check.get("conclusion") == conclusion


def _published(reader: Any, milestone: int) -> bool:
    release = rb.notes_release(reader, milestone)
    return bool(release) and not release.get("draft") and release.get("tag_name") == "v1.4.0"


def _pacing_max(bot_url: str) -> float | None:
    text = httpx.get(f"{bot_url}/metrics", timeout=10).text
    match = re.search(r"^release_bot_github_pacing_wait_max_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$", text, re.M)
    return float(match.group(1)) if match else None


# The repositories were set up (the App installed, its labels created) before the day began:
# their writes must not fill the first minute's window of the releases being measured.
SETUP_QUIET_SECONDS = 62.0
SETTLE_SECONDS = 120.0


def run(
    repos: int,
    pulls: int,
    cache: bool,
    think: float = 0.0,
    stagger: float = 0.0,
    quiet_start: bool = True,
    hourly_writes: int = 500,
    trace: str | None = None,
) -> dict[str, Any]:
    # The hourly write limit (GitHub's 500) binds only past about six releases in an hour; 0 plays
    # without it, on both sides (the bot's pacer and the sandbox), to see the minute's limits alone.
    limits = {**REAL_LIMITS, "GITHUB_WRITES_PER_HOUR": str(hourly_writes)}
    env = DemoEnvironment.start(
        extra_env={**limits, "GITHUB_CACHE": "on" if cache else "off", "WORKER_THREADS": "8"}
    )
    try:
        base = env.sandbox.base_url
        names = [f"day{k}" for k in range(1, repos + 1)]
        for name in names:
            httpx.post(
                f"{base}/_sandbox/repos", json={"owner": "acme", "name": name}, timeout=30
            ).raise_for_status()
        env.settle(timeout=60)
        # GitHub's secondary limits enforced by the sandbox itself: a 403 would show the bot overshot.
        sandbox_limits: dict[str, Any] = {"enforce": True}
        sandbox_limits["writes_per_hour"] = hourly_writes or 10**9
        httpx.post(f"{base}/_sandbox/limits", json=sandbox_limits, timeout=10).raise_for_status()
        if quiet_start:
            time.sleep(SETUP_QUIET_SECONDS)
        seq = _last_seq(base)
        deliveries_before = len(httpx.get(f"{base}/_sandbox/deliveries", timeout=30).json())
        timings = Timings()
        releases = [Release(env.sandbox.api_url, f"acme/{name}", pulls, timings, think) for name in names]
        began = time.monotonic()
        errors: list[str] = []
        def play(index: int, release: Release) -> None:
            time.sleep(index * stagger)  # a real day: releases start one after another, not at once
            release.play()

        with ThreadPoolExecutor(max_workers=repos) as pool:
            for future in [pool.submit(play, i, r) for i, r in enumerate(releases)]:
                try:
                    future.result()
                except EffectMissing as exc:
                    errors.append(str(exc))
        try:
            env.settle(timeout=SETTLE_SECONDS)
        except DemoFailure as exc:
            # Jobs still waiting are waiting on the pacer (the hour's write budget, past about five
            # releases in an hour): said in the row, the requests so far still counted.
            errors.append(f"not settled within {SETTLE_SECONDS:.0f}s: {exc}")
        wall = time.monotonic() - began
        for release in releases:
            release.close()
        everything = httpx.get(f"{base}/_sandbox/requests", params={"since": seq}, timeout=60).json()
        if trace:
            # People's requests stay in, in order: what each action made the bot read is readable.
            with open(trace, "w") as out:
                json.dump(everything, out, indent=0)
            shutil.copyfile(env.bot_log_path, trace + ".bot.log")  # the bot's own account of its jobs
        log = [r for r in everything if r.get("actor") not in PEOPLE]
        deliveries = len(httpx.get(f"{base}/_sandbox/deliveries", timeout=30).json()) - deliveries_before
        lat = sorted(timings.latencies)
        gate = sorted(timings.gate)
        not_modified = sum(1 for r in log if r["status"] == 304)
        return {
            "repos": repos,
            "pulls": pulls,
            "think": think,
            "hourly_writes": hourly_writes,
            "stagger": stagger,
            "cache": "on" if cache else "off",
            "deliveries": deliveries,
            "requests": len(log),
            "counted": len(log) - not_modified,
            "not_modified": not_modified,
            "writes": sum(1 for r in log if r["method"] != "GET"),
            "secondary_limit_403s": httpx.get(f"{base}/_sandbox/limits", timeout=10).json()["refused"],
            "per_delivery": round(len(log) / max(1, deliveries), 2),
            "per_release": round(len(log) / repos, 1),
            "counted_per_release": round((len(log) - not_modified) / repos, 1),
            "p50": round(statistics.median(lat), 3) if lat else None,
            "p95": round(lat[int(0.95 * (len(lat) - 1))], 3) if lat else None,
            "p95_gate": round(gate[int(0.95 * (len(gate) - 1))], 3) if gate else None,
            "pacing_max": _pacing_max(env.bot_url),
            "wall": round(wall, 1),
            "errors": errors,
            "endpoints": breakdown(log),
            "failed_jobs": env.queue().get("failed", 0),
        }
    finally:
        env.stop()


_SHA = re.compile(r"/[0-9a-f]{40}(?=/|$|\.\.\.)|(?<=\.\.\.)[0-9a-f]{40}")
_REPO = re.compile(r"^(/api/v3)?/repos/[^/]+/[^/]+")


def endpoint(method: str, path: str) -> str:
    """``PATCH /repos/acme/day3/issues/17?x=1`` → ``PATCH /issues/{n}``: one row per kind of request."""
    path = _REPO.sub("", path.split("?", 1)[0]) or "/"
    path = _SHA.sub(lambda m: "/{sha}" if m.group(0).startswith("/") else "{sha}", path)
    path = re.sub(r"/\d+(?=/|$)", "/{n}", path)
    path = re.sub(r"/(heads|tags)/[^?]+$", r"/\1/{ref}", path)
    path = re.sub(r"/compare/.+$", "/compare/{range}", path)
    return f"{method} {path}"


def breakdown(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests, counted (non-304) and 304s per endpoint, most counted first."""
    rows: dict[str, dict[str, Any]] = {}
    for r in log:
        name = endpoint(r["method"], r["path"])
        row = rows.setdefault(name, {"requests": 0, "counted": 0, "not_modified": 0})
        row["requests"] += 1
        if r["status"] == 304:
            row["not_modified"] += 1
        else:
            row["counted"] += 1
    return [
        {"endpoint": name, **row}
        for name, row in sorted(rows.items(), key=lambda kv: (-kv[1]["counted"], -kv[1]["requests"], kv[0]))
    ]


def breakdown_table(rows: list[dict[str, Any]], per: int = 1) -> str:
    lines = ["| endpoint | requests | counted | 304 |", "|---|---|---|---|"]
    for r in rows:
        counts = " | ".join(f"{r[name] / per:g}" for name in ("requests", "counted", "not_modified"))
        lines.append(f"| `{r['endpoint']}` | {counts} |")
    return "\n".join(lines)


def _last_seq(base: str) -> int:
    log = httpx.get(f"{base}/_sandbox/requests", timeout=60).json()
    return int(log[-1]["seq"]) if log else 0


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| N | think / stagger | cache | deliveries | requests | per delivery | counted (non-304) "
        "| per release (all / counted / writes) | p50 / p95 event → effect | p95 gate | longest pacing wait |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        pacing = "—" if r["pacing_max"] is None else f"{r['pacing_max']:.2f} s"
        if any(e.startswith("not settled") for e in r["errors"]):
            pacing += " (jobs still waiting at the end)"
        writes = round(r["writes"] / r["repos"], 1)
        lines.append(
            f"| {r['repos']} | {r['think']:g} s / {r.get('stagger', 0):g} s | {r['cache']} "
            f"| {r['deliveries']} | {r['requests']} | {r['per_delivery']} | {r['counted']} "
            f"| {r['per_release']} / {r['counted_per_release']} / {writes} "
            f"| {r['p50']} s / {r['p95']} s | {r.get('p95_gate')} s | {pacing} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--pulls", type=int, default=4)
    parser.add_argument("--cache", choices=["on", "off"], nargs="+", default=["on", "off"])
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds people take between seeing an effect and acting again (0: at once)")
    parser.add_argument("--stagger", type=float, default=0.0,
                        help="seconds between the starts of two repositories' releases (0: all at once)")
    parser.add_argument("--no-quiet-start", action="store_true",
                        help="start at once after set-up (its label writes then share the first minute)")
    parser.add_argument("--hourly-writes", type=int, default=500,
                        help="writes an hour per installation (GitHub: 500); 0: without it")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument("--breakdown", action="store_true",
                        help="print requests per endpoint (per release) after each run")
    parser.add_argument("--trace", metavar="PATH",
                        help="write the whole request log (people's requests too) of the last run as JSON")
    args = parser.parse_args(argv)
    rows = []
    for repos in args.repos:
        for cache in args.cache:
            row = run(
                repos, args.pulls, cache == "on", args.think, args.stagger, not args.no_quiet_start,
                args.hourly_writes, args.trace,
            )
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "endpoints"}), file=sys.stderr, flush=True)
            if args.breakdown:
                print(f"\nN={repos} cache {cache}, per release:", file=sys.stderr)
                print(breakdown_table(row["endpoints"], per=repos), file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        print(json.dumps(rows, indent=2))
    return 1 if any(r["errors"] or r["failed_jobs"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
