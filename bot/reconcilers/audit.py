"""The gate's audit on ``repo:`` jobs and the audit store: direct pushes to release branches,
admin-bypass merges (recorded by the ``pr:`` reconcile), and branch protection on request.

What counts as unexplained is decided by ``bot.core.audit`` (pure); this module reads the branch
tip and the compare through ``bot.github.gate_io``, keeps the entries in the bot's store under
``gate-audit:{owner/name}`` and wakes the release that owns the branch. The release reconciler
reads them back with ``audit_entries`` for the tracking issue.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.core.audit import (
    AuditEntry,
    direct_push_entries,
    entry_item,
    force_push_entry,
    unexplained,
)
from bot.core.gate import MilestoneRef, is_release_branch
from bot.core.versions import owning_milestone
from bot.github import gate_io
from bot.github.errors import GithubException
from bot.jobs import JobSpec, parse_key, pr_key, release_key
from bot.reconcilers.context import JobContext

log = logging.getLogger("bot.reconcile.pr")

AUDIT_STATE_PREFIX = "gate-audit:"
AUDIT_KEEP = 200


# ---------------------------------------------------------------------------------------------
# the store


def record_audit(
    ctx: JobContext, repo_id: int, entry: AuditEntry, milestone: MilestoneRef | None = None
) -> None:
    """Keep the audit entry in the store and wake the release of ``milestone`` (the pull request's)."""
    append_entry(
        ctx.store, f"{AUDIT_STATE_PREFIX}{ctx.repo_full_name}", entry_item(entry, ctx.repo_full_name)
    )
    log.warning(
        "audit: %s %s on %s (%s)", entry.kind, entry.number or entry.sha[:7], entry.branch, entry.detail
    )
    if milestone is not None:
        ctx.enqueue(
            [
                JobSpec(
                    release_key(repo_id, milestone.number),
                    ctx.job.installation_id,
                    ctx.repo_full_name,
                    "gate.audit",
                )
            ]
        )


def append_entry(store: Any, name: str, item: dict[str, Any]) -> None:
    """Add ``item`` to the list kept under ``name`` (once, newest AUDIT_KEEP kept).

    Jobs of different keys (a ``pr:`` bypass, a ``repo:`` direct push) may record at the same
    moment, so the append is one atomic ``update_state``: get-then-set could lose one of them.
    """

    def add(current: Any) -> list[dict[str, Any]]:
        entries = [e for e in (current or []) if isinstance(e, dict)]
        if item not in entries:
            entries.append(item)
        return entries[-AUDIT_KEEP:]

    store.update_state(name, add)


def audit_entries(store: Any, repo: str, branch: str | None = None) -> list[dict[str, Any]]:
    """Admin-bypass merges and direct pushes recorded for ``repo`` (optionally one branch), oldest first.

    Each: ``{"kind": "bypass_merge"|"direct_push", "repo", "branch", "sha", "number": int|None,
    "by", "detail"}``.
    """
    entries = [e for e in (store.get_state(f"{AUDIT_STATE_PREFIX}{repo}") or []) if isinstance(e, dict)]
    return [e for e in entries if branch is None or e.get("branch") == branch]


# ---------------------------------------------------------------------------------------------
# repo: jobs — direct pushes to release branches, protection on request


def gate_discovery(ctx: JobContext) -> list[JobSpec]:
    """Run on every ``repo:`` job (listed in ``bot.reconcilers.dispatch.DISCOVERIES``): audit
    pushes to release branches, and require the gate on them when ``gate.protect_release_branches``
    is on."""
    settings = ctx.repo_config.gate
    hints = ctx.job.hints or {}
    branches = [
        ref.removeprefix("refs/heads/")
        for ref in hints.get("refs") or []
        if isinstance(ref, str) and ref.startswith("refs/heads/")
    ]
    branches += [
        ref.removeprefix("branch:")
        for ref in hints.get("refs") or []
        if isinstance(ref, str) and ref.startswith("branch:")
    ]
    release_branches = sorted({b for b in branches if is_release_branch(b, settings.release_branches)})
    _, repo_id, _ = parse_key(ctx.job.key)
    jobs: list[JobSpec] = []
    for branch in release_branches:
        jobs += audit_branch(ctx, repo_id, branch)
    if settings.protect_release_branches and (
        release_branches or hints.get("config_changed") or hints.get("fan_out")
    ):
        try:
            for line in gate_io.protect_release_branches(
                ctx.gh, ctx.repo_full_name, settings.release_branches, settings.check_name, ctx.app_id
            ):
                log.info("%s: %s", ctx.repo_full_name, line)
        except GithubException as exc:
            # Usually the App lacks the optional administration permission: say so, do not fail the job.
            log.warning(
                "%s: gate.protect_release_branches is on but protection could not be set (%s): %s",
                ctx.repo_full_name,
                exc.status,
                exc.data.get("message") if isinstance(exc.data, dict) else exc.data,
            )
    return jobs


def audit_branch(ctx: JobContext, repo_id: int, branch: str) -> list[JobSpec]:
    """Commits that reached ``branch`` since the tip last seen without a merged pull request."""
    gh = ctx.gh
    repo = ctx.repo_full_name
    state_name = f"gate-tip:{repo}:{branch}"
    tip = gate_io.read_branch_tip(gh, repo, branch)
    last = ctx.store.get_state(state_name)
    if tip is None or last == tip:
        return []
    ctx.store.set_state(state_name, tip)
    if not isinstance(last, str):
        return []  # first sight (new branch, empty store): nothing to compare with
    comparison = gate_io.compare(gh, repo, last, tip)
    entries: list[AuditEntry] = []
    woken: list[JobSpec] = []
    if comparison is None or comparison.get("status") not in ("ahead", "identical"):
        entries.append(force_push_entry(repo, branch, last, tip))
    else:
        commits = gate_io.pushed_commits(comparison)
        merged = gate_io.merged_pulls_into(gh, repo, branch)
        # The pull requests this push merged: their `pr:` reconcile reports a merge past a failing
        # gate, so the audit does not hinge on the `pull_request` `closed` delivery alone.
        for commit in commits:
            landed = merged.get(commit.sha)
            if landed is not None:
                woken.append(
                    JobSpec(pr_key(repo_id, landed[0]), ctx.job.installation_id, repo, "gate.audit merged")
                )

        def count_of(number: int) -> int:
            return gate_io.pull_commit_count(gh, repo, number)

        entries += direct_push_entries(repo, branch, unexplained(commits, tip, last, merged, count_of))
    for entry in entries:
        record_audit(ctx, repo_id, entry)
    if not entries:
        return woken
    milestones = [gate_io.milestone_ref(m) for m in gate_io.read_open_milestones(gh, repo)]
    try:
        owner = owning_milestone(branch, milestones, ctx.config)
    except ValueError:
        owner = None
    if owner is None:
        return woken
    return [
        *woken,
        JobSpec(release_key(repo_id, owner.number), ctx.job.installation_id, repo, "gate.audit direct push"),
    ]
