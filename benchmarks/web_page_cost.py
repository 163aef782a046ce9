"""What a dashboard page view costs in GitHub API requests, on the sandbox with a real `release-bot serve`.

Scenario: acme/rocket with N open releases (milestones v1.<i>.0, each with its release branch, so
the bot tracks each: tracking issue, record, stage comments) and P open gated pull requests per
release, plus one closed release. `pm` signs in through the sandbox's OAuth flow; then:

- the overview (`/`) cold, with the cache empty;
- the overview again within WEB_CACHE_SECONDS (default 10 s);
- one release page cold.

Each figure is read twice and must agree: the page's own count (X-Release-Bot-GitHub-Calls) and the
requests the sandbox logged for pm (`GET /_sandbox/requests`). Expected cold overview:
2 (installations, repositories) + 2 (milestones, open pulls) + N x (2 + P).

Usage: .venv/bin/python benchmarks/web_page_cost.py [--releases 3] [--pulls 4]
"""

from __future__ import annotations

import argparse
import base64
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import httpx  # noqa: E402
from harness import E2E, SECRET, WEBHOOK_PATH, BotProcess  # noqa: E402

from bot.sandbox.server import start_sandbox  # noqa: E402

REPO = "acme/rocket"
HEADER = "X-Release-Bot-GitHub-Calls"


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
    return response.json() if response.content else None


def build(e2e: E2E, releases: int, pulls: int) -> None:
    admin, dev, releaser = e2e.api("admin"), e2e.api("dev"), e2e.api("releaser")
    main = ok(admin.get(f"/repos/{REPO}/git/ref/heads/main"))["object"]["sha"]
    closed = ok(admin.post(f"/repos/{REPO}/milestones", json={"title": "v0.9.0"}))["number"]
    for i in range(1, releases + 1):
        number = ok(admin.post(f"/repos/{REPO}/milestones", json={"title": f"v1.{i}.0"}))["number"]
        ok(admin.post(f"/repos/{REPO}/git/refs", json={"ref": f"refs/heads/release/1.{i}", "sha": main}))
        for j in range(pulls):
            branch = f"fix-{i}-{j}"
            ok(dev.post(f"/repos/{REPO}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": main}))
            ok(
                dev.put(
                    f"/repos/{REPO}/contents/{branch}.txt",
                    json={
                        "message": branch,
                        "content": base64.b64encode(branch.encode()).decode(),
                        "branch": branch,
                    },
                )
            )
            pr = ok(
                dev.post(
                    f"/repos/{REPO}/pulls",
                    json={"title": f"Fix {branch}", "head": branch, "base": f"release/1.{i}"},
                )
            )
            ok(releaser.patch(f"/repos/{REPO}/issues/{pr['number']}", json={"milestone": number}))
    e2e.settle(timeout=180)
    ok(admin.patch(f"/repos/{REPO}/milestones/{closed}", json={"state": "closed"}))
    e2e.settle(timeout=60)


def sign_in(client: httpx.Client, login: str) -> None:
    authorize = client.get("/login", params={"login": login}).headers["Location"]
    back = httpx.get(authorize, timeout=15).headers["Location"]
    callback = urlsplit(back)
    assert client.get(f"{callback.path}?{callback.query}").status_code == 303


def measured(e2e: E2E, client: httpx.Client, path: str) -> tuple[int, int]:
    log = e2e.requests_since(0)
    seq = log[-1]["seq"] if log else 0
    resp = client.get(path)
    assert resp.status_code == 200, resp.text[:500]
    logged = [r for r in e2e.requests_since(seq) if r["actor"] == "pm"]
    return int(resp.headers[HEADER]), len(logged)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--releases", type=int, default=3)
    parser.add_argument("--pulls", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        key = tmp_path / "sandbox-app.pem"
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            port = held.getsockname()[1]
            sandbox = start_sandbox(
                port=0,
                webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                webhook_secret=SECRET,
                app_key_path=str(key),
            )
        workdir = tmp_path / "bot"
        workdir.mkdir()
        bot = BotProcess(
            workdir=workdir,
            port=port,
            env={
                "WEBHOOK_SECRET": SECRET,
                "QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
                "APP_ID": "1",
                "PRIVATE_KEY_PATH": str(key),
                "GITHUB_API_URL": sandbox.api_url,
                "SANDBOX": "1",
                "LOG_LEVEL": "WARNING",
            },
        )
        try:
            bot.start()
            e2e = E2E(sandbox=sandbox, bot=bot)
            build(e2e, args.releases, args.pulls)
            with httpx.Client(base_url=bot.url, timeout=30) as client:
                sign_in(client, "pm")
                rows = [
                    ("overview, cold", *measured(e2e, client, "/")),
                    ("overview, repeated within WEB_CACHE_SECONDS", *measured(e2e, client, "/")),
                ]
                client.cookies.clear()
                sign_in(client, "pm")  # a new session: the cache is per token, so cold again
                rows.append(("release page v1.1.0, cold", *measured(e2e, client, "/releases/acme/rocket/2")))
        finally:
            bot.kill()
            sandbox.stop()
    expected = 4 + args.releases * (2 + args.pulls)
    print(
        f"acme/rocket: {args.releases} open releases x {args.pulls} open gated pull requests,"
        " 1 closed release"
    )
    print(f"{'page view':48} {'page count':>10} {'sandbox log':>12}")
    for name, own, logged in rows:
        print(f"{name:48} {own:>10} {logged:>12}")
    print(f"expected cold overview: 4 + releases x (2 + pulls) = {expected}")
    bad = [r for r in rows if r[1] != r[2]] or (rows[0][1] != expected) or rows[1][1] != 0
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
