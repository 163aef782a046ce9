"""What branch protection and rulesets demand of a merge, and whether a commit satisfies it.

A required check is ``(context, app_id)``; ``app_id`` None (or -1, GitHub's "any source") is
satisfied by any App's check run or by a commit status of that context; a pinned ``app_id`` only by
a check run of that App. A check passes when its latest run is completed with ``success``,
``neutral`` or ``skipped``; a status when its latest state is ``success``. Call with the lock held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox import gitobjects
from bot.sandbox.state import Repo, Ruleset, role_at_least

PASSING_CONCLUSIONS = ("success", "neutral", "skipped")
ADMIN_ROLE_ID = 5  # GitHub's RepositoryRole id for "admin" in ruleset bypass lists


@dataclass(frozen=True)
class RequiredCheck:
    context: str
    app_id: int | None  # None: any source


@dataclass
class MergeRequirements:
    """Everything branch protection and active rulesets require of any merge into one branch
    (no one bypassing; what the merge queue waits for)."""

    checks: list[RequiredCheck] = field(default_factory=list)
    strict: bool = False
    approvals: int = 0
    protection_checks: list[RequiredCheck] = field(default_factory=list)
    enforce_admins: bool = False


def ref_pattern_matches(pattern: str, ref: str, default_branch: str) -> bool:
    """GitHub's ruleset ref patterns: ``~ALL``, ``~DEFAULT_BRANCH``, fnmatch with ``*`` within a segment."""
    if pattern == "~ALL":
        return True
    if pattern == "~DEFAULT_BRANCH":
        return ref == f"refs/heads/{default_branch}"
    if not pattern.startswith("refs/"):
        pattern = f"refs/heads/{pattern}"
    rx = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            rx += ".*"
            i += 2
        elif pattern[i] == "*":
            rx += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(pattern[i])
            i += 1
    return re.fullmatch(rx, ref) is not None


def ruleset_applies(rs: Ruleset, repo: Repo, branch: str) -> bool:
    if rs.enforcement != "active" or rs.target != "branch":
        return False
    cond = (rs.conditions or {}).get("ref_name") or {}
    ref = f"refs/heads/{branch}"
    include = cond.get("include") or []
    exclude = cond.get("exclude") or []
    return any(ref_pattern_matches(p, ref, repo.default_branch) for p in include) and not any(
        ref_pattern_matches(p, ref, repo.default_branch) for p in exclude
    )


def requirements(repo: Repo, branch: str) -> MergeRequirements:
    req = MergeRequirements()
    prot = repo.protection.get(branch)
    if prot:
        rsc = prot.get("required_status_checks") or {}
        seen: set[str] = set()
        for chk in rsc.get("checks") or []:
            app_id = chk.get("app_id")
            req.protection_checks.append(
                RequiredCheck(chk["context"], None if app_id in (None, -1) else int(app_id))
            )
            seen.add(chk["context"])
        for ctx in rsc.get("contexts") or []:
            if ctx not in seen:
                req.protection_checks.append(RequiredCheck(ctx, None))
        req.strict = bool(rsc.get("strict"))
        req.enforce_admins = bool((prot.get("enforce_admins") or {}).get("enabled"))
        req.approvals = _protection_approvals(repo, branch)
    rs_checks, rs_approvals, rs_strict = _ruleset_demands(repo, branch, actor_role=None, actor_app_id=None)
    req.checks = req.protection_checks + [c for c in rs_checks if c not in req.protection_checks]
    req.approvals = max(req.approvals, rs_approvals)
    req.strict = req.strict or rs_strict
    return req


