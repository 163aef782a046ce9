"""Intake test helpers: signing deliveries as GitHub does, the pinned webhook examples."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

SECRET = "intake-test-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(
    event: str, body: bytes, delivery: str | None = None, secret: str = SECRET
) -> dict[str, str]:
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
