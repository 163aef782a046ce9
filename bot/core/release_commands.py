"""The commands on a tracking issue (``/stage``, ``/uat``, ``/help``), decided without I/O.

Every comment newer than the release record's watermark is read, oldest first. A comment edited
before the bot read it runs nothing (GitHub does not say who edited it); one already answered
(its reply marker is among the bot's comments) is not answered again. Who may run a command is a
fact the github layer looked up (``ReleaseFacts.roles``), and whether a comment was edited is
decided by the caller (``bot.jobs.comment_was_edited``, from the comment and intake's digest):
``roles_needed`` names the look-ups a set of comments needs, so they are made before deciding, and
only those. Which commands exist, their help and the roles that may run them come from the one
registry (``bot.core.command_registry``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from bot.core.command_registry import TRACKING_ISSUE, CommandSpec, names_for, spec, tracking_issue_help
from bot.core.commands import Command, parse_commands
from bot.core.freeze.state import FreezeState
from bot.core.freeze.window import FREEZE, THAW, FreezeRequest
from bot.core.permissions import ROLE_QA, ROLE_RELEASE_MANAGERS, RoleRule
from bot.core.release_types import Comment, ReleaseFacts, local_date
from bot.core.stages import ReleaseHold, StageFacts, StageRecord, record_uat, request_stage

# What a tracking issue answers, from the one registry (``bot.core.command_registry``).
COMMANDS = names_for(TRACKING_ISSUE)
HELP_TEXT = tracking_issue_help()

EDITED_REPLY = (
    "This comment was edited before release-bot read it, so its commands were not run: GitHub does "
    "not say who edits a comment. Post the command again in a new comment."
)

_REPLY_RE = re.compile(r"release-bot:reply:(\d+)")


@dataclass(frozen=True)
class Answer:
    """What the bot does about one command comment: 👍 when something was done, a reply for every
    refusal or answer (None: none, or it was answered before)."""

    comment_id: int
    author: str
    accepted: bool
    reply: str | None


@dataclass(frozen=True)
class CommandsOutcome:
    record: StageRecord
    answers: tuple[Answer, ...]
    watermark: int  # the newest comment id read (handled once the record is written)
    freeze_requests: tuple[FreezeRequest, ...] = ()  # /freeze, /thaw (bot.core.freeze.window)


def _new_command_comments(facts: ReleaseFacts, watermark: int) -> list[tuple[Comment, list[Command]]]:
    found: list[tuple[Comment, list[Command]]] = []
    for comment in sorted(facts.tracking_comments, key=lambda c: c.id):
        if comment.id <= watermark or comment.author == facts.bot_login or comment.author_type == "Bot":
            continue
        commands = [c for c in parse_commands(comment.body) if c.name in COMMANDS]
        found.append((comment, commands))
    return found


def _roles_of_command(command: Command) -> frozenset[str]:
    """The roles that may run the command as written, any of which its author must hold (none
    asked about for ``/help`` or a usage error)."""
    if command.name == "stage" and command.args:
        return spec(TRACKING_ISSUE, "stage").roles
    if command.name == "uat" and command.args.partition(" ")[0].lower() in ("passed", "failed"):
        return spec(TRACKING_ISSUE, "uat").roles
    if command.name in (FREEZE, THAW, "hold", "unhold"):
        return spec(TRACKING_ISSUE, command.name).roles
    return frozenset()


def _may_run(facts: ReleaseFacts, declared: CommandSpec, author: str) -> bool:
    """The registry's rule over the roles the github layer looked up (``ReleaseFacts.roles``)."""
    held = frozenset(role for role in declared.roles if facts.role_of(author, role))
    return declared.may_run(held, is_author=False)


def roles_needed(facts: ReleaseFacts, watermark: int, edited: frozenset[int]) -> frozenset[tuple[str, str]]:
    """The (login, role) look-ups the new commands need and the facts do not hold yet."""
    needed: set[tuple[str, str]] = set()
    for comment, commands in _new_command_comments(facts, watermark):
        if not commands or comment.id in edited:
            continue
        for command in commands:
            for role in _roles_of_command(command):
                if facts.role_of(comment.author, role) is None:
                    needed.add((comment.author, role))
    return frozenset(needed)


def _rule_words(roles: Mapping[str, RoleRule], role: str) -> str:
    """Who holds the role, in words. A zero-width space after ``@`` keeps a refusal from notifying
    a whole team each time someone runs a command they may not run."""
    return roles[role].describe().replace("@", "@\u200b")


