"""The gate's slash commands in comments (``/uat``, ``/approve``, ``/hold``, ``/unhold``,
``/milestone``, ``/help``), applied to the record being built."""

from __future__ import annotations

from dataclasses import replace

from bot.core.command_registry import PULL_REQUEST, pull_request_help_rows, spec
from bot.core.commands import Command
from bot.core.gate.facts import CommentFacts, GateFacts, MilestoneRef
from bot.core.gate.plan import Reply
from bot.core.gate.record import Approval, UatFailure
from bot.core.gate.settings import GATE_COMMANDS, REQ_APPROVAL, REQ_UAT
from bot.core.gate.timeline import (
    at_or_after,
    clean_reason,
    comment_index,
    has_label,
    head_position,
    head_seen_at,
    latest_labeled,
    latest_milestoned,
    role_title,
    short,
)
from bot.core.gate.work import Work
from bot.core.permissions import (
    ROLE_QA,
    ROLE_RELEASE_MANAGERS,
    is_self_approval,
)
from bot.core.versions import release_milestones


def apply_comment(work: Work, comment: CommentFacts) -> None:
    if comment.handled:
        return
    facts = work.facts
    known = [command for command in comment.commands if command.name in GATE_COMMANDS]
    if not known:
        return
    if comment.edited:
        work.replies.append(
            Reply(
                to=comment.author,
                body=(
                    f"@{comment.author} this comment was edited after it was posted, so the bot runs no "
                    "command in it: anyone with write access can edit anyone's comment, so an edited "
                    "comment no longer proves what its author wrote. Post the command in a new comment."
                ),
                comment_id=comment.id,
            )
        )
        work.reactions.append((comment.id, "confused"))
        return
    head_index = head_position(facts.timeline, facts.pull.head_sha)
    position = comment_index(facts.timeline, comment.id)
    # A comment written before the current head commit arrived speaks about an older commit.
    before_head = (position is not None and (head_index is None or position < head_index)) or not at_or_after(
        comment.created_at, head_seen_at(facts)
    )
    accepted_any = False
    refused_any = False
    for command in known:
        answer = _apply_command(work, comment, command, before_head)
        if answer is None:
            accepted_any = True
        else:
            refused_any = True
            work.replies.append(
                Reply(to=comment.author, body=f"@{comment.author} {answer}", comment_id=comment.id)
            )
    # Every handled comment gets the bot's reaction: it is how a redelivery knows it was handled.
    work.reactions.append((comment.id, "confused" if refused_any and not accepted_any else "+1"))


def _apply_command(work: Work, comment: CommentFacts, command: Command, before_head: bool) -> str | None:
    """Apply one command; None when accepted, else the refusal to reply with (nothing changed)."""
    facts = work.facts
    settings = facts.settings
    author = comment.author
    argv = [arg.lower() for arg in command.argv]
    roles = facts.roles_of(author)
    declared = spec(PULL_REQUEST, command.name)
    values = help_values(facts)
    is_author = author.lower() == facts.pull.author.lower()

    if command.name == "help":
        work.replies.append(Reply(to=author, body=f"@{author} {help_text(facts)}", comment_id=comment.id))
        return None

    if command.name == "uat":
        action = argv[0] if argv else ""
        if action not in ("passed", "failed", "cancel"):
            return declared.usage()
        if not declared.may_run(roles, is_author):
            return declared.refusal(values, f"/uat {action}")
        if action == "passed":
            return _give(work, comment, REQ_UAT, before_head)
        work.remove_label(settings.uat_label)
        work.record = work.record.with_requirement(REQ_UAT, None)
        if action == "failed":
            reason = clean_reason(
                command.args.split(None, 1)[1] if len(command.args.split(None, 1)) > 1 else ""
            )
            work.record = replace(
                work.record, uat_failed=UatFailure(by=author, at=comment.created_at, reason=reason)
            )
        else:
            work.record = replace(work.record, uat_failed=None)
        return None

    if command.name == "approve":
        action = argv[0] if argv else ""
        if action not in ("", "cancel"):
            return declared.usage()
        if not declared.may_run(roles, is_author):
            return declared.refusal(values)
        if action == "cancel":
            work.remove_label(settings.approval_label)
            work.record = work.record.with_requirement(REQ_APPROVAL, None)
            return None
        return _give(work, comment, REQ_APPROVAL, before_head)

    if command.name in ("hold", "unhold"):
        # Holding is always safe, so the author may hold their own pull request; lifting a hold is not.
        if not declared.may_run(roles, is_author):
            return declared.refusal(values)
        if command.name == "hold":
            work.add_label(settings.hold_label)
        else:
            work.remove_label(settings.hold_label)
            work.pending_refusals.pop(settings.hold_label.lower(), None)  # lifted by someone allowed
        return None

    if command.name == "milestone":
        if not declared.may_run(roles, is_author):
            return declared.refusal(values)
        wanted = command.args.strip()
        if not wanted:
            return declared.usage()
        if wanted.lower() == "clear":
            work.milestone = None
            return None
        found = find_milestone(facts, wanted)
        if found is None:
            titles = ", ".join(
                f"`{m.title}`"
                for _, m in release_milestones(facts.open_milestones, milestone_pattern_of(facts))
            )
            return (
                f"there is no open milestone `{clean_reason(wanted)}`. "
                f"Open version milestones: {titles or 'none'}."
            )
        work.milestone = found
        current = facts.pull.milestone
        present = (
            latest_milestoned(facts.timeline, found.title)
            if current and current.number == found.number
            else None
        )
        # A release manager naming the milestone the pull request is already in vouches for it (bound
        # to the event that put it there); otherwise the bot sets it, and its own event counts.
        work.record = replace(
            work.record,
            milestone_by=Approval(
                by=author,
                at=comment.created_at,
                via="command",
                event=present.id if present else None,
                comment=comment.id,
            )
            if present
            else None,
        )
        work.milestone_setter = ""
        return None
    return None


