"""The production split (Procfile): gunicorn web process + `release-bot worker`, sharing only the
queue file, against the sandbox over loopback. An installation suspended at the web process makes
the worker process drop its cached client; after unsuspend the worker mints a fresh token."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import ROOT, SECRET, WEBHOOK_PATH

pytestmark = pytest.mark.e2e


def _json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def _wait(predicate, timeout: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n{logs.read_text(errors='replace')[-3000:]}")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            args, cwd=log.parent, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> int | None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait(10)


def test_worker_process_drops_the_client_of_an_installation_suspended_at_the_web_process(tmp_path: Path):
    from bot.sandbox.server import start_sandbox

    key_path = tmp_path / "sandbox-app.pem"
    with socket.socket() as held:  # kept bound while the sandbox picks its port, so it cannot pick this one
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        sandbox = start_sandbox(
            port=0,
            webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            webhook_secret=SECRET,
            app_key_path=str(key_path),
        )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WEBHOOK_SECRET": SECRET,
        "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
        "LOG_LEVEL": "INFO",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "APP_ID": "1",
        "PRIVATE_KEY_PATH": str(key_path),
        "GITHUB_API_URL": sandbox.api_url,
        "SANDBOX": "1",
        "WORKER_THREADS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    # The Procfile's two lines.
    web = _start(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "bot.wsgi:app"], env, web_log
    )
    worker = _start(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "worker"],
        env,
        worker_log,
    )
    try:

        def web_up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(web_up, 30, "the web process", web_log)
        _wait(
            lambda: any(r.get("msg") == "workers started" for r in _json_lines(worker_log)),
            30,
            "the worker process",
            worker_log,
        )

        def jobs_done(prefix: str, n: int) -> bool:
            return (
                sum(
                    1
                    for r in _json_lines(worker_log)
                    if r.get("msg") == "job"
                    and r.get("key", "").startswith(prefix)
                    and r.get("outcome") == "success"
                )
                >= n
            )

        def settled() -> bool:
            if not sandbox.wait_idle(0.5):
                return False
            queue = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["queue"]
            return queue["pending"] == 0 and queue["running"] == 0

        def minted() -> int:
            return worker_log.read_text(errors="replace").count(
                "minting an installation token for installation 1"
            )

        with httpx.Client(
            base_url=sandbox.api_url, headers={"Authorization": "token sandbox-token-admin"}
        ) as admin:
            assert admin.post("/repos/acme/rocket/milestones", json={"title": "v9.1.0"}).status_code == 201
            _wait(lambda: jobs_done("release:", 1), 30, "the first release job in the worker", worker_log)
            _wait(settled, 30, "the queue to settle", worker_log)
            assert minted() == 1  # the client (and its token) is cached in the worker process

            suspended = httpx.post(f"{sandbox.base_url}/_sandbox/installations/1/suspend", timeout=10)
            assert suspended.status_code == 200, suspended.text
            # No job of the installation runs any more: the idle worker drops the client by itself.
            _wait(
                lambda: any(
                    r.get("msg", "").startswith("installation 1 was removed (installation.suspend)")
                    for r in _json_lines(worker_log)
                ),
                20,
                "the worker dropping the client",
                worker_log,
            )
            delivery = [
                r
                for r in _json_lines(web_log)
                if r.get("msg") == "delivery" and r.get("event") == "installation"
            ]
            assert delivery and delivery[-1]["outcome"] == "accepted"

            assert (
                httpx.post(f"{sandbox.base_url}/_sandbox/installations/1/unsuspend", timeout=10).status_code
                == 200
            )
            assert admin.post("/repos/acme/rocket/milestones", json={"title": "v9.2.0"}).status_code == 201
            _wait(lambda: jobs_done("release:", 2), 30, "a release job after unsuspend", worker_log)
            _wait(settled, 30, "the queue to settle", worker_log)
            assert minted() == 2  # a fresh token, not the one cached before the suspension
        failed = [
            r for r in _json_lines(worker_log) if r.get("msg") == "job" and r.get("outcome") != "success"
        ]
        assert not failed, failed
    finally:
        worker_code = _stop(worker)
        _stop(web)
        sandbox.stop()
    assert worker_code == 0
