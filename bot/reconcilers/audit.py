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
from bot.core.versions import literal_prefix, owning_milestone
from bot.github import branch_protection_io, gate_io, repo_io
from bot.github.errors import GithubException
from bot.jobs import JobSpec, parse_key, pr_key, release_key
from bot.reconcilers.context import JobContext

log = logging.getLogger("bot.reconcile.pr")

AUDIT_STATE_PREFIX = "gate-audit:"
AUDIT_KEEP = 200
# Merged pull requests whose ``pr:`` reconcile has run since the merge (``record_merged``).
MERGED_STATE_PREFIX = "gate-merged:"
MERGED_KEEP = 200


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


def record_merged(
    store: Any, repo: str, branch: str, merge_sha: str, number: int, commits: int
) -> None:
    """Keep what GitHub said of a merged pull request (``GET /pulls/{n}``: merged into ``branch`` as
    ``merge_sha``, with ``commits`` commits), once its ``pr:`` reconcile has converged on the merge
    (a bypass is audited by then). The push that landed it then needs neither the pulls listing nor
    to wake that reconcile again (``audit_branch``). Newest ``MERGED_KEEP`` per repository."""

    def add(current: Any) -> dict[str, list[Any]]:
        kept = dict(current) if isinstance(current, dict) else {}
        kept.pop(merge_sha, None)
        kept[merge_sha] = [number, commits, branch]
        return dict(list(kept.items())[-MERGED_KEEP:])

    store.update_state(f"{MERGED_STATE_PREFIX}{repo}", add)


def merged_known(store: Any, repo: str, branch: str) -> dict[str, tuple[int, int]]:
    """merge_commit_sha -> (number, commits) of the pull requests ``record_merged`` kept for ``branch``."""
    known = store.get_state(f"{MERGED_STATE_PREFIX}{repo}")
    out: dict[str, tuple[int, int]] = {}
    for sha, entry in (known if isinstance(known, dict) else {}).items():
        if (
            isinstance(entry, list)
            and len(entry) == 3
            and entry[2] == branch
            and all(isinstance(v, int) and not isinstance(v, bool) for v in entry[:2])
        ):
            out[str(sha)] = (entry[0], entry[1])
    return out


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
            for line in branch_protection_io.protect_release_branches(
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


def _branch_tip(ctx: JobContext, branch: str) -> str | None:
    """The branch's head, read as release discovery and the release's facts read the release
    branches (every head under the branch pattern's literal prefix): one request, whose answer the
    ``release:`` jobs the same push wakes are served (bot.github.freshness), instead of two."""
    prefix = literal_prefix(ctx.repo_config.releases.conventions.branch_pattern)
    if prefix and branch.startswith(prefix):
        return repo_io.matching_refs(ctx.gh, ctx.repo_full_name, "heads", prefix).get(branch) or None
    return gate_io.read_branch_tip(ctx.gh, ctx.repo_full_name, branch)


def audit_branch(ctx: JobContext, repo_id: int, branch: str) -> list[JobSpec]:
    """Commits that reached ``branch`` since the tip last seen without a merged pull request."""
    gh = ctx.gh
    repo = ctx.repo_full_name
    state_name = f"gate-tip:{repo}:{branch}"
    tip = _branch_tip(ctx, branch)
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

        def count_of(number: int) -> int:
            return gate_io.pull_commit_count(gh, repo, number)

        # Merges whose `pr:` reconcile already ran on the merged pull request (GitHub's answer for it,
        # kept by `record_merged`): when they explain every commit of the push, the pulls listing
        # would say nothing new, and their reconciles have nothing left to report.
        known = merged_known(ctx.store, repo, branch)
        rest = unexplained(commits, tip, last, known, count_of)
        if rest:
            listed = gate_io.merged_pulls_into(gh, repo, branch)
            # The pull requests this push merged: their `pr:` reconcile reports a merge past a failing
            # gate, so the audit does not hinge on the `pull_request` `closed` delivery alone.
            for commit in commits:
                landed = listed.get(commit.sha)
                if landed is not None and commit.sha not in known:
                    key = pr_key(repo_id, landed[0])
                    woken.append(JobSpec(key, ctx.job.installation_id, repo, "gate.audit merged"))
            rest = unexplained(commits, tip, last, {**listed, **known}, count_of)
        entries += direct_push_entries(repo, branch, rest)
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
