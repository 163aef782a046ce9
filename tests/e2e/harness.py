"""Reusable end-to-end fixtures: the sandbox in-process, a real `release-bot serve` subprocess, settle().

Use from any test under tests/e2e/ (tests/e2e/conftest.py registers the fixtures):

    @pytest.mark.e2e
    def test_something(e2e):
        admin = e2e.api("admin")                      # httpx.Client on the sandbox's REST API
        admin.post("/repos/acme/rocket/milestones", json={"title": "v1.4.0"})
        e2e.settle()                                  # every webhook answered and the bot's queue empty
        ...
        e2e.bot.kill(); e2e.bot.start()               # SIGKILL and restart the same bot (same queue file)

Fixtures:
- ``e2e``: a fresh sandbox + bot per test (``E2E``: ``.sandbox`` the SandboxHandle, ``.bot`` the
  ``BotProcess``, ``.api(login)``, ``.settle()``, ``.requests_since(seq)`` for API-call counts).
- ``bot_factory``: ``bot_factory(env={...}, port=None) -> BotProcess`` for bots with custom settings
  (e.g. RELEASE_BOT_TEST_RUNNER); every process it started is killed at teardown.
- ``free_port()``: a port free on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_PATH = "/api/github/webhooks"
SECRET = "e2e-webhook-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class BotProcess:
    """A real `release-bot serve` in its own process group (so a kill takes its gunicorn worker too)."""

    workdir: Path
    env: dict[str, str]
    port: int
    command: str = "serve"
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log_files: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.starts}.log"

    def start(self, timeout: float = 30.0) -> BotProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        env = {**os.environ, **self.env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), str(Path(__file__).parent), env.get("PYTHONPATH")) if p
        )
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in _reap
        self._log_files.append(log)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", self.command],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"release-bot {self.command} exited {self.proc.returncode}:\n{self.logs()[-3000:]}"
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"release-bot {self.command} not ready in {timeout}s:\n{self.logs()[-3000:]}")

    def _signal_group(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 45.0) -> int | None:
        """SIGTERM (graceful drain); returns the exit code."""
        if self.proc is None:
            return None
        self._signal_group(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self._reap()

    def kill(self) -> None:
        """SIGKILL the whole process group: nothing gets to clean up."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        try:
            self.proc.wait(10)
        finally:
            self._reap()
        # The gunicorn worker may outlive the master for an instant; wait for the port to free.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/healthz", timeout=0.2)
            except httpx.HTTPError:
                return
            time.sleep(0.05)

    def restart(self) -> BotProcess:
        self.stop()
        return self.start()

    def _reap(self) -> None:
        for f in self._log_files:
            f.close()
        self._log_files.clear()

    def healthz(self) -> dict[str, Any]:
        return httpx.get(self.url + "/healthz", timeout=5).json()

    def logs(self) -> str:
        return "".join(
            (self.workdir / f"bot-{n}.log").read_text(errors="replace")
            for n in range(1, self.starts + 1)
            if (self.workdir / f"bot-{n}.log").exists()
        )

    def jobs(self, *args: str) -> str:
        """`release-bot jobs ...` against this bot's queue."""
        env = {**os.environ, **self.env}
        out = subprocess.run(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "jobs", *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout + out.stderr


@dataclass
class E2E:
    sandbox: Any  # bot.sandbox.server.SandboxHandle
    bot: BotProcess

    def api(self, login: str = "admin") -> httpx.Client:
        return httpx.Client(
            base_url=self.sandbox.api_url,
            headers={
                "Authorization": f"token sandbox-token-{login}",
                "Accept": "application/vnd.github+json",
            },
            timeout=30,
        )

    def installation_api(self, installation_id: int = 1) -> httpx.Client:
        """A client acting as the App's installation (as the bot does): what it creates is the bot's."""
        import jwt

        now = int(self.sandbox.state.now().timestamp())
        key = Path(self.bot.env["PRIVATE_KEY_PATH"]).read_text()
        app_jwt = jwt.encode(
            {"iat": now - 60, "exp": now + 540, "iss": self.bot.env["APP_ID"]}, key, algorithm="RS256"
        )
        resp = httpx.post(
            f"{self.sandbox.api_url}/app/installations/{installation_id}/access_tokens",
            headers={"Authorization": f"Bearer {app_jwt}", "Accept": "application/vnd.github+json"},
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        return httpx.Client(
            base_url=self.sandbox.api_url,
            headers={
                "Authorization": f"token {resp.json()['token']}",
                "Accept": "application/vnd.github+json",
            },
            timeout=30,
        )

    def redeliver_missed(self) -> list[int]:
        """What an operator does with GitHub's "Redeliver" after the bot was down: every delivery
        the bot did not accept is sent again. Returns their ids."""
        from bot.sandbox.webhooks import emitter

        self.sandbox.wait_idle(10)
        with self.sandbox.state.lock:
            missed = [d.id for d in self.sandbox.state.deliveries if d.status_code not in (200, 202, 204)]
        for delivery_id in missed:
            emitter(self.sandbox.state).redeliver(delivery_id)
        return missed

    def deliveries_count(self) -> int:
        with self.sandbox.state.lock:
            return len(self.sandbox.state.deliveries)

    def requests_since(self, seq: int = 0) -> list[dict[str, Any]]:
        return httpx.get(
            f"{self.sandbox.base_url}/_sandbox/requests", params={"since": seq}, timeout=30
        ).json()

    def settle(self, timeout: float = 60.0) -> None:
        """Until quiet: every webhook delivered and answered, the bot's queue empty, and no new
        delivery caused by the bot's own writes since the last round."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            if not self.sandbox.wait_idle(max(0.1, deadline - time.monotonic())):
                break
            while time.monotonic() < deadline:
                queue = self.bot.healthz()["queue"]
                if queue["pending"] == 0 and queue["running"] == 0:
                    break
                time.sleep(0.05)
            count = self.deliveries_count()
            if count == last and self.sandbox.wait_idle(0.01):
                return
            last = count
        raise AssertionError(
            f"not settled in {timeout}s: queue {self.bot.healthz()['queue']}\n"
            f"{self.bot.jobs()}\n{self.bot.logs()[-3000:]}"
        )


@pytest.fixture
def bot_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[BotProcess] = []

    def make(env: dict[str, str] | None = None, port: int | None = None, start: bool = True) -> BotProcess:
        workdir = tmp_path / f"bot{len(started)}"
        workdir.mkdir()
        full_env = {
            "WEBHOOK_SECRET": SECRET,
            "QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
            "LOG_LEVEL": "INFO",
            **(env or {}),
        }
        bot = BotProcess(workdir=workdir, env=full_env, port=port or free_port())
        started.append(bot)
        return bot.start() if start else bot

    yield make
    for bot in started:
        bot.kill()


@contextlib.contextmanager
def open_e2e(
    tmp_path: Path, bot_factory: Any, env: dict[str, str] | None = None, name: str = "sandbox"
) -> Iterator[E2E]:
    """A sandbox and a bot serving it (``env`` adds to the bot's environment; ``name`` tells two
    worlds of one test apart)."""
    from bot.sandbox.server import start_sandbox

    key_path = tmp_path / f"{name}-app.pem"
    # The bot's port stays bound while the sandbox picks its own (port 0): released first, the OS
    # could hand the very same port to the sandbox, and the bot would then fail to listen.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        sandbox = start_sandbox(
            port=0,
            webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            webhook_secret=SECRET,
            app_key_path=str(key_path),
        )
    try:
        bot = bot_factory(
            env={
                "APP_ID": "1",
                "PRIVATE_KEY_PATH": str(key_path),
                "GITHUB_API_URL": sandbox.api_url,
                "SANDBOX": "1",  # relaxed pacing: the sandbox has no secondary limits to respect
                **(env or {}),
            },
            port=port,
        )
        yield E2E(sandbox=sandbox, bot=bot)
    finally:
        sandbox.stop()


@pytest.fixture
def e2e(tmp_path: Path, bot_factory: Any) -> Iterator[E2E]:
    with open_e2e(tmp_path, bot_factory) as world:
        yield world
