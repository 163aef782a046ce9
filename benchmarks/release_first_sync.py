"""First sync of a repository with many releases in flight, paced at GitHub's real secondary limits.

    .venv/bin/python benchmarks/release_first_sync.py [--milestones 30] [--writes-per-minute 80]
                                                      [--points-per-minute 900]

A sandbox in-process and a real `release-bot serve` (subprocess) with the pacer at GitHub's documented
per-installation limits (80 content-creating requests and 900 points a minute; GET 1 point, writes 5)
instead of the sandbox's relaxed ones. A repository with M open version milestones is seeded while it
is out of the installation, then added (`installation_repositories` `added`). The bot's requests are
stamped as the sandbox logs them, and the busiest 60-second windows are reported against the
limits. Takes a few minutes at M=30: the pacer holds writes (and requeues jobs whose wait would be
long) until the windows allow them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BOT = "release-bot[bot]"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


def _harness() -> Any:
    spec = importlib.util.spec_from_file_location("e2e_harness", ROOT / "tests" / "e2e" / "harness.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def busiest_window(stamped: list[tuple[float, str]], window: float = 60.0) -> tuple[int, int]:
    """(most writes, most points) in any `window` seconds of (time, method) pairs."""
    most_writes = most_points = writes = points = 0
    inside: deque[tuple[float, str]] = deque()
    for at, method in sorted(stamped):
        inside.append((at, method))
        writes += method in WRITES
        points += 5 if method in WRITES else 1
        while inside and inside[0][0] <= at - window:
            _, old = inside.popleft()
            writes -= old in WRITES
            points -= 5 if old in WRITES else 1
        most_writes, most_points = max(most_writes, writes), max(most_points, points)
    return most_writes, most_points


def shortest_span(times: list[float], count: int) -> float | None:
    """The shortest time holding ``count`` consecutive events (None: fewer events). Above the limit
    (count = limit + 1) a span just under 60 s is send-time jitter; a much shorter one is a pacing gap."""
    times = sorted(times)
    if count < 1 or len(times) < count:
        return None
    return min(times[i + count - 1] - times[i] for i in range(len(times) - count + 1))


def measure(
    milestones: int, writes_per_minute: float, points_per_minute: float, timeout: float = 900
) -> dict[str, Any]:
    harness = _harness()
    from bot.sandbox.server import start_sandbox

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = harness.free_port()
        key = work / "app.pem"
        sandbox = start_sandbox(
            port=0,
            webhook_url=f"http://127.0.0.1:{port}{harness.WEBHOOK_PATH}",
            webhook_secret=harness.SECRET,
            app_key_path=str(key),
        )
        (work / "bot").mkdir()
        bot = harness.BotProcess(
            workdir=work / "bot",
            port=port,
            env={
                "APP_ID": "1",
                "PRIVATE_KEY_PATH": str(key),
                "GITHUB_API_URL": sandbox.api_url,
                "SANDBOX": "1",
                "WEBHOOK_SECRET": harness.SECRET,
                "QUEUE_URL": f"sqlite:///{work / 'bot' / 'queue.db'}",
                "LOG_LEVEL": "WARNING",
                # GitHub's limits, not the sandbox's relaxed defaults (explicit settings win).
                "GITHUB_WRITES_PER_MINUTE": str(writes_per_minute),
                "GITHUB_POINTS_PER_MINUTE": str(points_per_minute),
            },
        )
        try:
            bot.start()
            e2e = harness.E2E(sandbox=sandbox, bot=bot)
            admin_base = f"{sandbox.base_url}/_sandbox"
            httpx.post(f"{admin_base}/repos", json={"owner": "acme", "name": "big"}).raise_for_status()
            httpx.post(
                f"{admin_base}/installations/1/repositories", json={"remove": ["acme/big"]}
            ).raise_for_status()
            api = e2e.api("admin")
            for i in range(milestones):
                body: dict[str, Any] = {"title": f"v1.{i}.0"}
                if i % 3 == 0:
                    body["due_on"] = "2030-12-01T00:00:00Z"
                api.post("/repos/acme/big/milestones", json=body).raise_for_status()
            e2e.settle(timeout=120)

            # Every request the sandbox serves, stamped when it is logged (the sandbox runs in this
            # process: its request log is wrapped, so the times are exact, not polled).
            stamped: list[tuple[float, str]] = []
            statuses: list[int] = []
            state = sandbox.state
            log_request = state.log_request

            def stamping(method: str, path: str, status: int, actor: str | None) -> None:
                if actor == BOT:
                    stamped.append((time.monotonic(), method))
                    statuses.append(status)
                log_request(method, path, status, actor)

            state.log_request = stamping
            started = time.monotonic()
            httpx.post(
                f"{admin_base}/installations/1/repositories", json={"add": ["acme/big"]}
            ).raise_for_status()
            e2e.settle(timeout=timeout)
            duration = time.monotonic() - started
            state.log_request = log_request
            issues = [
                i
                for page in range(1, 1 + milestones // 100 + 2)
                for i in api.get(
                    "/repos/acme/big/issues",
                    params={"creator": BOT, "state": "all", "per_page": 100, "page": page},
                ).json()
            ]
            most_writes, most_points = busiest_window(stamped)
            reads = sum(1 for _, m in stamped if m not in WRITES)
            return {
                "milestones": milestones,
                "tracking_issues": sum(1 for i in issues if "release-bot:tracking:" in (i.get("body") or "")),
                "calls": len(stamped),
                "reads": reads,
                "writes": len(stamped) - reads,
                "errors": sum(1 for s in statuses if s >= 400 and s != 404),
                "duration_seconds": round(duration, 1),
                "calls_per_release": round(len(stamped) / milestones, 1),
                "limits_per_minute": {"writes": writes_per_minute, "points": points_per_minute},
                "busiest_minute": {"writes": most_writes, "points": most_points},
                "shortest_span_of_limit_plus_one_writes_s": _rounded(
                    shortest_span([t for t, m in stamped if m in WRITES], int(writes_per_minute) + 1)
                ),
            }
        finally:
            bot.kill()
            sandbox.stop()


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--milestones", type=int, default=30)
    parser.add_argument("--writes-per-minute", type=float, default=80)
    parser.add_argument("--points-per-minute", type=float, default=900)
    args = parser.parse_args()
    print(json.dumps(measure(args.milestones, args.writes_per_minute, args.points_per_minute), indent=1))


if __name__ == "__main__":
    main()
