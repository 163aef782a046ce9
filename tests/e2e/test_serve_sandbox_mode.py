"""`release-bot serve` with no App credentials starts the sandbox in-process and points itself at it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from harness import free_port

pytestmark = pytest.mark.e2e


def test_serve_without_credentials_runs_against_the_builtin_sandbox(tmp_path: Path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET")
    }
    env.update(
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "SANDBOX_PORT": "0",
            "QUEUE_URL": f"sqlite:///{tmp_path / 'q.db'}",
        }
    )
    out = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        api = None
        while time.monotonic() < deadline and api is None:
            text = (tmp_path / "serve.log").read_text(errors="replace")
            match = re.search(r"API (http://127\.0\.0\.1:\d+/api/v3)", text)
            api = match.group(1) if match else None
            assert proc.poll() is None, text
            time.sleep(0.05)
        assert api, "serve did not print where the sandbox listens"
        assert (tmp_path / "sandbox-app.pem").exists()
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        admin = {"Authorization": "token sandbox-token-admin"}
        created = httpx.post(
            f"{api}/repos/acme/rocket/milestones", json={"title": "v0.1.0"}, headers=admin, timeout=10
        )
        assert created.status_code == 201
        base = api.removesuffix("/api/v3")
        httpx.post(f"{base}/_sandbox/wait-idle", timeout=30)
        deliveries = httpx.get(f"{base}/_sandbox/deliveries", timeout=10).json()
        milestone = [d for d in deliveries if d["event"] == "milestone"]
        assert milestone and milestone[0]["status_code"] == 202  # signed with the generated secret, accepted
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        out.close()
