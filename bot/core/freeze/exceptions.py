"""Freeze exceptions on a pull request: ``/exception <reason>`` bound to the head commit. Pure.

The grants live in the pull request's freeze check run for its head commit (a hidden JSON marker
in its summary, as the merge gate keeps UAT and approvals): only the App can write a check run,
while anyone with write access can edit a comment, a label or an issue body. So a new head commit
starts with no exception (a new check run, an empty record) — like approvals, it must be given
again — and replaying an old comment changes nothing (the bot's reaction marks it handled, and a
comment written before the head commit arrived does not count for it).

An exception holds for the commit and the base branch it was granted for: another pull request
with the very same head into the same branch carries the same change (the check is the commit's).

``plan_freeze_check(facts, comments)`` → ``FreezeCheckPlan``: the check run's output and record,
replies, reactions, and whether the freezing releases still have to list a grant or withdrawal
(the tracking issue's "Freeze exceptions" section, read back from this check run).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.core.command_registry import PULL_REQUEST, spec
from bot.core.freeze.settings import FreezeSettings
from bot.core.freeze.state import MAX_REASON, FreezeException, exceptions_from_json
from bot.core.gate.facts import CommentFacts, ExistingCheck, PullFacts
from bot.core.gate.plan import CheckOutput, Reply

FREEZE_RECORD_VERSION = 1
MAX_GRANTS_PER_COMMIT = 20
FREEZE_RECORD_RE = re.compile(r"<!-- release-bot:freeze-record:(?P<json>\{.*?\}) -->", re.DOTALL)


@dataclass(frozen=True)
class FreezeCheckRecord:
    """The exceptions granted (and withdrawn) for one commit, kept in its freeze check run."""

    sha: str
    grants: tuple[FreezeException, ...] = ()

    def active_for(self, base: str) -> FreezeException | None:
        """The newest grant not withdrawn for this commit into ``base``."""
        live = [g for g in self.grants if g.sha == self.sha and g.base == base and not g.withdrawn]
        return live[-1] if live else None

    def marker(self) -> str:
        data = {"v": FREEZE_RECORD_VERSION, "sha": self.sha, "grants": [g.to_json() for g in self.grants]}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        # '<', '>' and '--' escaped so a reason cannot close the HTML comment it sits in.
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("--", "-\\u002d")
        return f"<!-- release-bot:freeze-record:{text} -->"


def parse_freeze_record(summary: str | None, sha: str) -> FreezeCheckRecord:
    """The record in a freeze check's summary; an empty one when absent, unreadable or for another
    commit (a check run belongs to one commit, so its grants never move to another)."""
    match = FREEZE_RECORD_RE.search(summary or "")
    if not match:
        return FreezeCheckRecord(sha)
    try:
        data = json.loads(match.group("json"))
    except ValueError:
        return FreezeCheckRecord(sha)
    if not isinstance(data, Mapping) or data.get("v") != FREEZE_RECORD_VERSION or data.get("sha") != sha:
        return FreezeCheckRecord(sha)
    grants = tuple(g for g in exceptions_from_json(data.get("grants"), MAX_GRANTS_PER_COMMIT) if g.sha == sha)
    return FreezeCheckRecord(sha, grants)


@dataclass(frozen=True)
class FreezeCause:
    """A release whose freeze covers the pull request's base branch (from its release record)."""

    version: str
    milestone: int
    since: str
    cause: str  # bot.core.freeze.state CAUSE_*
    by: str = ""  # who froze it by hand
    # The exceptions the release already lists: (key, withdrawn) pairs.
    listed: frozenset[tuple[tuple[int, str, int], bool]] = frozenset()


@dataclass(frozen=True)
class FreezeCheckFacts:
    pull: PullFacts
    settings: FreezeSettings
    causes: tuple[FreezeCause, ...]  # empty: the base branch is not frozen now
    existing: ExistingCheck | None
    rm_words: str  # who may grant, in words (RoleRule.describe)
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)  # login (lower) -> roles
    # GitHub's time the head became the pull request's head, or the bot's first freeze check on it
    # (its ``started_at``); "" when neither proves it.
    head_arrived_at: str = ""
    # Comments whose other commands the gate answers: an edit is explained once, by the gate.
    gate_answers: frozenset[int] = frozenset()

    def roles_of(self, login: str) -> frozenset[str]:
        return self.roles.get(login.lower(), frozenset())


