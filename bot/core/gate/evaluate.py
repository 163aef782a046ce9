"""``plan_gate``: facts about one pull request in, the desired state out."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.gate.closed import inert_sections, plan_closed, plan_not_gated
from bot.core.gate.commands import apply_comment
from bot.core.gate.facts import CommentFacts, GateFacts
from bot.core.gate.judging import judge_hold, judge_labels, judge_milestone, reset_stale
from bot.core.gate.plan import GatePlan
from bot.core.gate.record import GateRecord, PullSection, parse_commit_record
from bot.core.gate.rendering import commit_check
from bot.core.gate.settings import is_release_branch
from bot.core.gate.timeline import owner_milestone
from bot.core.gate.verdict import render_verdict
from bot.core.gate.work import Work


def plan_gate(facts: GateFacts, comments: Sequence[CommentFacts] = ()) -> GatePlan:
    """The desired state of the gate of one pull request, and what to do to get there.

    ``plan.check`` is what the commit's check run must say: the strictest over this pull request
    and ``facts.others`` (the other open gated pull requests at this head). A pull request that is
    not gated, or closed, never writes a conclusion of its own over theirs.
    """
    pull = facts.pull
    settings = facts.settings
    commit = parse_commit_record(facts.existing.summary if facts.existing else None, pull.head_sha)
    if not is_release_branch(pull.base, settings.release_branches):
        return plan_not_gated(facts, comments, commit)

    owner = owner_milestone(facts)
    release = owner.number if owner is not None else None
    own = commit.section(pull.number)
    if own is not None and own.base == pull.base:
        record = own.record
    else:
        record = GateRecord(sha=pull.head_sha)  # never evaluated here, or given for another base branch

    if pull.state != "open":
        return plan_closed(facts, commit, record, release)

    work = Work(facts, record)
    # The release that owns the base changed (a shipped version's branch now belongs to the
    # next patch release): what was given for the other release is given again.
    work.rebound_from = (
        own.release if own is not None and own.base == pull.base and own.release != release else None
    )
    work.stale = set(judge_labels(work))
    judge_hold(work)
    judge_milestone(work)
    for comment in comments:
        apply_comment(work, comment)
    reset_stale(work, sorted(work.stale, key=lambda label: label != settings.uat_label))
    verdict = render_verdict(facts, work.record, work.labels.values(), work.milestone)
    section = PullSection(pull.number, pull.base, release, work.record, verdict)
    return GatePlan(
        check=commit_check(pull.head_sha, [section, *facts.others], inert_sections(commit, pull.number)),
        record=work.record,
        add_labels=list(work.add.values()),
        remove_labels=list(work.remove.values()),
        milestone=work.milestone,
        replies=work.replies + list(work.pending_refusals.values()),
        reactions=work.reactions,
        own=verdict,
    )
