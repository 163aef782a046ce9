"""Branch protection of the release branches: require a check pinned to the App (a ruleset, or
classic protection where rulesets are unavailable). Used by ``release-bot protect``, the repo
reconciler's ``gate.protect_release_branches`` and the demo; split from ``gate_io`` (the gate's
reads and writes of one pull request) by concern."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from github import Github, GithubException

from bot.core.gate import is_release_branch
from bot.github.gate_io import _get, _send  # one explicit request each, as every gate write
from bot.github.paging import list_all
from bot.github.paths import repo_path

RULESET_NAME = "release-bot gate"


def _ruleset_body(
    patterns: Sequence[str], check_name: str, app_id: int, name: str = RULESET_NAME
) -> dict[str, Any]:
    return {
        "name": name,
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [f"refs/heads/{p}" for p in patterns], "exclude": []}},
        "rules": [
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    # integration_id pins the check to the App: a commit status or another App's
                    # check run with the same name does not satisfy it.
                    "required_status_checks": [{"context": check_name, "integration_id": app_id}],
                },
            }
        ],
    }


def _ruleset_is_ours(ruleset: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    include = ((ruleset.get("conditions") or {}).get("ref_name") or {}).get("include") or []
    if ruleset.get("enforcement") != "active" or sorted(include) != sorted(
        wanted["conditions"]["ref_name"]["include"]
    ):
        return False
    want = wanted["rules"][0]["parameters"]["required_status_checks"][0]
    for rule in ruleset.get("rules") or []:
        if rule.get("type") != "required_status_checks":
            continue
        for check in (rule.get("parameters") or {}).get("required_status_checks") or []:
            if (
                check.get("context") == want["context"]
                and check.get("integration_id") == want["integration_id"]
            ):
                return True
    return False


def ensure_ruleset(
    gh: Github, repo: str, patterns: Sequence[str], check_name: str, app_id: int, name: str = RULESET_NAME
) -> str:
    """Create or fix the repository ruleset ``name`` that requires the check. Returns what was done."""
    wanted = _ruleset_body(patterns, check_name, app_id, name)
    for summary in list_all(gh, f"{repo_path(repo)}/rulesets", max_pages=5):
        if summary.get("name") != name:
            continue
        ruleset_id = int(summary["id"])
        current = _get(gh, f"{repo_path(repo)}/rulesets/{ruleset_id}")
        if _ruleset_is_ours(current, wanted):
            return (
                f"ruleset '{name}' (id {ruleset_id}) already requires {check_name} from app {app_id}"
            )
        _send(gh, "PUT", f"{repo_path(repo)}/rulesets/{ruleset_id}", wanted)
        return f"ruleset '{name}' (id {ruleset_id}) updated to require {check_name} from app {app_id}"
    created = _send(gh, "POST", f"{repo_path(repo)}/rulesets", wanted)
    return (
        f"ruleset '{name}' (id {created.get('id')}) created: {check_name} from app {app_id} "
        f"on {', '.join(patterns)}"
    )


def ensure_branch_protection(gh: Github, repo: str, branch: str, check_name: str, app_id: int) -> str:
    """Classic protection of one existing branch: add the App-pinned check, keep everything else."""
    path = f"{repo_path(repo)}/branches/{quote(branch, safe='')}/protection"
    try:
        current: Mapping[str, Any] | None = _get(gh, path)
    except GithubException as exc:
        if exc.status != 404:  # 404: the branch is not protected yet
            raise
        current = None
    status_checks = dict((current or {}).get("required_status_checks") or {})
    checks = [dict(c) for c in status_checks.get("checks") or []]
    if any(c.get("context") == check_name and c.get("app_id") == app_id for c in checks):
        return f"{branch}: already requires {check_name} from app {app_id}"
    checks = [c for c in checks if c.get("context") != check_name] + [
        {"context": check_name, "app_id": app_id}
    ]
    body = {
        "required_status_checks": {"strict": bool(status_checks.get("strict", False)), "checks": checks},
        "enforce_admins": bool(((current or {}).get("enforce_admins") or {}).get("enabled", False)),
        "required_pull_request_reviews": _reviews_setting(current),
        "restrictions": _restrictions_setting(current),
    }
    _send(gh, "PUT", path, body)
    return f"{branch}: branch protection now requires {check_name} from app {app_id}"


def _reviews_setting(current: Mapping[str, Any] | None) -> dict[str, Any] | None:
    reviews = (current or {}).get("required_pull_request_reviews")
    if not isinstance(reviews, Mapping):
        return None
    keys = (
        "dismiss_stale_reviews",
        "require_code_owner_reviews",
        "required_approving_review_count",
        "require_last_push_approval",
    )
    return {key: reviews[key] for key in keys if key in reviews}


def _restrictions_setting(current: Mapping[str, Any] | None) -> dict[str, Any] | None:
    restrictions = (current or {}).get("restrictions")
    if not isinstance(restrictions, Mapping):
        return None
    return {
        "users": [u.get("login") for u in restrictions.get("users") or []],
        "teams": [t.get("slug") for t in restrictions.get("teams") or []],
        "apps": [a.get("slug") for a in restrictions.get("apps") or []],
    }


def matching_branches(gh: Github, repo: str, patterns: Sequence[str]) -> list[str]:
    return [
        str(b["name"])
        for b in list_all(gh, f"{repo_path(repo)}/branches", max_pages=50)
        if is_release_branch(str(b.get("name", "")), patterns)
    ]


def protect_release_branches(
    gh: Github,
    repo: str,
    patterns: Sequence[str],
    check_name: str,
    app_id: int,
    classic: bool = False,
    ruleset_name: str = RULESET_NAME,
) -> list[str]:
    """Require the gate pinned to the App: a ruleset, or classic protection where rulesets are unavailable.

    Rulesets cover branches created later too; classic protection only the branches that exist now
    (the repo reconciler calls this again when a release branch is created).
    """
    if not classic:
        try:
            return [ensure_ruleset(gh, repo, patterns, check_name, app_id, ruleset_name)]
        except GithubException as exc:
            # 404: no rulesets on this GitHub (older GHES); 403 "Upgrade to GitHub Pro or make this
            # repository public…": not on this plan. Any other 403 is a missing permission: say so.
            message = str(exc.data.get("message") if isinstance(exc.data, dict) else exc.data).lower()
            if not (exc.status == 404 or (exc.status == 403 and "upgrade" in message)):
                raise
    return [
        ensure_branch_protection(gh, repo, branch, check_name, app_id)
        for branch in matching_branches(gh, repo, patterns)
    ]
