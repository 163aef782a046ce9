"""README.md's quick start, followed literally against a real `release-bot serve` subprocess.

The curl commands are taken from the README itself (so the test breaks when the README does), and sent
as curl sends them: `-d` without a Content-Type means application/x-www-form-urlencoded.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _readme_curls() -> list[list[str]]:
    """The `curl …` commands of the README's quick start section, as argv lists."""
    section = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip().startswith("curl "):
                commands.append(shlex.split(command, comments=True))
    return commands


def _as_curl_sends(argv: list[str], api: str) -> httpx.Request:
    """curl's meaning of the few options the README uses: -s, -H, -X, -d (form-encoded type)."""
    method, headers, data, url = "GET", {}, None, ""
    args = iter(argv[1:])
    for arg in args:
        if arg == "-s":
            continue
        if arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-X":
            method = next(args)
        elif arg == "-d":
            data = next(args).encode()
            method = "POST" if method == "GET" else method
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            url = arg
    assert url.startswith("http://127.0.0.1:8900/api/v3/"), url
    return httpx.Request(
        method, api + url.removeprefix("http://127.0.0.1:8900/api/v3"), headers=headers, content=data
    )


def _wait_for(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_readme_quick_start_against_serve(tmp_path: Path) -> None:
    curls = _readme_curls()
    assert curls, "the README's quick start has no curl command"
    bot_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "QUEUE_URL", "GITHUB_API_URL")
    }
    # The README's `./scripts/serve` is `release-bot serve` with defaults; only the ports are free ones
    # (the suite runs in parallel with other sandboxes), and it runs in a fresh directory like a clone.
    env.update({"PORT": str(bot_port), "SANDBOX_PORT": "0", "PYTHONPATH": str(ROOT)})
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def printed() -> str | None:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            text = (tmp_path / "serve.log").read_text(errors="replace")
            return text if "release-bot: listening on" in text else None

        out = _wait_for(printed, "serve to start")
        api = re.search(r"sandbox REST API : (http://127\.0\.0\.1:\d+/api/v3)", out).group(1)  # type: ignore[union-attr]
        # The "how to drive me" block: every seeded user with its token, the App, the CLI environment.
        for login in ("admin", "pm", "releaser", "qa", "dev", "triager", "outsider"):
            assert re.search(rf"^    {login} +sandbox-token-{login} ", out, re.MULTILINE), out
        assert f"PRIVATE_KEY_PATH={tmp_path / 'sandbox-app.pem'}" in out and f"GITHUB_API_URL={api}" in out
        bot = f"http://127.0.0.1:{bot_port}"
        _wait_for(lambda: _ok(f"{bot}/healthz"), "the bot's health check")

        web = api.removesuffix("/api/v3")
        with httpx.Client(timeout=15) as client:
            pm = {"Authorization": "token sandbox-token-pm"}

            def settled() -> bool:
                # A person waits for the bot between steps ("watch the tracking issue appear").
                client.post(f"{web}/_sandbox/wait-idle", timeout=30)
                queue = client.get(f"{bot}/healthz").json()["queue"]
                return queue["pending"] == 0 and queue["running"] == 0

            def tracking() -> dict[str, Any] | None:
                issues = client.get(f"{api}/repos/acme/rocket/issues", headers=pm).json()
                return next((i for i in issues if i["user"]["login"] == "release-bot[bot]"), None)

            for argv in curls:
                answer = client.send(_as_curl_sends(argv, api))
                assert answer.status_code < 300, (argv, answer.status_code, answer.text)
                _wait_for(settled, "the bot to settle")
                _wait_for(tracking, "the tracking issue")

            issue = tracking()
            assert issue is not None and issue["number"] == 1, issue  # the README names it #1
            assert issue["title"] == "Release v1.4.0" and issue["milestone"]["title"] == "v1.4.0"
            assert "| Due | 2026-12-15 (America/Los_Angeles) · not shipped yet |" in issue["body"]
            assert "- Issues: 1 open, 0 closed" in issue["body"], issue["body"]
            work = client.get(f"{api}/repos/acme/rocket/issues/2", headers=pm).json()
            assert work["title"] == "Boosters" and [lbl["name"] for lbl in work["labels"]] == ["feature"]

        # The CLI against serve's sandbox, with the environment serve printed, in the same directory.
        cli_env = re.search(r"CLI against it   : (.*?) release-bot jobs", out).group(1)  # type: ignore[union-attr]
        jobs_env = {**env, **dict(pair.split("=", 1) for pair in cli_env.split())}
        jobs = subprocess.run(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "jobs"],
            cwd=tmp_path,
            env=jobs_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert jobs.returncode == 0, jobs.stdout + jobs.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
