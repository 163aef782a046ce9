"""A private redis-server per test session (scripts/start-redis installs and runs it).

Never a system-wide Redis and never a mock: the instance listens on a free loopback port with its
append-only file in a temporary directory, and is killed when the session ends. ``restart()``
stops it (SIGTERM, so the AOF is flushed as on a clean shutdown... or SIGKILL) and starts it again
on the same port and directory, for the tests that prove queued work survives a Redis restart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_REDIS = ROOT / "scripts" / "start-redis"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, port: int | None = None) -> None:
        # A port picked free may be taken by another process before redis binds it (the machine is
        # shared): then redis exits at once and another free port is tried. Allocation, not a test retry.
        for _ in range(5):
            self.port = port or _free_port()
            self.proc = subprocess.Popen(
                [str(START_REDIS), str(self.port), str(self.directory)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if self._wait_ready():
                return
            if port is not None:
                break
        log = self.directory / "redis.log"
        raise RuntimeError(
            f"redis-server did not start: {log.read_text()[-2000:] if log.exists() else 'no log'}"
        )

    def _wait_ready(self, timeout: float = 20.0) -> bool:
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return True
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def restart(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server (SIGKILL by default: nothing flushed on the way out) and start it again
        on the same port from its append-only file."""
        port = self.port
        self.stop(sig)
        self.start(port)

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    subprocess.run([str(START_REDIS)], check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="release-bot-redis-") as directory:
        server = RedisServer(Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.stop(signal.SIGKILL)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """An empty database of the session's server for one test."""
    redis_server.flush()
    return redis_server.url
