"""Fixtures for intake tests: signing deliveries as GitHub does, the pinned webhook examples."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from bot.intake.app import create_app
from bot.queue.sqlite import SqliteQueue
from bot.settings import Settings

SECRET = "intake-test-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(event: str, body: bytes, delivery: str | None = None, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
    }


def load_examples(fixtures_dir: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """(event, index, payload) for every example of @octokit/webhooks-examples (api.github.com)."""
    index = json.loads((fixtures_dir / "webhooks-examples" / "api.github.com" / "index.json").read_text())
    return [(entry["name"], i, example) for entry in index for i, example in enumerate(entry["examples"])]


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
