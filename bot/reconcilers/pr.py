"""The ``pr:{repo_id}#{number}`` reconciler: the merge gate of one pull request.

Level-triggered (DESIGN.md): whatever event woke it, it reads the current pull request, its
timeline (who applied each label, when the head commit arrived, where hinted comments sit), the
bot's own check runs for the head commit and the open milestones, asks ``bot.core.gate`` for the
desired state, and applies only the difference. A reconcile with nothing to change costs these
four reads and no write; permission look-ups happen only for label applications and commands not
yet recorded, and are cached (``bot.github.permissions``).

Hints: ``comment_ids`` (new comments that may hold commands: fetched again, never trusted from
the payload: ``bot.reconcilers.pr_comments``) and ``merge_group`` (``head_sha``/``head_ref``/
``base_ref`` of a merge queue group: ``bot.reconcilers.merge_queue``). Replies to one person on
one pull request are throttled (``bot.reconcilers.reply_throttle``): beyond the burst the bot only
reacts, so nobody can make it flood a thread (or GitHub's limits). Admin-bypass merges go to the
audit store (``bot.reconcilers.audit``). Where ``releases.freeze`` is configured, the code freeze's
own check run follows the gate's (``bot.reconcilers.freeze``, docs/code-freeze.md); elsewhere it
costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

from bot.core.gate import (
    GATE_REQUIREMENTS,
    CheckOutput,
    CommentFacts,
    CommitRecord,
    GateFacts,
    GatePlan,
    GateRecord,
    GateSettings,
    PullFacts,
    PullSection,
    hold_lift_to_judge,
    is_release_branch,
    latest_labeled,
    milestone_to_judge,
    needs_head_arrival,
    parse_commit_record,
    parse_record,
    plan_gate,
)
from bot.errors import PermanentError
from bot.github import gate_io
from bot.github.errors import GithubException
from bot.jobs import JobSpec, comment_digests, parse_key, pr_key
from bot.reconcilers import command_ledger
from bot.reconcilers.audit import record_audit, record_merged
from bot.reconcilers.commit_lock import commit_lock
from bot.reconcilers.context import JobContext
from bot.reconcilers.freeze import reconcile_merge_group_freeze, reconcile_pull_freeze
from bot.reconcilers.merge_queue import reconcile_merge_group
from bot.reconcilers.pr_comments import Hinted, apply_release_notes, read_comments
from bot.reconcilers.reply_throttle import may_reply

log = logging.getLogger("bot.reconcile.pr")

__all__ = ["apply_plan", "reconcile", "reconcile_pull"]



def reconcile(ctx: JobContext) -> None:
    _, repo_id, number = parse_key(ctx.job.key)
    assert number is not None
    check = reconcile_pull(
        ctx,
        repo_id,
        number,
        ctx.job.hints.get("comment_ids") or [],
        comment_digests(ctx.job.hints),
    )
    group = ctx.job.hints.get("merge_group")
    if isinstance(group, Mapping):
        reconcile_merge_group(ctx, number, group, check, lambda member: reconcile_pull(ctx, repo_id, member))
        if ctx.repo_config.releases.freeze is not None:
            pull_json = gate_io.read_pull(ctx.gh, ctx.repo_full_name, number)
            default = str(((pull_json.get("base") or {}).get("repo") or {}).get("default_branch") or "")
            reconcile_merge_group_freeze(ctx, repo_id, number, group, default)


def reconcile_pull(
    ctx: JobContext,
    repo_id: int,
    number: int,
    comment_ids: Sequence[int] = (),
    digests: Mapping[int, str] | None = None,
) -> CheckOutput | None:
    """Converge the gate of one pull request; returns what its own verdict says (None when not gated)."""
    gh = ctx.gh
    repo = ctx.repo_full_name
    settings = ctx.repo_config.gate
    try:
        pull_json = gate_io.read_pull(gh, repo, number)
    except GithubException as exc:
        if exc.status in (404, 410):
            raise PermanentError(f"pull request {repo}#{number} no longer exists") from None
        raise
    pull = gate_io.pull_facts(pull_json)
    # The commit's check run is shared by every pull request at that head: one writer at a time.
    with commit_lock(ctx.store, repo, pull.head_sha, holder=ctx.job.key):
        existing = gate_io.latest_check(
            gate_io.read_gate_checks(gh, repo, pull.head_sha, settings.check_name, ctx.app_id)
        )
        commit = parse_commit_record(existing.summary if existing else None, pull.head_sha)
        rules = ctx.repo_config.roles
        base_facts = GateFacts(
            pull=pull,
            settings=settings,
            rules=rules,
            bot_login=ctx.bot_login,
            config=ctx.config,
            existing=existing,
            config_valid=ctx.config_valid,
            config_error=ctx.config_error,
            others=_other_pulls_at_head(ctx, repo_id, pull, commit, settings),
        )
        gated = is_release_branch(pull.base, settings.release_branches)
        comments: list[CommentFacts] = []
        hinted: list[Hinted] = []
        if gated and pull.state == "open":
            timeline_json = gate_io.read_timeline(gh, repo, number)
            timeline = gate_io.timeline_items(timeline_json)
            milestones = tuple(gate_io.milestone_ref(m) for m in gate_io.read_open_milestones(gh, repo))
            # The timeline was just read from GitHub, after the hinted comments were made: it holds
            # them, so they cost no read of their own (bot.reconcilers.pr_comments).
            hinted = read_comments(
                ctx, number, comment_ids, digests or {}, gate_io.timeline_comments(timeline_json)
            )
            comments = [h.facts for h in hinted if h.facts.commands]
            reviews = (
                gate_io.reviews(gate_io.read_reviews(gh, repo, number))
                if settings.approval_from_reviews
                else ()
            )
            facts = replace(base_facts, timeline=timeline, open_milestones=milestones, reviews=reviews)
            facts = replace(facts, roles=ctx.roles.roles_of(_logins_to_judge(facts, comments)))
            if needs_head_arrival(facts, comments):
                facts = replace(facts, head_arrived_at=gate_io.head_arrival(gh, repo, pull_json))
        else:
            facts = base_facts
            if not gated:
                hinted = read_comments(ctx, number, comment_ids, digests or {})
                comments = [h.facts for h in hinted if h.facts.commands]
        plan = plan_gate(facts, comments)
        if (
            plan.check is not None
            and plan.check.conclusion != "failure"
            and plan.check.differs_from(existing)
        ):
            # Before a commit is written as passing (or not gated), every open pull request into a
            # gated branch at that head must be in it: one the bot has not evaluated yet fails it.
            unknown = _unknown_pulls_at_head(ctx, repo_id, pull, facts.others, settings)
            if unknown:
                facts = replace(facts, others=(*facts.others, *unknown))
                plan = plan_gate(facts, comments)
        apply_plan(ctx, repo_id, number, facts, plan)
    merge_sha = str(pull_json.get("merge_commit_sha") or "")
    if pull.merged and pull.state == "closed" and merge_sha:
        # Converged on the merge (a bypass is audited by now): the push that landed it need not
        # list the pulls nor wake this reconcile again (bot.reconcilers.audit.audit_branch).
        record_merged(ctx.store, repo, pull.base, merge_sha, number, int(pull_json.get("commits") or 0))
    reconcile_pull_freeze(ctx, repo_id, pull_json, pull, hinted)
    apply_release_notes(ctx, number, hinted, pull_json)
    decided: CheckOutput | None = None
    if gated and plan.own is not None:
        decided = CheckOutput(plan.own.conclusion, plan.own.title, plan.own.summary)
    elif gated:
        section = commit.section(number)
        if section is not None and section.verdict is not None and section.base == pull.base:
            verdict = section.verdict
            decided = CheckOutput(verdict.conclusion, verdict.title, verdict.summary)
    _log_decision(ctx, number, pull.base, pull.head_sha, gated, decided)
    return decided


def _other_pulls_at_head(
    ctx: JobContext, repo_id: int, pull: PullFacts, commit: CommitRecord, settings: GateSettings
) -> tuple[PullSection, ...]:
    """The other pull requests the commit's record has a section for, read back from GitHub: those
    still open at this head into a gated branch. One retargeted since counts as not evaluated (and
    is woken), so its old sign-offs count for nothing here."""
    out: list[PullSection] = []
    for section in commit.pulls:
        if section.number == pull.number or section.record.audited:
            continue
        try:
            other = gate_io.pull_facts(gate_io.read_pull(ctx.gh, ctx.repo_full_name, section.number))
        except GithubException as exc:
            if exc.status in (404, 410):
                continue
            raise
        if other.state != "open" or other.head_sha != pull.head_sha:
            continue
        if not is_release_branch(other.base, settings.release_branches):
            continue
        if other.base != section.base:
            out.append(PullSection(other.number, other.base, None, GateRecord(pull.head_sha)))
            _wake(ctx, repo_id, other.number, "gate.twin retargeted")
            continue
        out.append(section)
    return tuple(out)


def _unknown_pulls_at_head(
    ctx: JobContext, repo_id: int, pull: PullFacts, known: Sequence[PullSection], settings: GateSettings
) -> list[PullSection]:
    """Open pull requests into a gated branch at this head that the record has no section for:
    each counts as not evaluated (failing) until its own reconcile, which this wakes, has run."""
    numbers = {pull.number, *(s.number for s in known)}
    found: list[PullSection] = []
    for data in gate_io.read_commit_pulls(ctx.gh, ctx.repo_full_name, pull.head_sha):
        other = gate_io.pull_facts(data)
        if other.number in numbers or other.state != "open" or other.head_sha != pull.head_sha:
            continue
        if not is_release_branch(other.base, settings.release_branches):
            continue
        found.append(PullSection(other.number, other.base, None, GateRecord(pull.head_sha)))
        _wake(ctx, repo_id, other.number, "gate.twin found")
    return found


def _wake(ctx: JobContext, repo_id: int, number: int, reason: str) -> None:
    ctx.enqueue([JobSpec(pr_key(repo_id, number), ctx.job.installation_id, ctx.repo_full_name, reason)])


def _log_decision(
    ctx: JobContext, number: int, base: str, head_sha: str, gated: bool, decided: CheckOutput | None
) -> None:
    """One line per gate decision, as there is one per release reconcile: which pull request, the
    conclusion, and what is missing (the check's title says it: "Missing: UAT, approval")."""
    if not gated:
        ctx.log.info("gate %s#%s: not gated (base %s)", ctx.repo_full_name, number, base)
        return
    conclusion = decided.conclusion if decided else "pending"
    title = " ".join((decided.title if decided else "no check yet").split())[:200]
    ctx.log.info("gate %s#%s @%s: %s — %s", ctx.repo_full_name, number, head_sha[:7], conclusion, title)


def _logins_to_judge(facts: GateFacts, comments: Sequence[CommentFacts]) -> list[str]:
    """People whose roles the plan needs: unrecorded label appliers, commenters, reviewers."""

    record = parse_record(
        facts.existing.summary if facts.existing else None,
        facts.pull.head_sha,
        facts.pull.number,
        facts.pull.base,
    )
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
    lifted = hold_lift_to_judge(facts, record)
    if lifted is not None:
        logins.append(lifted.actor)
    milestoned = milestone_to_judge(facts, record)
    if milestoned is not None:
        logins.append(milestoned.actor)
    logins += [c.author for c in comments if not c.handled and not c.edited]
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
    # Replies that the record marks as done (the audit) go before the record: a failure between
    # the two then repeats the attempt, and the marker found on GitHub keeps it to one comment.
    # (The other way round, a failed post after the record was written would be lost for good.)
    marked = [reply for reply in plan.replies if reply.marker]
    if marked:
        posted = gate_io.bot_comment_markers(gh, repo, number, ctx.bot_login, [r.marker for r in marked])
        for reply in marked:
            if reply.marker not in posted:
                gate_io.post_comment(gh, repo, number, reply.body)
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
        if reply.marker:
            continue  # posted above
        if reply.to and not may_reply(ctx.store, repo, number, reply.to):
            log.info("reply to %s on %s#%s throttled", reply.to, repo, number)
            continue
        gate_io.post_comment(gh, repo, number, reply.body)
    for comment_id, content in plan.reactions:
        command_ledger.react(ctx, comment_id, content)
    if plan.audit is not None:
        record_audit(ctx, repo_id, plan.audit, facts.pull.milestone)
