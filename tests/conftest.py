"""Shared test fixtures: GitHub's published references (fetched by scripts/fetch-fixtures) and the
session's in-process sandbox, the one GitHub fake of the suite (see tests/world.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from world import SandboxLog, World

    from bot.github.auth import GitHubApp
    from bot.sandbox.server import SandboxHandle

pytest_plugins = ["reliability_plugin"]  # the reliability marker -> README table (scripts/reliability-table)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Directory with webhooks-examples/, webhooks-schemas/ and openapi/ (pinned versions)."""
    env = os.environ.get("RELEASE_BOT_FIXTURES")
    if env and Path(env).is_dir():
        return Path(env)
    out = subprocess.run(
        [str(ROOT / "scripts" / "fetch-fixtures")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """One in-process sandbox for the session: GitHub's REST API on an ephemeral port, no webhooks.

    Tests isolate themselves by building fresh repositories (``sandbox_world``); a module that
    needs webhooks, faults or its own clock starts a sandbox of its own.
    """
    from bot.sandbox.server import start_sandbox

    key = tmp_path_factory.mktemp("sandbox") / "app.pem"
    handle = start_sandbox(port=0, webhook_url=None, app_key_path=str(key))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def sandbox_app(sandbox: SandboxHandle) -> Iterator[GitHubApp]:
    """The bot's GitHub App (id 1) against the session sandbox, unpaced; closed at the end."""
    from bot.github.auth import GitHubApp
    from bot.github.pacer import PacerLimits

    key = Path(sandbox.app_key_path).read_text()
    github_app = GitHubApp(1, key, base_url=sandbox.api_url, pacer_limits=PacerLimits(0, 0))
    yield github_app
    github_app.close()


@pytest.fixture(scope="session")
def sandbox_log(sandbox: SandboxHandle) -> Iterator[SandboxLog]:
    from world import SandboxLog

    log = SandboxLog(sandbox)
    yield log
    log.close()


@pytest.fixture
def sandbox_world(sandbox: SandboxHandle, sandbox_log: SandboxLog) -> Iterator[World]:
    """A builder for this test's repositories, users, milestones, pull requests and comments."""
    from world import World

    world = World(sandbox, sandbox_log)
    yield world
    world.close()