def check_state(repo: Repo, sha: str, check: RequiredCheck) -> str:
    """``passing``, ``failing`` or ``missing`` for one required check on ``sha``."""
    runs = [
        r
        for r in repo.check_runs.values()
        if r.head_sha == sha
        and r.name == check.context
        and (check.app_id is None or r.app_id == check.app_id)
    ]
    if runs:
        latest = max(runs, key=lambda r: r.id)
        if latest.status != "completed":
            return "pending"
        return "passing" if latest.conclusion in PASSING_CONCLUSIONS else "failing"
    if check.app_id is None:
        statuses = [s for s in repo.statuses if s.sha == sha and s.context == check.context]
        if statuses:
            latest_status = max(statuses, key=lambda s: s.id)
            if latest_status.state == "success":
                return "passing"
            return "pending" if latest_status.state == "pending" else "failing"
    return "missing"


def unmet_checks(repo: Repo, sha: str, checks: list[RequiredCheck]) -> list[tuple[RequiredCheck, str]]:
    return [(c, s) for c in checks if (s := check_state(repo, sha, c)) != "passing"]


def approvals(repo: Repo, number: int, head_sha: str, role_of: dict[str, str | None]) -> int:
    """Approvals that count: each reviewer's latest decisive review, from users with write access."""
    it = repo.issues[number]
    assert it.pull is not None
    latest: dict[str, str] = {}
    for r in sorted(it.pull.reviews, key=lambda r: r.id):
        if r.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[r.user.lower()] = r.state
    return sum(
        1
        for login, state in latest.items()
        if state == "APPROVED" and role_at_least(role_of.get(login), "write")
    )


def bypasses(rs: Ruleset, *, actor_role: str | None, actor_app_id: int | None) -> bool:
    """Whether the actor is on the ruleset's bypass list (admins by role, Apps by integration id)."""
    for b in rs.bypass_actors or []:
        kind, ident = b.get("actor_type"), b.get("actor_id")
        if actor_role == "admin" and (
            kind == "OrganizationAdmin" or (kind == "RepositoryRole" and ident == ADMIN_ROLE_ID)
        ):
            return True
        if actor_app_id is not None and kind == "Integration" and ident == actor_app_id:
            return True
    return False


def _active_rules(
    repo: Repo, branch: str, *, actor_role: str | None, actor_app_id: int | None
) -> list[dict[str, Any]]:
    """The rules of the active rulesets on ``branch`` that the actor does not bypass, in ruleset order."""
    out: list[dict[str, Any]] = []
    for rs in sorted(repo.rulesets.values(), key=lambda r: r.id):
        if ruleset_applies(rs, repo, branch) and not bypasses(
            rs, actor_role=actor_role, actor_app_id=actor_app_id
        ):
            out.extend(rs.rules or [])
    return out


def _rule_checks(rule: dict[str, Any]) -> list[RequiredCheck]:
    out = []
    for chk in (rule.get("parameters") or {}).get("required_status_checks") or []:
        iid = chk.get("integration_id")
        out.append(RequiredCheck(chk["context"], None if iid in (None, -1) else int(iid)))
    return out


def _ruleset_demands(
    repo: Repo, branch: str, *, actor_role: str | None, actor_app_id: int | None
) -> tuple[list[RequiredCheck], int, bool]:
    """(checks, approvals, strict) of the active rulesets on ``branch`` the actor does not bypass."""
    checks: list[RequiredCheck] = []
    approvals_needed, strict = 0, False
    for rule in _active_rules(repo, branch, actor_role=actor_role, actor_app_id=actor_app_id):
        params = rule.get("parameters") or {}
        if rule.get("type") == "required_status_checks":
            checks += [c for c in _rule_checks(rule) if c not in checks]
            strict = strict or bool(params.get("strict_required_status_checks_policy"))
        elif rule.get("type") == "pull_request":
            approvals_needed = max(approvals_needed, int(params.get("required_approving_review_count") or 0))
    return checks, approvals_needed, strict


def _checks_message(repo: Repo, sha: str | None, checks: list[RequiredCheck]) -> str | None:
    """GitHub's refusal for a push whose commit lacks required checks (a new commit has none yet)."""
    failing = unmet_checks(repo, sha, checks) if sha else [(c, "missing") for c in checks]
    if not failing:
        return None
    if len(failing) == 1:
        return f'Required status check "{failing[0][0].context}" is expected.'
    return f"{len(failing)} of {len(checks)} required status checks are expected."