def _give(work: Work, comment: CommentFacts, requirement: str, before_head: bool) -> str | None:
    facts = work.facts
    settings = facts.settings
    what = "UAT" if requirement == REQ_UAT else "approval"
    if is_self_approval(comment.author, facts.pull.author, settings.allow_self_approval):
        rule = facts.rules[settings.role_for(requirement)]
        return (
            f"the author of a pull request cannot give its {what} (`gate.allow_self_approval` is off); "
            f"ask {role_title(rule)}. Nothing changed."
        )
    if before_head:
        # With GitHub's record of when the head arrived the bot can say so; without it, only its own
        # first look at the head (its check run) proves what came after the push.
        arrived = (
            f"head commit {short(facts.pull.head_sha)} became this pull request's head"
            if facts.head_arrived_at
            else f"the bot saw the head commit {short(facts.pull.head_sha)}"
        )
        return (
            f"this comment was written before {arrived}, so it cannot give {what} for it; "
            "run the command again. Nothing changed."
        )
    label = settings.label_for(requirement)
    latest = latest_labeled(facts.timeline, label)
    # A label that is on already stays on (no new event): bind the record to its current event.
    # Otherwise the bot adds it, and the next reconcile binds the record to the bot's event.
    present_event = latest[1].id if (latest and has_label(facts.pull.labels, label)) else None
    work.stale.discard(label)
    work.unproven.pop(label.lower(), None)  # given now, after the bot saw the head: it counts
    work.add_label(label)
    work.record = work.record.with_requirement(
        requirement,
        Approval(
            by=comment.author, at=comment.created_at, via="command", event=present_event, comment=comment.id
        ),
    )
    if requirement == REQ_UAT:
        work.record = replace(work.record, uat_failed=None)
    return None


def milestone_pattern_of(facts: GateFacts) -> str:
    from bot.core.versions import ReleaseConventions

    return ReleaseConventions.from_config(facts.config).milestone_pattern


def find_milestone(facts: GateFacts, title: str) -> MilestoneRef | None:
    wanted = title.strip().lower()
    for milestone in facts.open_milestones:
        if milestone.title.lower() == wanted:
            return milestone
    # 'v1.4.0' and '1.4.0' name the same release
    alt = wanted[1:] if wanted.startswith("v") else "v" + wanted
    for milestone in facts.open_milestones:
        if milestone.title.lower() == alt:
            return milestone
    return None


def help_values(facts: GateFacts) -> dict[str, str]:
    """What the registry's texts name (``bot.core.command_registry``), from the live configuration."""
    settings = facts.settings
    return {
        "qa": role_title(facts.rules[ROLE_QA]),
        "rm": role_title(facts.rules[ROLE_RELEASE_MANAGERS]),
        "self_rule": "" if settings.allow_self_approval else " (not the pull request's author)",
        "uat_label": settings.uat_label,
        "approval_label": settings.approval_label,
        "hold_label": settings.hold_label,
    }


def help_text(facts: GateFacts) -> str:
    """``/help`` on a pull request: every command the registry declares there, and who may run it."""
    branches = ", ".join(f"`{b}`" for b in facts.settings.release_branches)
    lines = [
        f"release-bot merge gate commands (pull requests into {branches}):",
        "",
        "| command | what it does | who may run it |",
        "|---|---|---|",
        *pull_request_help_rows(help_values(facts)),
    ]
    return "\n".join(lines)
