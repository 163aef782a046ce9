"""Real processes for the Redis end-to-end tests (tests/e2e/test_redis_*.py): each `release-bot`
command in its own process group, its output in a log file, every one killed at teardown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import ROOT, SECRET

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
