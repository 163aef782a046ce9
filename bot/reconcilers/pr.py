"""The ``pr:{repo_id}#{number}`` reconciler: the merge gate of one pull request.

Level-triggered (DESIGN.md): whatever event woke it, it reads the current pull request, its
timeline (who applied each label, when the head commit arrived, where hinted comments sit), the
bot's own check runs for the head commit and the open milestones, asks ``bot.core.gate`` for the
desired state, and applies only the difference. A reconcile with nothing to change costs these
four reads and no write; permission look-ups happen only for label applications and commands not
yet recorded, and are cached (``bot.github.permissions``).

Hints: ``comment_ids`` (new comments that may hold commands: fetched again, never trusted from
the payload) and ``merge_group`` (``head_sha``/``head_ref``/``base_ref`` of a merge queue group).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from github import UnknownObjectException

from bot.core.commands import parse_commands
from bot.core.gate import (
    GATE_COMMANDS,
    GATE_REQUIREMENTS,
    AuditEntry,
    CheckOutput,
    CommentFacts,
    GateFacts,
    GatePlan,
    GateSettings,
    is_release_branch,
    latest_labeled,
    merge_group_check,
    parse_record,
    plan_gate,
)
from bot.core.permissions import role_rules
from bot.errors import PermanentError
from bot.github import gate_io
from bot.github.permissions import roles_for
from bot.jobs import JobSpec, parse_key, release_key
from bot.reconcilers.context import JobContext

log = logging.getLogger("bot.reconcile.pr")

# Replies to one person on one pull request: at most REPLY_BURST within REPLY_WINDOW_SECONDS.
# Beyond that the bot only reacts, so nobody can make it flood a thread (or GitHub's limits).
REPLY_BURST = 3
REPLY_WINDOW_SECONDS = 600.0
MAX_HINTED_COMMENTS = 20
AUDIT_STATE_PREFIX = "gate-audit:"
AUDIT_KEEP = 200


def reconcile(ctx: JobContext) -> None:
    _, repo_id, number = parse_key(ctx.job.key)
    assert number is not None
    check = reconcile_pull(ctx, repo_id, number, ctx.job.hints.get("comment_ids") or [])
    group = ctx.job.hints.get("merge_group")
    if isinstance(group, Mapping):
        reconcile_merge_group(ctx, repo_id, number, group, check)


def reconcile_pull(
    ctx: JobContext, repo_id: int, number: int, comment_ids: Sequence[int] = ()
) -> CheckOutput | None:
    """Converge the gate of one pull request; returns what its check says (None when not gated)."""
    gh = ctx.gh
    repo = ctx.repo_full_name
    settings = GateSettings.from_config(ctx.config)
    try:
        pull_json = gate_io.read_pull(gh, repo, number)
    except UnknownObjectException:
        raise PermanentError(f"pull request {repo}#{number} no longer exists") from None
    pull = gate_io.pull_facts(pull_json)
    existing = gate_io.latest_check(
        gate_io.read_gate_checks(gh, repo, pull.head_sha, settings.check_name, ctx.app_id)
    )
    rules = role_rules(ctx.config, repo.split("/", 1)[0])
    config_valid = bool(getattr(ctx, "config_valid", True))
    base_facts = GateFacts(
        pull=pull,
        settings=settings,
        rules=rules,
        bot_login=ctx.bot_login,
        config=ctx.config,
        existing=existing,
        config_valid=config_valid,
        config_error=ctx.config_error,
    )
    gated = is_release_branch(pull.base, settings.release_branches)
    comments: list[CommentFacts] = []
    if gated and pull.state == "open":
        timeline = gate_io.timeline_items(gate_io.read_timeline(gh, repo, number))
        milestones = tuple(gate_io.milestone_ref(m) for m in gate_io.read_open_milestones(gh, repo))
        comments = _read_comments(ctx, number, comment_ids)
        reviews = (
            gate_io.reviews(gate_io.read_reviews(gh, repo, number)) if settings.approval_from_reviews else ()
        )
        facts = replace(base_facts, timeline=timeline, open_milestones=milestones, reviews=reviews)
        facts = replace(facts, roles=roles_for(ctx, _logins_to_judge(facts, comments)))
    else:
        facts = base_facts
        if not gated:
            comments = _read_comments(ctx, number, comment_ids)
    plan = plan_gate(facts, comments)
    apply_plan(ctx, repo_id, number, facts, plan)
    return plan.check if gated else None


def _read_comments(ctx: JobContext, number: int, comment_ids: Iterable[Any]) -> list[CommentFacts]:
    """Hinted comments, read from GitHub; only those on this pull request and holding gate commands."""
    out: list[CommentFacts] = []
    seen: set[int] = set()
    for raw_id in list(comment_ids)[:MAX_HINTED_COMMENTS]:
        if not isinstance(raw_id, int) or raw_id in seen:
            continue
        seen.add(raw_id)
        data = gate_io.read_comment(ctx.gh, ctx.repo_full_name, raw_id)
        if data is None:
            continue
        issue_url = str(data.get("issue_url", ""))
        if not issue_url.endswith(f"/issues/{number}"):
            log.warning("comment %s hinted for #%s belongs to %s; ignored", raw_id, number, issue_url)
            continue
        author = str((data.get("user") or {}).get("login", ""))
        if author.lower() == ctx.bot_login.lower():
            continue  # the bot's own replies (the help text lists commands) never act
        commands = tuple(c for c in parse_commands(data.get("body")) if c.name in GATE_COMMANDS)
        if not commands:
            continue
        handled = gate_io.bot_reacted(ctx.gh, ctx.repo_full_name, raw_id, ctx.bot_login)
        out.append(
            CommentFacts(
                raw_id,
                author,
                str(data.get("body") or ""),
                str(data.get("created_at", "")),
                commands,
                handled,
            )
        )
    return out


def _logins_to_judge(facts: GateFacts, comments: Sequence[CommentFacts]) -> list[str]:
    """People whose roles the plan needs: unrecorded label appliers, commenters, reviewers."""

    record = parse_record(facts.existing.summary if facts.existing else None, facts.pull.head_sha)
    logins: list[str] = []
    for requirement in GATE_REQUIREMENTS:
        label = facts.settings.label_for(requirement)
        if not any(name.lower() == label.lower() for name in facts.pull.labels):
            continue
        latest = latest_labeled(facts.timeline, label)
        if latest is None:
            continue
        entry = record.get(requirement) if record else None
        if entry is not None and entry.event == latest[1].id:
            continue
        logins.append(latest[1].actor)
    logins += [c.author for c in comments if not c.handled]
    logins += [
        r.author for r in facts.reviews if r.state == "APPROVED" and r.commit_id == facts.pull.head_sha
    ]
    return [login for login in logins if login and login.lower() != facts.bot_login.lower()]


# ---------------------------------------------------------------------------------------------
# applying


def apply_plan(ctx: JobContext, repo_id: int, number: int, facts: GateFacts, plan: GatePlan) -> None:
    gh = ctx.gh
    repo = ctx.repo_full_name
    settings = facts.settings
    # The check (and the record in it) first: a label the bot adds for a command must find its
    # record there when the label's own webhook wakes the next reconcile.
    if plan.check is not None and plan.check.differs_from(facts.existing):
        gate_io.write_check(
            gh,
            repo,
            facts.pull.head_sha,
            settings.check_name,
            plan.check,
            facts.existing.id if facts.existing else None,
        )
    for label in plan.remove_labels:
        gate_io.remove_label(gh, repo, number, label)
    if plan.add_labels:
        gate_io.add_labels(gh, repo, number, plan.add_labels)
    if plan.milestone != "keep":
        gate_io.set_milestone(gh, repo, number, plan.milestone.number if plan.milestone else None)
    for reply in plan.replies:
        if reply.to and not _may_reply(ctx, number, reply.to):
            log.info("reply to %s on %s#%s throttled", reply.to, repo, number)
            continue
        gate_io.post_comment(gh, repo, number, reply.body)
    for comment_id, content in plan.reactions:
        gate_io.react(gh, repo, comment_id, content)
    if plan.audit is not None:
        record_audit(ctx, repo_id, plan.audit, facts)


def _may_reply(ctx: JobContext, number: int, login: str, now: float | None = None) -> bool:
    """Token-bucket-like throttle in the store: REPLY_BURST replies per REPLY_WINDOW_SECONDS."""
    now = time.time() if now is None else now
    name = f"gate-replies:{ctx.repo_full_name}#{number}:{login.lower()}"
    recent = [
        t
        for t in (ctx.store.get_state(name) or [])
        if isinstance(t, int | float) and now - t < REPLY_WINDOW_SECONDS
    ]
    if len(recent) >= REPLY_BURST:
        return False
    ctx.store.set_state(name, [*recent, now])
    return True


# ---------------------------------------------------------------------------------------------
# audit (read by the release reconciler for the tracking issue)


def record_audit(ctx: JobContext, repo_id: int, entry: AuditEntry, facts: GateFacts | None = None) -> None:
    """Keep the audit entry in the store and wake the release that owns the branch."""
    name = f"{AUDIT_STATE_PREFIX}{ctx.repo_full_name}"
    entries = [e for e in (ctx.store.get_state(name) or []) if isinstance(e, dict)]
    item = {
        "kind": entry.kind,
        "repo": ctx.repo_full_name,
        "branch": entry.branch,
        "sha": entry.sha,
        "number": entry.number,
        "by": entry.by,
        "detail": entry.detail,
    }
    if item not in entries:
        entries.append(item)
        ctx.store.set_state(name, entries[-AUDIT_KEEP:])
    log.warning(
        "audit: %s %s on %s (%s)", entry.kind, entry.number or entry.sha[:7], entry.branch, entry.detail
    )
    milestone = facts.pull.milestone if facts is not None else None
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


def audit_entries(store: Any, repo: str, branch: str | None = None) -> list[dict[str, Any]]:
    """Admin-bypass merges and direct pushes recorded for ``repo`` (optionally one branch), oldest first.

    Each: ``{"kind": "bypass_merge"|"direct_push", "repo", "branch", "sha", "number": int|None, "by", "detail"}``.
    """
    entries = [e for e in (store.get_state(f"{AUDIT_STATE_PREFIX}{repo}") or []) if isinstance(e, dict)]
    return [e for e in entries if branch is None or e.get("branch") == branch]


# ---------------------------------------------------------------------------------------------
# merge queue


def reconcile_merge_group(
    ctx: JobContext, repo_id: int, number: int, group: Mapping[str, Any], own: CheckOutput | None
) -> None:
    """Report the gate on the merge group's head commit: success when every pull request of it passes."""
    head_sha = str(group.get("head_sha") or "")
    head_ref = str(group.get("head_ref") or "")
    if not head_sha:
        log.warning("merge_group hint for #%s without head_sha; ignored", number)
        return
    numbers = gate_io.merge_group_numbers(head_ref) or [number]
    numbers += [n for n in _group_members(ctx, group) if n not in numbers]
    results: list[tuple[int, CheckOutput | None]] = []
    for member in numbers:
        if member == number:
            results.append((member, own))
        else:
            results.append((member, reconcile_pull(ctx, repo_id, member)))
    settings = GateSettings.from_config(ctx.config)
    gate_io.ensure_check(
        ctx.gh,
        ctx.repo_full_name,
        head_sha,
        settings.check_name,
        ctx.app_id,
        merge_group_check(results, head_sha),
    )


def _group_members(ctx: JobContext, group: Mapping[str, Any]) -> list[int]:
    """Pull requests queued ahead in the same group: the queue's merge commits name them."""
    base_ref = str(group.get("base_ref") or "")
    head_sha = str(group.get("head_sha") or "")
    if not base_ref or not head_sha:
        return []
    base = base_ref.removeprefix("refs/heads/")
    return gate_io.merge_group_member_numbers(ctx.gh, ctx.repo_full_name, base, head_sha)
