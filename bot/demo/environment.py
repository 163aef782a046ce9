"""The demo's world: the sandbox in this process and the bot as a real `release-bot serve` subprocess.

The bot runs as a subprocess (its own process group) rather than in-process: that is exactly the
product people would run (gunicorn, in-process job workers, SIGTERM drain), it cannot share locks
or logging state with the sandbox's threads, and a crash in it is reported instead of taking the
demo down. Everything lives in a temporary directory (queue DB, App key, bot log), removed on
``stop()`` unless asked to keep it (the demo keeps it when a step failed, for the post-mortem).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.demo.errors import DemoFailure

WEBHOOK_PATH = "/api/github/webhooks"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Variables of the user's shell that would point the bot elsewhere (a real App, another queue):
# the demo's bot must only ever talk to the demo's sandbox.
_BOT_ENV_OVERRIDDEN = (
    "APP_ID",
    "PRIVATE_KEY",
    "PRIVATE_KEY_PATH",
    "WEBHOOK_SECRET",
    "GITHUB_API_URL",
    "WEBHOOK_PATH",
    "QUEUE_URL",
    "RELEASE_BOT_TEST_RUNNER",
    "SANDBOX_PORT",
    "SANDBOX_APP_KEY",
    "HOST",
    "PORT",
    "SERVE_WEB_WORKERS",
    "WORKER_THREADS",
    "JOB_MAX_ATTEMPTS",
    "JOB_BACKOFF_BASE_SECONDS",
    "JOB_BACKOFF_CAP_SECONDS",
    "LEASE_SECONDS",
    "GITHUB_WRITES_PER_MINUTE",
    "GITHUB_POINTS_PER_MINUTE",
    "GITHUB_WRITES_PER_HOUR",
    "LOG_LEVEL",
    "SANDBOX",
    "GITHUB_CLIENT_ID",
    "GITHUB_CLIENT_SECRET",
)
_START_ATTEMPTS = 3  # a free port found here can be taken before the bot binds it: try another


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoEnvironment:
    """A running sandbox + bot. Build with ``DemoEnvironment.start(...)``; always ``stop()``."""

    workdir: Path
    sandbox: Any  # bot.sandbox.server.SandboxHandle
    bot_port: int
    bot_env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ start / stop

    @classmethod
    def start(
        cls,
        sandbox_port: int = 0,
        bot_port: int = 0,
        ready_timeout: float = 45.0,
        extra_env: dict[str, str] | None = None,
    ) -> DemoEnvironment:
        """``extra_env`` adds to (or overrides) the bot's environment (benchmarks: real pacing)."""
        from bot.sandbox.server import start_sandbox

        workdir = Path(tempfile.mkdtemp(prefix="release-bot-demo-"))
        secret = secrets.token_hex(20)
        key_path = workdir / "sandbox-app.pem"
        chosen = bot_port or free_port()
        try:
            sandbox = start_sandbox(
                port=sandbox_port,
                webhook_url=_webhook_url(chosen),
                webhook_secret=secret,
                app_key_path=str(key_path),
            )
        except (OSError, SystemExit) as exc:
            # werkzeug's make_server answers a port in use with sys.exit(1) (after printing why),
            # not with the OSError; either way the demo must end with its own clear message.
            shutil.rmtree(workdir, ignore_errors=True)
            reason = exc if isinstance(exc, OSError) else "address already in use"
            raise DemoFailure("start", f"cannot start the sandbox on port {sandbox_port}: {reason}") from exc
        env = {
            "APP_ID": "1",
            "PRIVATE_KEY_PATH": str(key_path),
            "GITHUB_API_URL": sandbox.api_url,
            "WEBHOOK_SECRET": secret,
            "QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
            "SANDBOX": "1",  # relaxed pacing: the sandbox has no secondary rate limit to respect
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "INFO",
            # A job that fails transiently is retried soon, so a flaky step shows up within the
            # step's timeout rather than after minutes of backoff.
            "JOB_BACKOFF_BASE_SECONDS": "0.5",
            "JOB_BACKOFF_CAP_SECONDS": "5",
            **(extra_env or {}),
        }
        env_obj = cls(workdir=workdir, sandbox=sandbox, bot_port=chosen, bot_env=env)
        try:
            env_obj._start_bot(ready_timeout, fixed_port=bool(bot_port))
        except BaseException:
            env_obj.stop()
            raise
        return env_obj

    def _start_bot(self, timeout: float, fixed_port: bool) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            if self._spawn_bot(timeout):
                return
            if fixed_port or attempt == _START_ATTEMPTS:
                break
            # The port was taken between free_port() and the bot's bind: pick another, and tell
            # the sandbox where webhooks go now.
            self.bot_port = free_port()
            with self.sandbox.state.lock:
                self.sandbox.state.apps[1].webhook_url = _webhook_url(self.bot_port)
        raise DemoFailure(
            "start", f"release-bot serve did not start on port {self.bot_port}", self.bot_log_tail()
        )

    def _spawn_bot(self, timeout: float) -> bool:
        """Start `release-bot serve`; True once /healthz answers, False if it exited."""
        inherited = {k: v for k, v in os.environ.items() if k not in _BOT_ENV_OVERRIDDEN}
        env = {**inherited, **self.bot_env, "PORT": str(self.bot_port)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        if self._log is not None:
            self._log.close()
        self._log = open(self.bot_log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "serve"],
            cwd=self.workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() takes the gunicorn worker too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if httpx.get(self.bot_url + "/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self._stop_bot()
        raise DemoFailure("start", f"release-bot serve not ready after {timeout:.0f}s", self.bot_log_tail())

    def stop(self, keep_workdir: bool = False) -> None:
        self._stop_bot()
        try:
            self.sandbox.stop()
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            if not keep_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_bot(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # graceful: the workers drain
            proc.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)

    # ------------------------------------------------------------------ facts about it

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    @property
    def bot_log_path(self) -> Path:
        return self.workdir / "bot.log"

    def bot_log_tail(self, chars: int = 3000) -> str:
        try:
            return self.bot_log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def log_problems(self) -> tuple[int, list[str]]:
        """(warnings, error messages) in the bot's JSON log lines; retries are warnings."""
        warnings, errors = 0, []
        try:
            text = self.bot_log_path.read_text(errors="replace")
        except OSError:
            return 0, []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the banner lines `serve` prints, gunicorn's own lines
            level = str(record.get("level", "")).lower() if isinstance(record, dict) else ""
            if level == "warning":
                warnings += 1
            elif level in ("error", "critical"):
                errors.append(f"{record.get('msg')}: {record.get('error') or ''}".strip(": "))
        return warnings, errors

    def bot_alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def queue(self) -> dict[str, int]:
        """The bot's queue counts from /healthz (pending, running, failed)."""
        try:
            response = httpx.get(self.bot_url + "/healthz", timeout=5)
            return dict(response.json()["queue"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise DemoFailure(
                "settle", f"the bot's /healthz does not answer ({exc})", self.bot_log_tail()
            ) from exc

    def jobs_report(self) -> str:
        """`release-bot jobs` on the bot's queue: pending and failed jobs with their reasons."""
        inherited = {k: v for k, v in os.environ.items() if k not in _BOT_ENV_OVERRIDDEN}
        env = {**inherited, **self.bot_env, "PYTHONPATH": str(PROJECT_ROOT)}
        try:
            out = subprocess.run(
                [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "jobs"],
                cwd=self.workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"(release-bot jobs failed: {exc})"
        return (out.stdout + out.stderr).strip()

    # ------------------------------------------------------------------ settling

    def _deliveries(self) -> int:
        response = httpx.get(self.sandbox.base_url + "/_sandbox/deliveries", timeout=30)
        return len(response.json())

    def settle(self, timeout: float = 60.0) -> None:
        """Until quiet: every webhook answered, the bot's queue empty, and no new delivery caused by
        the bot's own writes since the previous round (its writes send webhooks, which queue jobs)."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            if not self.bot_alive():
                raise DemoFailure("settle", "the bot exited", self.bot_log_tail())
            remaining = max(0.1, deadline - time.monotonic())
            idle = httpx.post(
                self.sandbox.base_url + "/_sandbox/wait-idle",
                params={"timeout": remaining},
                timeout=remaining + 10,
            )
            if idle.status_code != 200:
                break
            while time.monotonic() < deadline:
                counts = self.queue()
                if counts.get("pending") == 0 and counts.get("running") == 0:
                    break
                time.sleep(0.05)
            else:
                break
            count = self._deliveries()
            if count == last:
                return
            last = count
        raise DemoFailure(
            "settle",
            f"the bot did not settle within {timeout:.0f}s (queue {self.queue()})",
            f"{self.jobs_report()}\n--- bot log (tail) ---\n{self.bot_log_tail()}",
        )


def _webhook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
