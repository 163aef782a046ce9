"""How long a restarted bot takes to heal an outage by itself, and what it costs.

The bot (a real ``release-bot serve``) is stopped; people open ``--issues`` issues into a release
milestone meanwhile (each sends ``issues.opened`` and ``issues.milestoned``: all fail, connection
refused, as on GitHub). The bot starts again and nobody runs a command: its start-up scan lists
the App's failed deliveries (``GET /app/hook/deliveries``) and asks for each once
(``POST …/attempts``). Measured: the time from the restart until every failed delivery was accepted
and the tracking issue counts every issue, and the scan's App (JWT) requests.

Usage:
    .venv/bin/python benchmarks/downtime_recovery.py                # 25, 100, 250 issues: 50-500 missed
    .venv/bin/python benchmarks/downtime_recovery.py --issues 100
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.demo.environment import DemoEnvironment  # noqa: E402

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"


def run(issues: int) -> dict[str, float | int]:
    env = DemoEnvironment.start()
    try:
        api = httpx.Client(
            base_url=env.sandbox.api_url, headers={"Authorization": "token sandbox-token-pm"}, timeout=30
        )
        m = api.post(f"{REPO}/milestones", json={"title": "v3.0.0", "due_on": "2030-12-01T00:00:00Z"}).json()
        env.settle()
        tracking = next(
            i
            for i in api.get(f"{REPO}/issues", params={"milestone": m["number"]}).json()
            if i["user"]["login"] == BOT
        )
        env._stop_bot()
        for n in range(issues):
            api.post(f"{REPO}/issues", json={"title": f"Outage item {n}", "milestone": m["number"]})
        env.sandbox.wait_idle(60)
        state = env.sandbox.state
        with state.lock:
            missed = {d.guid for d in state.deliveries if d.status != "OK"}
            first_seq = state.request_seq
        started = time.monotonic()
        env._start_bot(45, fixed_port=True)
        while True:
            with state.lock:
                ok = {d.guid for d in state.deliveries if d.status == "OK"}
            if missed <= ok:
                break
            if time.monotonic() - started > 300:
                raise RuntimeError("not healed in 300 s")
            time.sleep(0.05)
        healed_deliveries = time.monotonic() - started
        want = f"- Issues: {issues} open, 0 closed"
        while want not in api.get(f"{REPO}/issues/{tracking['number']}").json()["body"]:
            time.sleep(0.05)
        healed_state = time.monotonic() - started
        with state.lock:
            calls = [r for r in state.requests if r.seq > first_seq and r.actor == "app"]
        listed = sum(1 for r in calls if r.method == "GET" and re.match(r"^/app/hook/deliveries$", r.path))
        asked = sum(1 for r in calls if r.method == "POST" and r.path.endswith("/attempts"))
        return {
            "missed_deliveries": len(missed),
            "redelivered_s": round(healed_deliveries, 2),
            "tracking_issue_current_s": round(healed_state, 2),
            "list_requests": listed,
            "redelivery_requests": asked,
        }
    finally:
        env.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, action="append", help="issues opened while down (repeatable)")
    args = parser.parse_args()
    for n in args.issues or [25, 100, 250]:
        print(json.dumps({"issues_opened_while_down": n, **run(n)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
