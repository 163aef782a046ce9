"""Every webhook example once through the production server: gunicorn (gunicorn.conf.py,
bot.wsgi:app) over loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from expected_keys import expected
from webhook_helpers import SECRET, github_headers, load_examples

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_example_through_gunicorn_is_never_5xx(fixtures_dir, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
        "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bot.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (
                tmp_path / "gunicorn.log"
            ).read_text()
            time.sleep(0.05)
        accepted = 0
        want_accepted = 0
        with httpx.Client(base_url=base, timeout=10) as client:
            for event, i, payload in load_examples(fixtures_dir):
                body = json.dumps(payload).encode()
                response = client.post(
                    "/api/github/webhooks", content=body, headers=github_headers(event, body)
                )
                assert response.status_code < 500, (event, i, response.text)
                want = expected(event, payload)
                if isinstance(want, set) or want == "control":
                    want_accepted += 1
                    assert response.status_code == 202, (event, i, response.text)
                    accepted += 1
                    if isinstance(want, set):
                        assert set(response.json()["jobs"]) == want
                else:
                    assert response.status_code == 200, (event, i, response.text)
            health = client.get("/healthz").json()
            metrics = client.get("/metrics").text
        assert accepted == want_accepted > 100
        assert health["status"] == "ok" and health["queue"]["pending"] > 0
        # Both worker processes' counts add up in /metrics (prometheus multiprocess mode).
        total = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("release_bot_webhook_events_total{") and 'outcome="accepted"' in line
        )
        assert total == accepted
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
