"""Judging what people did on GitHub directly: labels applied or removed, milestones set, holds lifted."""

from __future__ import annotations

from dataclasses import replace

from bot.core.gate.facts import GateFacts, TimelineItem
from bot.core.gate.plan import Reply
from bot.core.gate.record import Approval, GateRecord
from bot.core.gate.settings import GATE_REQUIREMENTS, REQ_APPROVAL, REQ_UAT
from bot.core.gate.timeline import (
    at_or_after,
    head_position,
    head_seen_at,
    latest_labeled,
    latest_milestoned,
    owner_milestone,
    retargeted_after_head,
    role_title,
    short,
)
from bot.core.gate.work import Work
from bot.core.permissions import (
    ROLE_QA,
    ROLE_RELEASE_MANAGERS,
    is_self_approval,
)


def judge_labels(work: Work) -> list[str]:
    """Provenance of the UAT and approval labels; returns the labels given on an earlier head commit."""
    facts = work.facts
    settings = facts.settings
    head_index = head_position(facts.timeline, facts.pull.head_sha)
    stale: list[str] = []
    for requirement in GATE_REQUIREMENTS:
        label = settings.label_for(requirement)
        entry = work.record.get(requirement)
        if not work.has(label):
            if entry is not None:  # the label was taken off: the approval it carried is withdrawn
                work.record = work.record.with_requirement(requirement, None)
            continue
        latest = latest_labeled(facts.timeline, label)
        event = latest[1] if latest else None
        if entry is not None:
            if event is None or entry.event == event.id:
                continue
            if event.actor.lower() == facts.bot_login.lower() and entry.via == "command":
                # The bot's own label, carrying a command's approval. Not bound to the event id (that
                # would cost a write per command); a person re-applying the label later is still
                # caught, because the latest labeled event is then theirs, not the bot's.
                continue
            # a person re-applied the label after the record was made: judge that application instead
            work.record = work.record.with_requirement(requirement, None)
        if event is None:
            continue  # who applied it is unknown: it does not count (the check says so)
        by_bot = event.actor.lower() == facts.bot_login.lower()
        if not by_bot:
            # Who applied it is judged first, whichever commit it was given on (labels added while
            # the bot was down included): the reply then names the rule that really applies.
            refusal = label_refusal(facts, requirement, event.actor)
            if refusal:
                work.remove_label(label)
                work.pending_refusals[label.lower()] = Reply(
                    to=event.actor,
                    body=f"@{event.actor} the `{label}` label was removed: {refusal}",
                )
                continue
        after_head = head_index is not None and latest is not None and latest[0] > head_index
        seen_at = head_seen_at(facts)
        if after_head and not by_bot and not at_or_after(event.created_at, seen_at):
            # After the head commit in the timeline, but the timeline places commits by their
            # commit date, which whoever makes the commit sets: only GitHub's time of the push
            # (or, when GitHub's record cannot prove it, of the bot's first check run on the head)
            # proves the label came after the push.
            if not facts.head_arrived_at:
                work.unproven[label.lower()] = (event, seen_at)
                continue
            after_head = False  # GitHub's record of the push proves it was given on an earlier head
        if not after_head or work.rebound_from is not None:
            stale.append(label)
            continue
        if by_bot:
            # a label the bot added without a record (an interrupted apply): it proves nothing
            work.remove_label(label)
            continue
        work.record = work.record.with_requirement(
            requirement, Approval(by=event.actor, at=event.created_at, via="label", event=event.id)
        )
        if requirement == REQ_UAT:
            work.record = replace(work.record, uat_failed=None)
    return stale


def label_refusal(facts: GateFacts, requirement: str, actor: str) -> str | None:
    """Why ``actor`` may not give ``requirement`` on this pull request, or None if they may."""
    settings = facts.settings
    role = settings.role_for(requirement)
    rule = facts.rules[role]
    what = "UAT" if requirement == REQ_UAT else "approval"
    if is_self_approval(actor, facts.pull.author, settings.allow_self_approval):
        return (
            f"the author of a pull request cannot give its {what} (`gate.allow_self_approval` is off); "
            f"it may be given by {role_title(rule)}."
        )
    if role not in facts.roles_of(actor):
        return f"{what} may only be given by {role_title(rule)}."
    return None


def reset_stale(work: Work, stale: list[str]) -> None:
    settings = work.facts.settings
    if not settings.reset_on_push:
        return  # they stay, but never count: the check says to give them again on this commit
    _reset_unproven(work)
    if not stale:
        return
    removed = [label for label in stale if work.has(label)]
    for label in removed:
        work.remove_label(label)
    if removed and not work.record.reset_notice:
        names = " and ".join(f"`{label}`" for label in removed)
        work.replies.append(Reply(to="", body=_reset_notice(work, names)))
        work.record = replace(work.record, reset_notice=True)


