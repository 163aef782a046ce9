"""app.yml: the events intake handles and the least permissions, never administration."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.intake.routing import HANDLED_EVENTS

MANIFEST = Path(__file__).resolve().parents[2] / "app.yml"


def test_manifest_subscribes_exactly_the_events_intake_routes():
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert (
        manifest["name"]
        and manifest["url"]
        and manifest["hook_attributes"]["url"].endswith("/api/github/webhooks")
    )
    assert set(manifest["default_events"]) == set(HANDLED_EVENTS)
    assert set(manifest["default_events"]) == {
        "pull_request",
        "pull_request_review",
        "milestone",
        "create",
        "delete",
        "push",
        "issue_comment",
        "issues",
        "release",
        "check_run",
        "merge_group",
        "deployment_status",
        "deployment_protection_rule",
        "installation",
        "installation_repositories",
    }


def test_least_permissions_without_administration():
    permissions = yaml.safe_load(MANIFEST.read_text())["default_permissions"]
    assert "administration" not in permissions
    assert set(permissions.values()) <= {"read", "write"}
    assert permissions["checks"] == "write" and permissions["metadata"] == "read"
    # Only what the bot writes is write.
    assert {name for name, level in permissions.items() if level == "write"} == {
        "contents",
        "issues",
        "pull_requests",
        "checks",
        "deployments",  # the answer to a custom deployment protection rule (docs/deployments.md)
    }
    assert permissions["actions"] == "read"  # GitHub asks a protection rule App for Actions: read
    # Each permission carries a comment saying why.
    lines = [line for line in MANIFEST.read_text().splitlines() if line.startswith("  ") and ":" in line]
    for name in permissions:
        [line] = [line for line in lines if line.strip().startswith(f"{name}:")]
        assert "#" in line, name
