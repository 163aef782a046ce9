#!/usr/bin/env python3
"""Soak: resident memory of one real `release-bot serve` over 10,000 webhook events.

    .venv/bin/python benchmarks/soak.py [--events 10000] [--sample-every 500] [--json out.json]

Starts the sandbox (in this process) and a real `release-bot serve` (its own process group:
the gunicorn master and its worker, which runs intake and the job workers) against it. Sets up a
release with a release branch, a candidate tag and a dozen gated pull requests, then sends the bot
``--events`` signed deliveries: the real payloads the sandbox sent while setting up (pull
requests, comments, labels, milestones, pushes, tags), each with a fresh delivery id so every one
is accepted, enqueued and reconciled, interleaved with real activity through the sandbox's API
every 100 events (a comment, a command, a label, a new commit) so the bot also writes. After each
``--sample-every`` events it waits for the queue to drain and samples VmRSS from /proc for every
process of the bot's group (and PSS, which counts the pages the worker shares with the master
once; the target is on the stricter RSS sum).

Prints one JSON object: the samples, the peak, and the growth between the sample at half the
events and the last. Targets (issue 16): total RSS < 150 MB after 10,000 events, and flat from
5,000 to 10,000 (growth < 10 MB). Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "soak-webhook-secret"
REPO = "/repos/acme/rocket"
WEBHOOK_PATH = "/api/github/webhooks"
TARGET_MB = 150.0
FLAT_MB = 10.0


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages (the gunicorn worker shares the master's) counted once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is ``pgid`` (the serve and its gunicorn worker)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after ")": state, ppid, pgrp
            out.append(int(entry.name))
    return sorted(out)


class Soak:
    def __init__(self, workdir: Path, seed: int = 16) -> None:
        from bot.sandbox.server import start_sandbox

        self.workdir = workdir
        self.random = random.Random(seed)
        key = workdir / "app.pem"
        with socket.socket() as held:  # the bot's port stays ours while the sandbox binds its own
            held.bind(("127.0.0.1", 0))
            self.port = held.getsockname()[1]
            self.sandbox = start_sandbox(
                port=0,
                webhook_url=f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}",
                webhook_secret=SECRET,
                app_key_path=str(key),
            )
        env = {
            **os.environ,
            "WEBHOOK_SECRET": SECRET,
            "QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
            "APP_ID": "1",
            "PRIVATE_KEY_PATH": str(key),
            "GITHUB_API_URL": self.sandbox.api_url,
            "SANDBOX": "1",
            "LOG_LEVEL": "WARNING",
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "PYTHONPATH": str(ROOT),
        }
        self.log = open(workdir / "bot.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "serve"],
            cwd=workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"serve exited {self.proc.returncode}: {(workdir / 'bot.log').read_text()[-2000:]}"
                )
            try:
                if self.http.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self._n = itertools.count(1)

    # ------------------------------------------------------------------ the sandbox's users

    def api(self, login: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.sandbox.api_url,
            timeout=60,
            headers={"Authorization": f"token sandbox-token-{login}"},
        )

    @staticmethod
    def ok(r: httpx.Response) -> Any:
        if r.status_code >= 300:
            raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def commit(self, api: httpx.Client, branch: str) -> None:
        n = next(self._n)
        self.ok(
            api.put(
                f"{REPO}/contents/soak/{n}.txt",
                json={
                    "message": f"change {n}",
                    "branch": branch,
                    "content": base64.b64encode(f"{n}\n".encode()).decode(),
                },
            )
        )

    def setup(self, pulls: int = 12) -> None:
        admin, pm, dev = self.api("admin"), self.api("pm"), self.api("dev")
        main = self.ok(admin.get(f"{REPO}/git/ref/heads/main"))["object"]["sha"]
        self.ok(admin.post(f"{REPO}/git/refs", json={"ref": "refs/heads/release/1.4", "sha": main}))
        self.milestone = self.ok(
            pm.post(f"{REPO}/milestones", json={"title": "v1.4.0", "due_on": "2030-12-01T00:00:00Z"})
        )["number"]
        self.ok(pm.post(f"{REPO}/milestones", json={"title": "v1.5.0"}))
        self.pulls: list[tuple[int, str]] = []
        for i in range(pulls):
            branch = f"soak-{i}"
            self.ok(dev.post(f"{REPO}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": main}))
            self.commit(dev, branch)
            number = self.ok(
                dev.post(f"{REPO}/pulls", json={"title": f"Soak {i}", "head": branch, "base": "release/1.4"})
            )["number"]
            self.ok(self.api("releaser").patch(f"{REPO}/issues/{number}", json={"milestone": self.milestone}))
            self.pulls.append((number, branch))
        self.ok(admin.post(f"{REPO}/git/refs", json={"ref": "refs/tags/v1.4.0-rc.1", "sha": main}))
        self.settle()
        with self.sandbox.state.lock:
            self.templates = [
                (d.event, d.payload) for d in self.sandbox.state.deliveries if d.status_code == 202
            ]
        if not self.templates:
            raise RuntimeError("the bot accepted none of the set-up deliveries")

    def activity(self) -> None:
        """One real change by a person, as the day goes on: the bot reads it and writes."""
        number, branch = self.random.choice(self.pulls)
        kind = self.random.randrange(4)
        if kind == 0:
            self.ok(self.api("qa").post(f"{REPO}/issues/{number}/comments", json={"body": "/uat passed"}))
        elif kind == 1:
            self.ok(
                self.api("dev").post(f"{REPO}/issues/{number}/comments", json={"body": "Looks good to me."})
            )
        elif kind == 2:
            self.ok(self.api("triager").post(f"{REPO}/issues/{number}/labels", json={"labels": ["feature"]}))
        else:
            self.commit(self.api("dev"), branch)

    # ------------------------------------------------------------------ events and samples

    def post(self, event: str, payload: dict[str, Any]) -> int:
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            "User-Agent": "GitHub-Hookshot/soak",
        }
        return self.http.post(self.url + WEBHOOK_PATH, content=body, headers=headers).status_code

    def settle(self, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sandbox.wait_idle(max(0.1, deadline - time.monotonic()))
            queue = self.http.get(self.url + "/healthz").json()["queue"]
            if queue["pending"] == 0 and queue["running"] == 0 and self.sandbox.wait_idle(0.01):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the bot did not drain its queue in {timeout}s")

    def sample(self, events: int) -> dict[str, Any]:
        pids = group_pids(self.proc.pid)
        per = {pid: rss_kb(pid) for pid in pids}
        return {
            "events": events,
            "rss_mb": round(sum(per.values()) / 1024, 1),
            "pss_mb": round(sum(pss_kb(pid) for pid in pids) / 1024, 1),
            "largest_mb": round(max(per.values(), default=0) / 1024, 1),
            "processes": len(pids),
        }

    def jobs_run(self) -> dict[str, int]:
        """Jobs the bot ran, by outcome (its /metrics): how much reconciling the events caused."""
        out: dict[str, int] = {}
        for line in self.http.get(self.url + "/metrics").text.splitlines():
            if line.startswith("release_bot_jobs_total{"):
                outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
                out[outcome] = out.get(outcome, 0) + int(float(line.rsplit(" ", 1)[1]))
        return out

    def run(self, events: int, sample_every: int, concurrency: int = 4) -> dict[str, Any]:
        self.setup()
        samples = [self.sample(0)]
        statuses: dict[int, int] = {}
        started = time.monotonic()
        sent = 0
        with ThreadPoolExecutor(concurrency) as pool:
            while sent < events:
                batch = min(sample_every, events - sent)
                picks = [self.random.choice(self.templates) for _ in range(batch)]
                for i in range(0, batch, 100):
                    chunk = picks[i : i + 100]
                    for status in pool.map(lambda t: self.post(*t), chunk):
                        statuses[status] = statuses.get(status, 0) + 1
                    self.activity()
                sent += batch
                self.settle()
                samples.append(self.sample(sent))
                print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
        elapsed = time.monotonic() - started
        with self.sandbox.state.lock:
            real = len(self.sandbox.state.deliveries)
        half = min(samples[1:], key=lambda s: abs(s["events"] - events / 2))
        last = samples[-1]
        return {
            "events": events,
            "real_deliveries": real,
            "statuses": statuses,
            "jobs": self.jobs_run(),
            "seconds": round(elapsed, 1),
            "events_per_second": round(events / elapsed, 1),
            "samples": samples,
            "rss_mb_at_end": last["rss_mb"],
            "pss_mb_at_end": last["pss_mb"],
            "largest_process_mb_at_end": last["largest_mb"],
            "peak_rss_mb": max(s["rss_mb"] for s in samples),
            "growth_mb_second_half": round(last["rss_mb"] - half["rss_mb"], 1),
            "from_events": half["events"],
            "targets": {"rss_under_mb": TARGET_MB, "flat_within_mb": FLAT_MB},
        }

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        self.http.close()
        self.sandbox.stop()


def soak(events: int = 10_000, sample_every: int = 500, workdir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="release-bot-soak-") as tmp:
        run = Soak(workdir or Path(tmp))
        try:
            return run.run(events, sample_every)
        finally:
            run.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = soak(args.events, args.sample_every)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    ok = result["rss_mb_at_end"] < TARGET_MB and abs(result["growth_mb_second_half"]) < FLAT_MB
    print(
        ("OK" if ok else "MISSED") + f": {result['rss_mb_at_end']} MB after {args.events} events, "
        f"{result['growth_mb_second_half']:+} MB since {result['from_events']}",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
