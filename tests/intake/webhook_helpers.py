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
    examples = [(entry["name"], i, example) for entry in index for i, example in enumerate(entry["examples"])]
    return examples + _unpublished_examples(examples)


def _unpublished_examples(
    examples: list[tuple[str, int, dict[str, Any]]],
) -> list[tuple[str, int, dict[str, Any]]]:
    """Events the pinned examples lack, built from published parts: ``deployment_protection_rule``
    ``requested`` carries a published ``deployment`` example's deployment, repository, sender and
    installation, plus the fields the schema defines for it (tests/sandbox checks the sandbox's own
    deliveries of it against the schema)."""
    base = next(p for e, _, p in examples if e == "deployment" and p.get("installation"))
    repo = base["repository"]["full_name"]
    payload = {
        "action": "requested",
        "environment": base["deployment"]["environment"],
        "event": "workflow_dispatch",
        "deployment_callback_url": f"https://api.github.com/repos/{repo}/actions/runs/4242/deployment_protection_rule",
        "deployment": base["deployment"],
        "pull_requests": [],
        "repository": base["repository"],
        "sender": base["sender"],
        "installation": base["installation"],
    }
    if "organization" in base:
        payload["organization"] = base["organization"]
    return [("deployment_protection_rule", 0, payload)]
