"""Fixtures for intake tests (helpers in webhook_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from webhook_helpers import SECRET

from bot.intake.app import create_app
from bot.queue.sqlite import SqliteQueue
from bot.settings import Settings


@pytest.fixture
def queue(tmp_path: Path) -> SqliteQueue:
    q = SqliteQueue(str(tmp_path / "queue.db"))
    yield q
    q.close()


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"WEBHOOK_SECRET": SECRET, "MAX_BODY_BYTES": str(64 * 1024)})


@pytest.fixture
def client(settings: Settings, queue: SqliteQueue):
    return create_app(settings, queue).test_client()
