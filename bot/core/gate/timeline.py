"""Questions the gate asks of a pull request's timeline and facts (pure helpers)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.core.gate.facts import CommentFacts, GateFacts, MilestoneRef, TimelineItem
from bot.core.gate.record import REASON_LIMIT, parse_record
from bot.core.gate.settings import GATE_REQUIREMENTS
from bot.core.permissions import (
    ROLE_TITLES,
    RoleRule,
)
from bot.core.versions import owning_milestone


def short(sha: str) -> str:
    return sha[:7]


def head_position(timeline: Sequence[TimelineItem], head_sha: str) -> int | None:
    """Where the current head commit arrived in the timeline, or None if it cannot be placed.

    A retarget after it moves the point on: sign-offs are given for one base branch, so what came
    before the pull request was pointed at its current base speaks about another one.
    """
    found: int | None = None
    for index, item in enumerate(timeline):
        if item.kind in ("committed", "head_ref_force_pushed") and item.sha == head_sha:
            found = index
    if found is None:
        return None
    retarget = last_retarget(timeline)
    return max(found, retarget[0]) if retarget is not None else found


def last_retarget(timeline: Sequence[TimelineItem]) -> tuple[int, TimelineItem] | None:
    """The latest ``base_ref_changed`` entry: when (GitHub's time) the base branch last changed."""
    latest: tuple[int, TimelineItem] | None = None
    for index, item in enumerate(timeline):
        if item.kind == "base_ref_changed":
            latest = (index, item)
    return latest


def retargeted_after_head(timeline: Sequence[TimelineItem], head_sha: str) -> bool:
    retarget = last_retarget(timeline)
    if retarget is None:
        return False
    commits = [
        i for i, item in enumerate(timeline) if item.sha == head_sha and item.kind != "base_ref_changed"
    ]
    return not commits or retarget[0] > commits[-1]


def latest_labeled(timeline: Sequence[TimelineItem], label: str) -> tuple[int, TimelineItem] | None:
    latest: tuple[int, TimelineItem] | None = None
    for index, item in enumerate(timeline):
        if item.kind == "labeled" and item.label.lower() == label.lower():
            latest = (index, item)
    return latest


def comment_index(timeline: Sequence[TimelineItem], comment_id: int) -> int | None:
    for index, item in enumerate(timeline):
        if item.kind == "commented" and item.id == comment_id:
            return index
    return None


def head_seen_at(facts: GateFacts) -> str | None:
    """From when a label or command counts for the head commit (GitHub's times only).

    The timeline places a ``committed`` entry by its commit date, which is when the commit was made,
    not when it was pushed: a commit made at 10:00 and pushed at 10:10 would make a label given at
    10:05 (on the previous head) look like it came after. So the time is GitHub's own record of when
    the head became the pull request's head (``head_arrived_at``: its opening, or the head branch's
    last push in the repository activity; a reopening after it moves it on). When GitHub's record
    cannot prove it, the ``started_at`` of the bot's first check run on the head stands in: it is no
    earlier than the push, so only what comes after it counts.
    """
    since = _head_arrival(facts)
    if since is None:
        if facts.existing is None or not facts.existing.started_at:
            return None
        since = facts.existing.started_at
    retarget = last_retarget(facts.timeline)
    if retarget is not None and retarget[1].created_at and at_or_after(retarget[1].created_at, since):
        return retarget[1].created_at  # GitHub's time of the retarget: only what follows is for this base
    return since


def _head_arrival(facts: GateFacts) -> str | None:
    if not facts.head_arrived_at:
        return None
    since = facts.head_arrived_at
    for item in facts.timeline:
        # A closed pull request does not follow its branch: reopened, it takes the branch's head then.
        if item.kind == "reopened" and item.created_at and at_or_after(item.created_at, since):
            since = item.created_at
    return since


def needs_head_arrival(facts: GateFacts, comments: Iterable[CommentFacts]) -> bool:
    """Whether the gate will judge something by when the head arrived: a ``/uat`` or ``/approve``
    not handled yet, or a UAT or approval label applied by a person and not yet in the record. Only
    then is GitHub's record of that time worth a request; whenever it is asked, it decides (so the
    outcome does not depend on how soon the bot looked at the head)."""
    for comment in comments:
        if not comment.handled and not comment.edited and any(c.name in _GIVING for c in comment.commands):
            return True
    pull, summary = facts.pull, facts.existing.summary if facts.existing else None
    record = parse_record(summary, pull.head_sha, pull.number, pull.base)
    for requirement in GATE_REQUIREMENTS:
        label = facts.settings.label_for(requirement)
        latest = latest_labeled(facts.timeline, label)
        if latest is None or not has_label(facts.pull.labels, label):
            continue
        if latest[1].actor.lower() == facts.bot_login.lower():
            continue  # the bot's own label: carries a command already judged
        entry = record.get(requirement) if record is not None else None
        if entry is None or entry.event != latest[1].id:
            return True
    return False


_GIVING = ("uat", "approve")


def at_or_after(when: str, since: str | None) -> bool:
    if since is None:
        return False  # the bot has not seen this head yet: nothing can be proven to be for it
    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00")) >= datetime.fromisoformat(
            since.replace("Z", "+00:00")
        )
    except ValueError:
        return False


def role_title(rule: RoleRule) -> str:
    return f"{ROLE_TITLES[rule.role]} ({rule.describe()})"


def has_label(labels: Iterable[str], label: str) -> bool:
    return any(existing.lower() == label.lower() for existing in labels)


def latest_milestoned(timeline: Sequence[TimelineItem], title: str) -> TimelineItem | None:
    """The last ``milestoned`` entry that put the pull request into the milestone ``title``."""
    latest: TimelineItem | None = None
    for item in timeline:
        if item.kind == "milestoned" and item.milestone.lower() == title.lower():
            latest = item
    return latest


def clean_reason(text: str) -> str:
    # Shown back inside markdown: one line, bounded, no mentions that would ping people, no HTML.
    text = " ".join(text.split())[:REASON_LIMIT]
    text = text.replace("@", "@\u200b").replace("<", "&lt;").replace(">", "&gt;")
    return text


def owner_milestone(facts: GateFacts) -> MilestoneRef | None:
    try:
        return owning_milestone(facts.pull.base, facts.open_milestones, facts.config)
    except ValueError:
        return None  # a broken pattern: no milestone can own the branch; the check says so
