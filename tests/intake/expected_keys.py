"""DESIGN.md's event -> key table, restated independently of bot/intake/routing.py.

``expected(event, payload, app_id)`` returns the set of keys a delivery must produce, "ping", or
None when the bot must ignore it (200 {"ignored"}), or "control" for installation removals.
"""

from __future__ import annotations

import re
from typing import Any


def _ms(node: Any) -> int | None:
    return node.get("number") if isinstance(node, dict) else None


def expected(event: str, p: dict[str, Any], app_id: int | None = None) -> set[str] | str | None:
    action = p.get("action")
    repo_id = (p.get("repository") or {}).get("id")
    if event == "ping":
        return "ping"
    if event == "pull_request":
        keys = {f"pr:{repo_id}#{p['pull_request']['number']}"}
        for m in (p["pull_request"].get("milestone"), p.get("milestone")):
            if _ms(m) is not None:
                keys.add(f"release:{repo_id}@{_ms(m)}")
        return keys
    if event == "pull_request_review":
        return {f"pr:{repo_id}#{p['pull_request']['number']}"}
    if event == "issue_comment":
        if p["issue"].get("pull_request"):
            return {f"pr:{repo_id}#{p['issue']['number']}"}
        if _ms(p["issue"].get("milestone")) is not None:
            return {f"release:{repo_id}@{_ms(p['issue']['milestone'])}"}
        return None
    if event == "issues":
        keys = {
            f"release:{repo_id}@{_ms(m)}" for m in (p["issue"].get("milestone"), p.get("milestone")) if _ms(m)
        }
        if keys:
            return keys
        return {f"repo:{repo_id}"} if action in ("opened", "labeled", "reopened", "closed") else None
    if event == "check_run":
        run = p["check_run"]
        ours = (run.get("app") or {}).get("id") == app_id if app_id else run["name"].startswith("release-bot")
        if action != "rerequested" or not ours or not run.get("pull_requests"):
            return None
        return {f"pr:{repo_id}#{pr['number']}" for pr in run["pull_requests"]}
    if event == "merge_group":
        m = re.search(r"pr-(\d+)-", p["merge_group"]["head_ref"])
        return {f"pr:{repo_id}#{m.group(1)}"} if action == "checks_requested" and m else None
    if event == "milestone":
        return {f"release:{repo_id}@{p['milestone']['number']}"}
    if event == "release":
        m = re.search(r"<!-- release-bot:notes:(\d+) -->", p["release"].get("body") or "")
        return {f"release:{repo_id}@{m.group(1)}"} if m else {f"repo:{repo_id}"}
    if event in ("deployment_status", "create", "delete", "push"):
        return {f"repo:{repo_id}"}
    if event == "deployment_protection_rule":
        return {f"deploy:{repo_id}#{p['deployment']['id']}"} if action == "requested" else None
    if event == "installation":
        if action in ("deleted", "suspend"):
            return "control"
        if action in ("created", "unsuspend", "new_permissions_accepted") and p.get("repositories"):
            return {f"repo:{r['id']}" for r in p["repositories"]}
        return None
    if event == "installation_repositories":
        if action == "removed":
            return "control"
        return {f"repo:{r['id']}" for r in p["repositories_added"]} or None
    return None
