"""Plans for pull requests the gate does not evaluate: not into a gated branch, or closed
(a merge past a failing gate is audited once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.core.audit import AuditEntry
from bot.core.gate.commands import help_text
from bot.core.gate.facts import CommentFacts, GateFacts
from bot.core.gate.plan import CheckOutput, GatePlan, Reply
from bot.core.gate.record import AUDIT_MARKER_PREFIX, RECORD_RE, CommitRecord, GateRecord, PullSection
from bot.core.gate.rendering import commit_check
from bot.core.gate.timeline import short


def inert_sections(commit: CommitRecord, number: int) -> list[PullSection]:
    """Sections kept in the record that count for nothing: merged pull requests already audited
    (kept so that their audit is not reported twice)."""
    return [s for s in commit.pulls if s.number != number and s.record.audited]


def plan_not_gated(facts: GateFacts, comments: Sequence[CommentFacts], commit: CommitRecord) -> GatePlan:
    """A pull request that does not target a release branch writes no conclusion over a gated one:
    the check of its head stays the gate of the pull requests into release branches at that commit
    (``facts.others``); only where there are none does it become neutral, and only if ours was there."""
    check = None
    inert = inert_sections(commit, facts.pull.number)
    if facts.others:
        check = commit_check(facts.pull.head_sha, facts.others, inert)
    elif facts.existing is not None:
        branches = ", ".join(f"`{b}`" for b in facts.settings.release_branches)
        check = CheckOutput(
            conclusion="neutral",
            title=f"Not gated: `{facts.pull.base}` is not a release branch",
            summary=(
                f"This pull request targets `{facts.pull.base}`, which does not match the release branch "
                f"patterns ({branches}), so the merge gate does not apply."
                + (f"\n\n{CommitRecord(facts.pull.head_sha, tuple(inert)).marker()}" if inert else "")
            ),
        )
    plan = GatePlan(check=check, record=None)
    # Other bots use the same words (Prow's `/approve`, `/hold`): outside release branches only
    # `/help` is answered, the rest is left alone rather than answered with noise.
    for comment in comments:
        if comment.handled or comment.edited or not any(c.name == "help" for c in comment.commands):
            continue
        plan.replies.append(
            Reply(to=comment.author, body=f"@{comment.author} {help_text(facts)}", comment_id=comment.id)
        )
        plan.reactions.append((comment.id, "+1"))
    return plan


def plan_closed(facts: GateFacts, commit: CommitRecord, record: GateRecord, release: int | None) -> GatePlan:
    """Closed pull requests keep their check; a merge past a failing gate is reported once.

    A merge counts as gated only when this pull request's own section passed for its base: a twin
    merged on the strength of another pull request's sign-offs is a bypass too. A pull request
    closed unmerged stops holding the commit's gate, which the others' sections then decide.
    """
    pull = facts.pull
    existing = facts.existing
    own = commit.section(pull.number)
    if not pull.merged:
        if own is not None and facts.others:
            return GatePlan(
                check=commit_check(pull.head_sha, facts.others, inert_sections(commit, pull.number)),
                record=None,
            )
        return GatePlan(check=None, record=None)
    own_passed = (
        own is not None
        and own.base == pull.base
        and own.verdict is not None
        and own.verdict.conclusion == "success"
    )
    passed = (
        existing is not None
        and existing.status == "completed"
        and existing.conclusion == "success"
        and own_passed
    )
    if passed or record.audited:
        return GatePlan(check=None, record=None)
    record = replace(record, audited=True)
    conclusion_was = existing.conclusion if existing else "not evaluated"
    if existing is not None and existing.conclusion == "success" and not own_passed:
        conclusion_was = "not given for this pull request (the commit passed for another one)"
    audit = AuditEntry(
        kind="bypass_merge",
        repo="",
        branch=pull.base,
        sha=pull.head_sha,
        number=pull.number,
        by="",
        detail=f"merged into `{pull.base}` while the gate was {conclusion_was}",
    )
    section = PullSection(pull.number, pull.base, release, record, own.verdict if own else None)
    marker = commit.with_section(section).marker()
    previous = existing
    if previous is not None:
        title = previous.title
        summary = (
            RECORD_RE.sub(lambda _: marker, previous.summary)
            if RECORD_RE.search(previous.summary)
            else (previous.summary + "\n\n" + marker)
        )
        conclusion = (
            previous.conclusion if previous.conclusion in ("success", "failure", "neutral") else "failure"
        )
    else:
        title = "Merged without the gate's evaluation"
        summary = (
            f"Merged into `{pull.base}` before the gate evaluated commit {short(pull.head_sha)}.\n\n{marker}"
        )
        conclusion = "failure"
    check = CheckOutput(conclusion=conclusion, title=title, summary=summary)  # type: ignore[arg-type]
    audit_marker = f"{AUDIT_MARKER_PREFIX}{pull.head_sha} -->"
    reply = Reply(
        to="",
        body=(
            f"Audit: this pull request was merged into `{pull.base}` while the release gate was "
            f"{conclusion_was} on {short(pull.head_sha)} (a bypass of the merge gate).\n\n{audit_marker}"
        ),
        marker=audit_marker,
    )
    return GatePlan(check=check, record=record, replies=[reply], audit=audit)