def push_refusal(
    repo: Repo, branch: str, new_sha: str | None, *, actor_role: str | None, actor_app_id: int | None = None
) -> str | None:
    """Why a direct push (contents API, refs API, merges API) moving ``branch`` to ``new_sha`` must be
    refused, or None. ``new_sha`` None means a commit created by the push itself (no checks yet).

    As on GitHub: branch protection that requires pull requests refuses every direct push, and
    required status checks must already pass on the pushed commit; an admin bypasses protection when
    ``enforce_admins`` is off. A ruleset binds everyone not on its bypass list.
    """
    prot = repo.protection.get(branch)
    if prot and not (actor_role == "admin" and not (prot.get("enforce_admins") or {}).get("enabled")):
        if prot.get("required_pull_request_reviews") is not None:
            return "Changes must be made through a pull request."
        message = _checks_message(repo, new_sha, requirements(repo, branch).protection_checks)
        if message:
            return message
    violations: list[str] = []
    checks: list[RequiredCheck] = []
    for rule in _active_rules(repo, branch, actor_role=actor_role, actor_app_id=actor_app_id):
        if rule.get("type") == "pull_request":
            violations.append("Changes must be made through a pull request.")
        elif rule.get("type") == "required_status_checks":
            checks += [c for c in _rule_checks(rule) if c not in checks]
    message = _checks_message(repo, new_sha, checks)
    if message:
        violations.append(message)
    if violations:
        return "Repository rule violations found\n\n" + "\n".join(dict.fromkeys(violations)) + "\n"
    return None


def merge_refusal(
    repo: Repo,
    number: int,
    head_sha: str,
    *,
    actor_role: str | None,
    role_of: dict[str, str | None],
    actor_app_id: int | None = None,
) -> str | None:
    """Why a merge of PR ``number`` at ``head_sha`` must be refused (405), or None if it may proceed.

    Branch protection binds admins only with ``enforce_admins``; a ruleset binds everyone not on its
    bypass list.
    """
    it = repo.issues[number]
    assert it.pull is not None
    branch = it.pull.base_ref
    req = requirements(repo, branch)
    protection_applies = not (actor_role == "admin" and not req.enforce_admins)
    checks: list[RequiredCheck] = list(req.protection_checks) if protection_applies else []
    rs_checks, rs_approvals, rs_strict = _ruleset_demands(
        repo, branch, actor_role=actor_role, actor_app_id=actor_app_id
    )
    checks += [c for c in rs_checks if c not in checks]
    failing = unmet_checks(repo, head_sha, checks)
    if failing:
        check, state = failing[0]
        if state == "missing":
            return f'Required status check "{check.context}" is expected.'
        if state == "pending":
            return f'Required status check "{check.context}" is in progress.'
        return f'Required status check "{check.context}" is failing.'
    needed = max(_protection_approvals(repo, branch) if protection_applies else 0, rs_approvals)
    if needed and approvals(repo, number, head_sha, role_of) < needed:
        plural = "s" if needed > 1 else ""
        return f"At least {needed} approving review{plural} is required by reviewers with write access."
    rsc = (repo.protection.get(branch) or {}).get("required_status_checks") or {}
    strict = (protection_applies and bool(rsc.get("strict"))) or rs_strict
    base_tip = repo.branch_sha(branch)
    if strict and base_tip and not gitobjects.is_ancestor(repo, base_tip, head_sha):
        return "Head branch is not up to date with the base branch."
    return None


def _protection_approvals(repo: Repo, branch: str) -> int:
    prot = repo.protection.get(branch) or {}
    reviews = prot.get("required_pull_request_reviews") or {}
    return int(reviews.get("required_approving_review_count") or 0) if reviews else 0
