"""Shared test fixtures: the cache of GitHub's published references (fetched by scripts/fetch-fixtures)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["reliability_plugin"]  # the reliability marker -> README table (scripts/reliability-table)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Directory with webhooks-examples/, webhooks-schemas/ and openapi/ (pinned versions)."""
    env = os.environ.get("RELEASE_BOT_FIXTURES")
    if env and Path(env).is_dir():
        return Path(env)
    out = subprocess.run([str(ROOT / "scripts" / "fetch-fixtures")], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])