@dataclass
class FreezeCheckPlan:
    check: CheckOutput
    record: FreezeCheckRecord
    replies: list[Reply] = field(default_factory=list)
    reactions: list[tuple[int, str]] = field(default_factory=list)
    unlisted: bool = False  # a grant or withdrawal some freezing release does not list yet


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def _before(comment_at: str, arrived_at: str) -> bool:
    """Whether the comment was written before the head arrived (unprovable counts as before)."""
    said, arrived = _when(comment_at), _when(arrived_at)
    return said is None or arrived is None or said < arrived


def _bounded_reason(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= MAX_REASON else one_line[: MAX_REASON - 1] + "…"


def _run(
    facts: FreezeCheckFacts, comment: CommentFacts, args: str, grants: list[FreezeException]
) -> str | None:
    """One ``/exception``: changes ``grants`` and returns None, or returns why nothing changed."""
    pull = facts.pull
    declared = spec(PULL_REQUEST, "exception")
    if not args.strip():
        return declared.usage()
    if not declared.may_run(facts.roles_of(comment.author), is_author=False):
        return declared.refusal({"rm": facts.rm_words})
    cancel = args.strip().lower() == "cancel"
    if not facts.causes and not cancel:
        return f"`{pull.base}` is not frozen now: this pull request needs no exception. Nothing changed."
    if _before(comment.created_at, facts.head_arrived_at):
        return (
            f"this `/exception` was written before head commit {pull.head_sha[:7]} became this pull "
            "request's head, so it cannot be for this commit. Comment `/exception <reason>` again."
        )
    live = [
        i for i, g in enumerate(grants) if g.sha == pull.head_sha and g.base == pull.base and not g.withdrawn
    ]
    if cancel:
        if not live:
            return f"there is no exception for head commit {pull.head_sha[:7]} to withdraw. Nothing changed."
        for i in live:
            grants[i] = replace(grants[i], withdrawn_by=comment.author, withdrawn_at=comment.created_at)
        return None
    if len(grants) >= MAX_GRANTS_PER_COMMIT:
        return "this commit has had too many exceptions; push a new commit to start again."
    grants.append(
        FreezeException(
            pr=pull.number,
            sha=pull.head_sha,
            base=pull.base,
            by=comment.author,
            at=comment.created_at,
            reason=_bounded_reason(args),
            comment=comment.id,
        )
    )
    return None


EDITED_TEXT = (
    "this comment was edited after it was posted, so the bot runs no command in it: anyone with "
    "write access can edit anyone's comment. Post the command in a new comment."
)


def plan_freeze_check(facts: FreezeCheckFacts, comments: Sequence[CommentFacts]) -> FreezeCheckPlan:
    pull = facts.pull
    record = parse_freeze_record(facts.existing.summary if facts.existing else None, pull.head_sha)
    grants = list(record.grants)
    replies: list[Reply] = []
    reactions: list[tuple[int, str]] = []
    for comment in sorted(comments, key=lambda c: c.id):
        commands = [c for c in comment.commands if c.name == "exception"]
        if comment.handled or not commands:
            continue
        if comment.edited:
            if comment.id not in facts.gate_answers:
                replies.append(Reply(comment.author, f"@{comment.author} {EDITED_TEXT}", comment.id))
                reactions.append((comment.id, "confused"))
            continue
        refused = False
        for command in commands:
            answer = _run(facts, comment, command.args, grants)
            if answer is not None:
                refused = True
                replies.append(Reply(comment.author, f"@{comment.author} {answer}", comment.id))
        if comment.id not in facts.gate_answers:
            reactions.append((comment.id, "confused" if refused else "+1"))
    record = FreezeCheckRecord(pull.head_sha, tuple(grants))
    from bot.core.freeze.rendering import freeze_check

    listed_everywhere = all(
        all((g.key, g.withdrawn) in cause.listed for g in record.grants) for cause in facts.causes
    )
    return FreezeCheckPlan(
        check=freeze_check(facts, record),
        record=record,
        replies=replies,
        reactions=reactions,
        unlisted=not listed_everywhere,
    )