def _reset_notice(work: Work, names: str) -> str:
    facts = work.facts
    again = "Run `/uat passed` and `/approve` again when it is ready."
    if retargeted_after_head(facts.timeline, facts.pull.head_sha):
        return (
            f"This pull request now targets `{facts.pull.base}`: {names} removed, because UAT and approval "
            "are given for one pull request into one release branch, and none was given for this one yet. "
            + again
        )
    if work.rebound_from is not None:
        owner = owner_milestone(facts)
        now = f"`{owner.title}`" if owner is not None else "another release"
        return (
            f"`{facts.pull.base}` now belongs to {now}: {names} removed, because UAT and approval are "
            "given for one release, and none was given for this one yet. " + again
        )
    return (
        f"New head commit {short(facts.pull.head_sha)}: {names} removed, because UAT and "
        "approval are given for one commit and this one has not been accepted yet "
        "(`gate.reset_on_push`). " + again
    )


def _reset_unproven(work: Work) -> None:
    """Remove labels that cannot be proven to be for the head commit, telling their giver why."""
    facts = work.facts
    head = short(facts.pull.head_sha)
    for key, (event, seen_at) in sorted(work.unproven.items()):
        if key not in work.labels:
            continue  # a command in this reconcile re-gave it, or it is already gone
        label = work.labels[key]
        requirement = REQ_UAT if key == facts.settings.uat_label.lower() else REQ_APPROVAL
        command = "/uat passed" if requirement == REQ_UAT else "/approve"
        seen = f"at {seen_at}" if seen_at else "only now"
        work.remove_label(label)
        work.pending_refusals[key] = Reply(
            to=event.actor,
            body=(
                f"@{event.actor} the `{label}` label you added at {event.created_at} was removed: "
                f"release-bot first saw head commit {head} {seen} (it was down or had not caught up "
                "with the push yet). A commit's date is set by whoever makes the commit, so only what "
                "happens after the bot has seen a head commit can count for it; a label added before "
                f"that might have been meant for an earlier commit. Nothing else changed: comment "
                f"`{command}` (or add `{label}` again) to give it for {head}."
            ),
        )


def milestone_to_judge(facts: GateFacts, record: GateRecord | None) -> TimelineItem | None:
    """The person's ``milestoned`` event whose author's role the milestone requirement needs,
    when it is not judged yet (None for the bot's own, or one already in the record)."""
    current = facts.pull.milestone
    if current is None:
        return None
    event = latest_milestoned(facts.timeline, current.title)
    if event is None or not event.actor or event.actor.lower() == facts.bot_login.lower():
        return None
    if record is not None and record.milestone_by is not None and record.milestone_by.event == event.id:
        return None
    return event


def judge_milestone(work: Work) -> None:
    """Who set the milestone: it counts only when a release manager did, or the bot (on a release
    manager's ``/milestone``, or by its own carry-over). Anyone with write access can set one."""
    facts = work.facts
    current = facts.pull.milestone
    if current is None:
        work.record = replace(work.record, milestone_by=None)
        return
    event = latest_milestoned(facts.timeline, current.title)
    if event is None:
        work.record = replace(work.record, milestone_by=None)
        return
    recorded = work.record.milestone_by
    if recorded is not None and recorded.event == event.id:
        return
    by_bot = event.actor.lower() == facts.bot_login.lower()
    if by_bot or ROLE_RELEASE_MANAGERS in facts.roles_of(event.actor):
        work.record = replace(
            work.record,
            milestone_by=Approval(by=event.actor, at=event.created_at, via="milestone", event=event.id),
        )
    else:
        work.record = replace(work.record, milestone_by=None)
        work.milestone_setter = event.actor


def judge_hold(work: Work) -> None:
    """A hold lifted by removing the label is judged like ``/unhold``: undone unless allowed."""
    facts = work.facts
    label = facts.settings.hold_label
    if work.has(label):
        return
    lifted = hold_lift_to_judge(facts, work.record)
    if lifted is None:
        return
    if may_lift_hold(facts, lifted.actor):
        work.record = replace(work.record, hold_lifted=lifted.id)
        return
    work.add_label(label)
    work.pending_refusals[label.lower()] = Reply(
        to=lifted.actor,
        body=(
            f"@{lifted.actor} the `{label}` label was put back: a hold may only be lifted by "
            f"{role_title(facts.rules[ROLE_QA])} or {role_title(facts.rules[ROLE_RELEASE_MANAGERS])} "
            "(the author may hold their own pull request, not lift a hold); ask one of them to "
            "comment `/unhold`."
        ),
    )


def hold_lift_to_judge(facts: GateFacts, record: GateRecord | None) -> TimelineItem | None:
    """The person's ``unlabeled`` event that last took the hold label off, if not judged yet.

    None when the label is on, when its last change was a labeling or the bot's own removal
    (an accepted ``/unhold``), or when the record already holds that event as allowed.
    """
    label = facts.settings.hold_label.lower()
    if any(name.lower() == label for name in facts.pull.labels):
        return None
    latest: TimelineItem | None = None
    for item in facts.timeline:
        if item.kind in ("labeled", "unlabeled") and item.label.lower() == label:
            latest = item
    if latest is None or latest.kind != "unlabeled" or not latest.actor:
        return None
    if latest.actor.lower() == facts.bot_login.lower():
        return None
    if record is not None and latest.id is not None and record.hold_lifted == latest.id:
        return None
    return latest


def may_lift_hold(facts: GateFacts, login: str) -> bool:
    return bool(facts.roles_of(login) & {ROLE_QA, ROLE_RELEASE_MANAGERS})