def run_commands(
    facts: ReleaseFacts,
    record: StageRecord,
    stage_facts: StageFacts,
    watermark: int,
    *,
    bot_comments: Sequence[Comment],
    edited: frozenset[int],
    tz: ZoneInfo,
    today: str,
    roles: Mapping[str, RoleRule],
    freeze: FreezeState | None = None,
    freeze_configured: bool = False,
) -> CommandsOutcome:
    """Run the commands of comments newer than the watermark, oldest first (roles looked up first;
    ``roles``: the configured rules, for the words of a refusal; ``freeze``: the release's freeze as
    recorded, for ``/freeze`` and ``/thaw``)."""
    requests: list[FreezeRequest] = []
    answered = {int(m.group(1)) for c in bot_comments for m in [_REPLY_RE.search(c.body)] if m}
    answers: list[Answer] = []
    newest = watermark
    for comment, commands in _new_command_comments(facts, watermark):
        cid, author = comment.id, comment.author
        newest = max(newest, cid)
        if not commands:
            continue
        if cid in edited:
            # Edited before the bot read it: GitHub does not say who edited a comment, so the
            # text may not be its author's. Commands are read from comments as first posted.
            answers.append(Answer(cid, author, False, None if cid in answered else EDITED_REPLY))
            continue
        given = local_date(comment.created_at, tz) or today
        replies: list[str] = []
        accepted_any = False
        for command in commands:
            if command.name in (FREEZE, THAW):
                accepted, reply = _freeze_command(
                    facts, command.name, author, given, roles, freeze, freeze_configured, requests
                )
                accepted_any = accepted_any or (accepted and not reply)
                if reply:
                    replies.append(reply)
                continue
            record, accepted, reply = _command(facts, record, stage_facts, command, author, given, roles)
            accepted_any = accepted_any or (accepted and not reply)
            if reply:
                replies.append(reply)
        # 👍 when something was done; a reply for every refusal or answer (both for a mixed comment),
        # unless an earlier run already answered (it crashed before recording the watermark).
        answers.append(
            Answer(cid, author, accepted_any, None if cid in answered else ("\n\n".join(replies) or None))
        )
    return CommandsOutcome(record, tuple(answers), newest, tuple(requests))


def _freeze_command(
    facts: ReleaseFacts,
    name: str,
    author: str,
    given: str,
    roles: Mapping[str, RoleRule],
    freeze: FreezeState | None,
    configured: bool,
    requests: list[FreezeRequest],
) -> tuple[bool, str | None]:
    """``/freeze`` or ``/thaw``: a request for ``bot.core.freeze.window.decide_freeze``, or why not.
    ``freeze``: as recorded before this run, and as changed by the requests of earlier comments."""
    if not configured:
        return False, (
            f"`/{name}`: no code freeze is configured for this repository (`releases.freeze` in "
            "`.github/release-bot.yml`, docs/code-freeze.md). Nothing changed."
        )
    if not _may_run(facts, spec(TRACKING_ISSUE, name), author):
        return False, f"`/{name}` is for release managers: {_rule_words(roles, ROLE_RELEASE_MANAGERS)}."
    active = freeze is not None and freeze.active
    if requests:
        active = requests[-1].kind == FREEZE
    if name == FREEZE and active:
        return False, "The code freeze is already on. Nothing changed."
    if name == THAW and not active:
        return False, "No code freeze is on, so there is nothing to thaw. Nothing changed."
    requests.append(FreezeRequest(name, author, given))
    return True, None


def _command(
    facts: ReleaseFacts,
    record: StageRecord,
    stage_facts: StageFacts,
    command: Command,
    author: str,
    given: str,
    roles: Mapping[str, RoleRule],
) -> tuple[StageRecord, bool, str | None]:
    """``given``: the comment's creation date (GitHub's, in the configured zone): the verdict's date."""
    name, args = command.name, command.args
    if name == "help":
        return record, False, HELP_TEXT  # answered, not an action: no 👍
    if name == "stage":
        if not args:
            return record, False, "Usage: `/stage <name>`."
        if not _may_run(facts, spec(TRACKING_ISSUE, "stage"), author):
            words = _rule_words(roles, ROLE_RELEASE_MANAGERS)
            return record, False, f"`/stage` is for release managers: {words}."
        decision = request_stage(record, stage_facts, args)
        return decision.record, decision.accepted, decision.reply
    if name in ("hold", "unhold"):
        return _hold_command(facts, record, name, args, author, given, roles)
    # /uat passed | /uat failed <reason>
    verb, _, reason = args.partition(" ")
    verb = verb.lower()
    if verb not in ("passed", "failed"):
        return record, False, "Usage: `/uat passed` or `/uat failed <reason>`."
    if not _may_run(facts, spec(TRACKING_ISSUE, "uat"), author):
        return record, False, f"`/uat` is for QA: {_rule_words(roles, ROLE_QA)}."
    decision = record_uat(record, stage_facts, verb == "passed", author, given, reason)
    return decision.record, decision.accepted, decision.reply


def _hold_command(
    facts: ReleaseFacts,
    record: StageRecord,
    name: str,
    args: str,
    author: str,
    given: str,
    roles: Mapping[str, RoleRule],
) -> tuple[StageRecord, bool, str | None]:
    """``/hold [reason]`` and ``/unhold``: recorded in the release record (trusted), read by the
    deployment decision (bot.core.deploy)."""
    if not _may_run(facts, spec(TRACKING_ISSUE, name), author):
        who = f"{_rule_words(roles, ROLE_QA)}, or {_rule_words(roles, ROLE_RELEASE_MANAGERS)}"
        return record, False, f"`/{name}` is for QA or release managers: {who}."
    held = record.hold
    if name == "hold":
        if held is not None:
            return record, False, f"The release is already on hold (since {held.date}). Nothing changed."
        return replace(record, hold=ReleaseHold(by=author, date=given, reason=args.strip()[:500])), True, None
    if held is None:
        return record, False, "The release is not on hold. Nothing changed."
    return replace(record, hold=None), True, None
