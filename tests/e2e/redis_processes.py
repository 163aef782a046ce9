"""Real processes for the Redis end-to-end tests (tests/e2e/test_redis_*.py): each `release-bot`
command in its own process group, its output in a log file, every one killed at teardown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import ROOT, SECRET, WEBHOOK_PATH

CLI = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


class Processes:
    """Every process this test starts, each in its own group; all killed at teardown."""

    def __init__(self, workdir: Path, base_env: dict[str, str]) -> None:
        self.workdir = workdir
        self.base_env = base_env
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{name}.log"
        full_env = {
            **os.environ,
            **self.base_env,
            **(env or {}),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(Path(__file__).parent)]),
        }
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", CLI, *args],
                cwd=self.workdir,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((proc, log))
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL one process group: nothing gets to clean up."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-2500:]}" for _, log in self.started
        )

    def kill_all(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def processes(tmp_path: Path):
    procs = Processes(tmp_path, {"WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "INFO", "HOST": "127.0.0.1"})
    yield procs
    procs.kill_all()


def wait_for(predicate, timeout: float, what: str, procs: Processes) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n{procs.logs()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Topology:
    """The bot scaled out on Redis against a sandbox of its own: web-only processes behind which
    GitHub's deliveries land (the sandbox's webhook points at the first), and worker processes."""

    sandbox: Any  # bot.sandbox.server.SandboxHandle
    env: dict[str, str]  # what every process of the bot runs with
    webs: list[str]  # base URLs of the web processes
    workers: list[subprocess.Popen[bytes]]
    queue: Any  # bot.queue.redis_queue.RedisQueue

    def settled(self) -> bool:
        """Every delivery answered and the queue empty (twice apart: a job may enqueue another)."""
        if not self.sandbox.wait_idle(1):
            return False
        counts = self.queue.counts()
        return counts.pending == 0 and counts.running == 0 and self.sandbox.wait_idle(0.01)


@contextmanager
def web_and_workers(
    procs: Processes,
    redis_url: str,
    tmp_path: Path,
    *,
    webs: int = 2,
    workers: int = 3,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Topology]:
    """Start a sandbox, ``webs`` × ``serve --no-worker`` and ``workers`` × ``worker --concurrency 2``
    on ``redis_url``; wait until every one is up; stop the sandbox afterwards (the ``processes``
    fixture kills the rest)."""
    from bot.queue.redis_queue import RedisQueue
    from bot.sandbox.server import start_sandbox

    key_path = tmp_path / "sandbox-app.pem"
    sockets = [socket.socket() for _ in range(webs)]
    try:  # held while the sandbox picks its own port
        for held in sockets:
            held.bind(("127.0.0.1", 0))
        ports = [held.getsockname()[1] for held in sockets]
        sandbox = start_sandbox(
            port=0,
            webhook_url=f"http://127.0.0.1:{ports[0]}{WEBHOOK_PATH}",
            webhook_secret=SECRET,
            app_key_path=str(key_path),
        )
    finally:
        for held in sockets:
            held.close()
    try:
        env = {
            "QUEUE_URL": redis_url,
            "APP_ID": "1",
            "PRIVATE_KEY_PATH": str(key_path),
            "GITHUB_API_URL": sandbox.api_url,
            "SANDBOX": "1",
            "LEASE_SECONDS": "3",
            **(extra_env or {}),
        }
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for n, port in enumerate(ports):
            procs.start(f"web-{n}", "serve", "--no-worker", "--no-sandbox", env={**env, "PORT": str(port)})
        queue = RedisQueue(redis_url)

        def healthy(url: str) -> bool:
            try:
                return httpx.get(url + "/healthz", timeout=5).json().get("status") == "ok"
            except httpx.HTTPError:
                return False

        wait_for(lambda: all(healthy(url) for url in urls), 30, "the web processes", procs)
        started = [
            procs.start(f"worker-{n}", "worker", "--concurrency", "2", env=env) for n in range(workers)
        ]
        wait_for(lambda: queue.client.zcard("release-bot:workers") == workers, 30, "the workers", procs)
        yield Topology(sandbox=sandbox, env=env, webs=urls, workers=started, queue=queue)
    finally:
        sandbox.stop()
