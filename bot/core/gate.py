"""The merge gate, evaluated: facts about one pull request in, the desired state out. Pure.

What the gate requires of a pull request into a release branch (``gate:`` configuration):
UAT (``uat_label``) given by QA, approval (``approval_label``) given by a release manager, the
milestone that owns the base branch, and no ``hold_label``. A label proves nothing by itself
(DESIGN.md, Trust): who applied it is read from the timeline, and each UAT and approval is bound
to the head commit it was given on and recorded in the bot's own check run for that commit —
only the App can write a check run, so the record (a hidden JSON marker in its summary) is the
trustworthy memory of who approved what. A label whose approval is not recorded for the current
head commit never counts.

``plan_gate(facts, comments)`` returns a ``GatePlan``: the check run output (conclusion, title,
summary with the record), labels to add and remove, the milestone to set, replies and reactions.
Everything rendered is deterministic (times come from GitHub's facts, never from "now"), so
planning twice on the same facts gives the same plan and applying it twice changes nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from bot.core.audit import AuditEntry
from bot.core.commands import Command
from bot.core.permissions import (
    ROLE_QA,
    ROLE_RELEASE_MANAGERS,
    ROLE_TITLES,
    RoleRule,
    is_self_approval,
)
from bot.core.versions import owning_milestone, release_milestones

# v2: one section per pull request whose head is the commit (v1 bound sign-offs to the commit
# alone, so a twin, a decoy or a retarget could reuse or wipe them); a v1 record counts for nothing.
RECORD_VERSION = 2
RECORD_MARKER_PREFIX = "<!-- release-bot:gate-record:"
# Ends the bot's audit comment on a pull request merged past the gate (one per head commit).
AUDIT_MARKER_PREFIX = "<!-- release-bot:gate-audit:"
_RECORD_RE = re.compile(r"<!-- release-bot:gate-record:(?P<json>\{.*?\}) -->", re.DOTALL)
# GitHub caps check run summaries at 65,535 characters; stay well below with room for the record.
SUMMARY_LIMIT = 60_000
REASON_LIMIT = 300

Conclusion = Literal["success", "failure", "neutral"]
REQ_UAT = "uat"
REQ_APPROVAL = "approval"
GATE_REQUIREMENTS = (REQ_UAT, REQ_APPROVAL)

GATE_COMMANDS = ("uat", "approve", "hold", "unhold", "milestone", "help")


# ---------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class GateSettings:
    check_name: str = "release-bot/gate"
    release_branches: tuple[str, ...] = ("release/*",)
    uat_label: str = "uat-passed"
    approval_label: str = "release-approved"
    hold_label: str = "hold"
    require_milestone: bool = True
    allow_self_approval: bool = False
    reset_on_push: bool = True
    approval_from_reviews: bool = False
    protect_release_branches: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> GateSettings:
        gate = dict((config or {}).get("gate") or {})
        defaults = cls()
        branches = gate.get("release_branches")
        return cls(
            check_name=str(gate.get("check_name") or defaults.check_name),
            release_branches=tuple(branches) if branches is not None else defaults.release_branches,
            uat_label=str(gate.get("uat_label") or defaults.uat_label),
            approval_label=str(gate.get("approval_label") or defaults.approval_label),
            hold_label=str(gate.get("hold_label") or defaults.hold_label),
            require_milestone=bool(gate.get("require_milestone", defaults.require_milestone)),
            allow_self_approval=bool(gate.get("allow_self_approval", defaults.allow_self_approval)),
            reset_on_push=bool(gate.get("reset_on_push", defaults.reset_on_push)),
            approval_from_reviews=bool(gate.get("approval_from_reviews", defaults.approval_from_reviews)),
            protect_release_branches=bool(
                gate.get("protect_release_branches", defaults.protect_release_branches)
            ),
        )

    def label_for(self, requirement: str) -> str:
        return self.uat_label if requirement == REQ_UAT else self.approval_label

    def role_for(self, requirement: str) -> str:
        return ROLE_QA if requirement == REQ_UAT else ROLE_RELEASE_MANAGERS


@functools.lru_cache(maxsize=256)  # a handful of patterns, matched against every pull request's base
def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    # GitHub's branch patterns (fnmatch with File::FNM_PATHNAME): '*' stops at '/', '**' does not.
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def is_release_branch(branch: str, patterns: Iterable[str]) -> bool:
    """Whether ``branch`` matches one of ``gate.release_branches``: the one matcher for the gate,
    the repo fan-out and branch protection, so they never disagree about which branch is gated."""
    return any(_glob_to_regex(pattern).match(branch) for pattern in patterns)


# ---------------------------------------------------------------------------------------------
# facts


@dataclass(frozen=True)
class MilestoneRef:
    number: int
    title: str


@dataclass(frozen=True)
class PullFacts:
    number: int
    author: str
    base: str
    head_sha: str
    state: str = "open"  # open | closed
    merged: bool = False
    draft: bool = False
    labels: frozenset[str] = frozenset()
    milestone: MilestoneRef | None = None


@dataclass(frozen=True)
class TimelineItem:
    """One timeline entry that matters to the gate, in the timeline's (chronological) order.

    kind: 'labeled' | 'unlabeled' (label, actor) | 'committed' | 'head_ref_force_pushed' (sha)
          | 'commented' (id = comment id) | 'milestoned' | 'demilestoned' (milestone title, actor)
          | 'base_ref_changed' (actor; GitHub's time of a retarget)
    """

    kind: str
    id: int | None = None
    actor: str = ""
    label: str = ""
    sha: str = ""
    created_at: str = ""
    milestone: str = ""


@dataclass(frozen=True)
class Review:
    id: int
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    commit_id: str
    submitted_at: str = ""


@dataclass(frozen=True)
class ExistingCheck:
    id: int
    status: str
    conclusion: str | None
    title: str
    summary: str
    started_at: str = ""  # set by GitHub when the bot first wrote it: when the bot first saw the head


@dataclass(frozen=True)
class CommentFacts:
    """A hinted comment, as read from GitHub (never from the webhook payload)."""

    id: int
    author: str
    body: str
    created_at: str
    commands: tuple[Command, ...]
    handled: bool = False  # the bot already reacted to it: redeliveries do nothing
    # Changed after it was posted (``updated_at`` later than ``created_at``). Anyone with write
    # access can edit anyone's comment, so an edited comment is no longer what its author wrote.
    edited: bool = False


@dataclass(frozen=True)
class GateFacts:
    pull: PullFacts
    settings: GateSettings
    rules: Mapping[str, RoleRule]
    bot_login: str
    timeline: tuple[TimelineItem, ...] = ()
    open_milestones: tuple[MilestoneRef, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)  # for the release-line rule
    existing: ExistingCheck | None = None
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)  # login (lower) -> roles held
    reviews: tuple[Review, ...] = ()
    config_valid: bool = True
    config_error: str | None = None
    # The other open pull requests into a gated branch whose head is this commit, each with its
    # last section from the commit's record (read back from GitHub, not from the record alone).
    others: tuple[PullSection, ...] = ()

    def roles_of(self, login: str) -> frozenset[str]:
        return self.roles.get(login.lower(), frozenset())


# ---------------------------------------------------------------------------------------------
# the record kept in the check run


@dataclass(frozen=True)
class Approval:
    by: str
    at: str  # when it was given (GitHub's timestamp of the label event, comment or review)
    via: str  # label | command | review
    event: int | None = None  # the labeled event that carries it (None until the bot's label lands)
    comment: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Approval:
        return cls(
            by=str(data["by"]),
            at=str(data.get("at", "")),
            via=str(data.get("via", "label")),
            event=_int_or_none(data.get("event")),
            comment=_int_or_none(data.get("comment")),
        )


@dataclass(frozen=True)
class UatFailure:
    by: str
    at: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class GateRecord:
    """What the bot remembers about one pull request at one head commit, inside its own check run."""

    sha: str
    uat: Approval | None = None
    approval: Approval | None = None
    uat_failed: UatFailure | None = None
    reset_notice: bool = False  # the "new commit, approvals reset" comment was posted for this head
    audited: bool = False  # an admin-bypass merge of this head was reported
    # The unlabeled event of the hold label that was judged allowed (QA or a release manager
    # lifted it): recorded so that a steady reconcile needs no permission look-up for it.
    hold_lifted: int | None = None
    # The milestoned event judged to be a release manager's (or the bot's) act, so the milestone
    # requirement needs no permission look-up on a steady reconcile.
    milestone_by: Approval | None = None

    def get(self, requirement: str) -> Approval | None:
        return self.uat if requirement == REQ_UAT else self.approval

    def with_requirement(self, requirement: str, value: Approval | None) -> GateRecord:
        return replace(self, uat=value) if requirement == REQ_UAT else replace(self, approval=value)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.uat:
            data["uat"] = self.uat.to_json()
        if self.approval:
            data["approval"] = self.approval.to_json()
        if self.uat_failed:
            data["uat_failed"] = self.uat_failed.to_json()
        if self.reset_notice:
            data["reset_notice"] = True
        if self.audited:
            data["audited"] = True
        if self.hold_lifted is not None:
            data["hold_lifted"] = self.hold_lifted
        if self.milestone_by:
            data["milestone_by"] = self.milestone_by.to_json()
        return data

    @classmethod
    def from_json(cls, sha: str, data: Mapping[str, Any]) -> GateRecord:
        failed = data.get("uat_failed")
        return cls(
            sha=sha,
            uat=Approval.from_json(data["uat"]) if data.get("uat") else None,
            approval=Approval.from_json(data["approval"]) if data.get("approval") else None,
            uat_failed=UatFailure(str(failed["by"]), str(failed.get("at", "")), str(failed.get("reason", "")))
            if failed
            else None,
            reset_notice=bool(data.get("reset_notice")),
            audited=bool(data.get("audited")),
            hold_lifted=_int_or_none(data.get("hold_lifted")),
            milestone_by=Approval.from_json(data["milestone_by"]) if data.get("milestone_by") else None,
        )


@dataclass(frozen=True)
class PullVerdict:
    """What the gate says of one pull request: the check it would show if it were alone."""

    conclusion: Conclusion
    title: str
    summary: str  # the requirement list, without the record


@dataclass(frozen=True)
class PullSection:
    """One pull request's part of a commit's gate: its sign-offs, bound to its base branch and
    to the release that owns that branch when they were given. ``verdict`` None: a pull request
    found at this commit that the bot has not evaluated yet (it counts as failing)."""

    number: int
    base: str
    release: int | None
    record: GateRecord
    verdict: PullVerdict | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"base": self.base, **self.record.to_json()}
        if self.release is not None:
            data["release"] = self.release
        if self.verdict is not None:
            data["verdict"] = {
                "conclusion": self.verdict.conclusion,
                "title": self.verdict.title,
                "summary": self.verdict.summary,
            }
        return data

    @classmethod
    def from_json(cls, sha: str, number: int, data: Mapping[str, Any]) -> PullSection:
        verdict = data.get("verdict")
        parsed = None
        if isinstance(verdict, Mapping) and verdict.get("conclusion") in ("success", "failure", "neutral"):
            parsed = PullVerdict(verdict["conclusion"], str(verdict.get("title", "")), str(verdict.get("summary", "")))
        return cls(
            number=number,
            base=str(data["base"]),
            release=_int_or_none(data.get("release")),
            record=GateRecord.from_json(sha, data),
            verdict=parsed,
        )


@dataclass(frozen=True)
class CommitRecord:
    """The record in the bot's check run of one commit: a section per pull request at that head.

    A check run belongs to a commit and GitHub merges commits, so the gate written on a commit
    is the strictest over every open pull request into a gated branch whose head it is; what
    each pull request was given stays in its own section, bound to its base branch.
    """

    sha: str
    pulls: tuple[PullSection, ...] = ()

    def section(self, number: int) -> PullSection | None:
        return next((s for s in self.pulls if s.number == number), None)

    def with_section(self, section: PullSection) -> CommitRecord:
        rest = [s for s in self.pulls if s.number != section.number]
        return replace(self, pulls=tuple(sorted([*rest, section], key=lambda s: s.number)))

    def to_json(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "sha": self.sha,
            "pulls": {str(s.number): s.to_json() for s in self.pulls},
        }

    def marker(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        # '<' and '>' escaped so that no user-given text (a UAT failure reason) can close the comment.
        text = text.replace("<", "\\u003c").replace(">", "\\u003e")
        return f"{RECORD_MARKER_PREFIX}{text} -->"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def parse_commit_record(summary: str | None, head_sha: str) -> CommitRecord:
    """The record in one of the bot's check run summaries for ``head_sha``; empty when there is
    none, it is for another commit, of an older version, or unreadable (nothing then counts)."""
    empty = CommitRecord(sha=head_sha)
    if not summary:
        return empty
    match = _RECORD_RE.search(summary)
    if not match:
        return empty
    try:
        data = json.loads(match.group("json"))
        if data.get("v") != RECORD_VERSION or data.get("sha") != head_sha:
            return empty
        sections = [
            PullSection.from_json(head_sha, int(number), section)
            for number, section in dict(data.get("pulls") or {}).items()
            if str(number).isdigit() and isinstance(section, Mapping)
        ]
        return CommitRecord(head_sha, tuple(sorted(sections, key=lambda s: s.number)))
    except (ValueError, KeyError, TypeError, AttributeError):
        return empty  # unreadable: treat as no record (nothing counts), never crash on it


def parse_record(summary: str | None, head_sha: str, number: int, base: str) -> GateRecord | None:
    """The record of pull request ``number`` into ``base`` at ``head_sha``, if there is one.

    A section given for another base branch is no record for this one: a retargeted pull
    request starts afresh.
    """
    section = parse_commit_record(summary, head_sha).section(number)
    if section is None or section.base != base:
        return None
    return section.record


# ---------------------------------------------------------------------------------------------
# the plan


@dataclass(frozen=True)
class CheckOutput:
    conclusion: Conclusion
    title: str
    summary: str

    def differs_from(self, existing: ExistingCheck | None) -> bool:
        if existing is None:
            return True
        return (
            existing.status != "completed"
            or existing.conclusion != self.conclusion
            or existing.title != self.title
            or existing.summary != self.summary
        )


@dataclass(frozen=True)
class Reply:
    to: str  # login addressed (throttling is per person per pull request)
    body: str
    comment_id: int | None = None  # the comment answered, if any
    # A hidden marker the body ends with, for replies that must be posted exactly once although
    # the record saying "posted" is written after them (the audit): the applier looks for it first.
    marker: str = ""


@dataclass
class GatePlan:
    check: CheckOutput | None
    record: GateRecord | None
    add_labels: list[str] = field(default_factory=list)
    remove_labels: list[str] = field(default_factory=list)
    milestone: MilestoneRef | None | Literal["keep"] = "keep"
    replies: list[Reply] = field(default_factory=list)
    reactions: list[tuple[int, str]] = field(default_factory=list)  # (comment id, content)
    audit: AuditEntry | None = None
    own: PullVerdict | None = None  # this pull request's own verdict (None when it is not gated or closed)

    @property
    def has_writes(self) -> bool:
        return bool(
            self.add_labels
            or self.remove_labels
            or self.milestone != "keep"
            or self.replies
            or self.reactions
            or self.audit
        )


# ---------------------------------------------------------------------------------------------
# evaluation


def short(sha: str) -> str:
    return sha[:7]


def _head_index(timeline: Sequence[TimelineItem], head_sha: str) -> int | None:
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


def _retargeted_after_head(timeline: Sequence[TimelineItem], head_sha: str) -> bool:
    retarget = last_retarget(timeline)
    if retarget is None:
        return False
    commits = [i for i, item in enumerate(timeline) if item.sha == head_sha and item.kind != "base_ref_changed"]
    return not commits or retarget[0] > commits[-1]


def latest_labeled(timeline: Sequence[TimelineItem], label: str) -> tuple[int, TimelineItem] | None:
    latest: tuple[int, TimelineItem] | None = None
    for index, item in enumerate(timeline):
        if item.kind == "labeled" and item.label.lower() == label.lower():
            latest = (index, item)
    return latest


def _comment_index(timeline: Sequence[TimelineItem], comment_id: int) -> int | None:
    for index, item in enumerate(timeline):
        if item.kind == "commented" and item.id == comment_id:
            return index
    return None


def _head_seen_at(facts: GateFacts) -> str | None:
    """When the bot first saw the head commit: GitHub's ``started_at`` of its check run there.

    The timeline places a ``committed`` entry by its commit date, which is when the commit was made,
    not when it was pushed: a commit made at 10:00 and pushed at 10:10 would make a label given at
    10:05 (on the previous head) look like it came after. GitHub's own timestamp of the bot's first
    check run on the head is no earlier than the push, so only what comes after it counts.
    """
    if facts.existing is None or not facts.existing.started_at:
        return None
    retarget = last_retarget(facts.timeline)
    if retarget is not None and retarget[1].created_at and _at_or_after(
        retarget[1].created_at, facts.existing.started_at
    ):
        return retarget[1].created_at  # GitHub's time of the retarget: only what follows is for this base
    return facts.existing.started_at


def _at_or_after(when: str, since: str | None) -> bool:
    if since is None:
        return False  # the bot has not seen this head yet: nothing can be proven to be for it
    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00")) >= datetime.fromisoformat(
            since.replace("Z", "+00:00")
        )
    except ValueError:
        return False


def _who(rule: RoleRule) -> str:
    return f"{ROLE_TITLES[rule.role]} ({rule.describe()})"


def _has_label(labels: Iterable[str], label: str) -> bool:
    return any(existing.lower() == label.lower() for existing in labels)


class _Work:
    """Mutable state while planning: the labels as they will be, the record as it will be."""

    def __init__(self, facts: GateFacts, record: GateRecord) -> None:
        self.facts = facts
        self.labels = {label.lower(): label for label in facts.pull.labels}
        self.record = record
        self.add: dict[str, str] = {}
        self.remove: dict[str, str] = {}
        self.replies: list[Reply] = []
        self.reactions: list[tuple[int, str]] = []
        self.milestone: MilestoneRef | None | Literal["keep"] = "keep"
        # label (lower) -> the reply to send if its removal goes ahead (a command may supersede it)
        self.pending_refusals: dict[str, Reply] = {}
        self.stale: set[str] = set()  # labels given on an earlier head commit
        # label (lower) -> (its labeled event, when the bot first saw the head or None): allowed
        # people's labels that the timeline puts on the head but that predate the bot's first sight
        self.unproven: dict[str, tuple[TimelineItem, str | None]] = {}
        # The release the record was given for, when another release now owns the base branch.
        self.rebound_from: int | None = None
        self.milestone_setter = ""  # who set the milestone, when they may not (the check says so)

    def has(self, label: str) -> bool:
        return label.lower() in self.labels

    def add_label(self, label: str) -> None:
        key = label.lower()
        self.remove.pop(key, None)
        self.pending_refusals.pop(key, None)
        if key not in self.labels:
            self.labels[key] = label
            if not _has_label(self.facts.pull.labels, label):
                self.add[key] = label

    def remove_label(self, label: str) -> None:
        key = label.lower()
        self.add.pop(key, None)
        if key in self.labels:
            del self.labels[key]
            if _has_label(self.facts.pull.labels, label):
                self.remove[key] = label


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
        return _plan_not_gated(facts, comments, commit)

    owner = _owner(facts)
    release = owner.number if owner is not None else None
    own = commit.section(pull.number)
    if own is not None and own.base == pull.base:
        record = own.record
    else:
        record = GateRecord(sha=pull.head_sha)  # never evaluated here, or given for another base branch

    if pull.state != "open":
        return _plan_closed(facts, commit, record, release)

    work = _Work(facts, record)
    # The release that owns the base changed (a shipped version's branch now belongs to the
    # next patch release): what was given for the other release is given again.
    work.rebound_from = (
        own.release if own is not None and own.base == pull.base and own.release != release else None
    )
    work.stale = set(_judge_labels(work))
    _judge_hold(work)
    _judge_milestone(work)
    for comment in comments:
        _apply_comment(work, comment)
    _reset_stale(work, sorted(work.stale, key=lambda label: label != settings.uat_label))
    verdict = render_verdict(facts, work.record, work.labels.values(), work.milestone)
    section = PullSection(pull.number, pull.base, release, work.record, verdict)
    return GatePlan(
        check=commit_check(pull.head_sha, [section, *facts.others], _inert(commit, pull.number)),
        record=work.record,
        add_labels=list(work.add.values()),
        remove_labels=list(work.remove.values()),
        milestone=work.milestone,
        replies=work.replies + list(work.pending_refusals.values()),
        reactions=work.reactions,
        own=verdict,
    )


def _inert(commit: CommitRecord, number: int) -> list[PullSection]:
    """Sections kept in the record that count for nothing: merged pull requests already audited
    (kept so that their audit is not reported twice)."""
    return [s for s in commit.pulls if s.number != number and s.record.audited]


def _judge_labels(work: _Work) -> list[str]:
    """Provenance of the UAT and approval labels; returns the labels given on an earlier head commit."""
    facts = work.facts
    settings = facts.settings
    head_index = _head_index(facts.timeline, facts.pull.head_sha)
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
            refusal = _refusal(facts, requirement, event.actor)
            if refusal:
                work.remove_label(label)
                work.pending_refusals[label.lower()] = Reply(
                    to=event.actor,
                    body=f"@{event.actor} the `{label}` label was removed: {refusal}",
                )
                continue
        after_head = head_index is not None and latest is not None and latest[0] > head_index
        seen_at = _head_seen_at(facts)
        if after_head and not by_bot and not _at_or_after(event.created_at, seen_at):
            # After the head commit in the timeline, but the timeline places commits by their
            # commit date, which whoever makes the commit sets: only GitHub's time of the bot's
            # first check run on the head proves the label came after the push.
            work.unproven[label.lower()] = (event, seen_at)
            continue
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


def _refusal(facts: GateFacts, requirement: str, actor: str) -> str | None:
    """Why ``actor`` may not give ``requirement`` on this pull request, or None if they may."""
    settings = facts.settings
    role = settings.role_for(requirement)
    rule = facts.rules[role]
    what = "UAT" if requirement == REQ_UAT else "approval"
    if is_self_approval(actor, facts.pull.author, settings.allow_self_approval):
        return (
            f"the author of a pull request cannot give its {what} (`gate.allow_self_approval` is off); "
            f"it may be given by {_who(rule)}."
        )
    if role not in facts.roles_of(actor):
        return f"{what} may only be given by {_who(rule)}."
    return None


def _reset_stale(work: _Work, stale: list[str]) -> None:
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


def _reset_notice(work: _Work, names: str) -> str:
    facts = work.facts
    again = "Run `/uat passed` and `/approve` again when it is ready."
    if _retargeted_after_head(facts.timeline, facts.pull.head_sha):
        return (
            f"This pull request now targets `{facts.pull.base}`: {names} removed, because UAT and approval "
            "are given for one pull request into one release branch, and none was given for this one yet. "
            + again
        )
    if work.rebound_from is not None:
        owner = _owner(facts)
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


def _reset_unproven(work: _Work) -> None:
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


def latest_milestoned(timeline: Sequence[TimelineItem], title: str) -> TimelineItem | None:
    """The last ``milestoned`` entry that put the pull request into the milestone ``title``."""
    latest: TimelineItem | None = None
    for item in timeline:
        if item.kind == "milestoned" and item.milestone.lower() == title.lower():
            latest = item
    return latest


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


def _judge_milestone(work: _Work) -> None:
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


def _judge_hold(work: _Work) -> None:
    """A hold lifted by removing the label is judged like ``/unhold``: undone unless allowed."""
    facts = work.facts
    label = facts.settings.hold_label
    if work.has(label):
        return
    lifted = hold_lift_to_judge(facts, work.record)
    if lifted is None:
        return
    if _may_lift_hold(facts, lifted.actor):
        work.record = replace(work.record, hold_lifted=lifted.id)
        return
    work.add_label(label)
    work.pending_refusals[label.lower()] = Reply(
        to=lifted.actor,
        body=(
            f"@{lifted.actor} the `{label}` label was put back: a hold may only be lifted by "
            f"{_who(facts.rules[ROLE_QA])} or {_who(facts.rules[ROLE_RELEASE_MANAGERS])} "
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


def _may_lift_hold(facts: GateFacts, login: str) -> bool:
    return bool(facts.roles_of(login) & {ROLE_QA, ROLE_RELEASE_MANAGERS})


# ---------------------------------------------------------------------------------------------
# commands


def _apply_comment(work: _Work, comment: CommentFacts) -> None:
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
    head_index = _head_index(facts.timeline, facts.pull.head_sha)
    position = _comment_index(facts.timeline, comment.id)
    # A comment written before the current head commit arrived speaks about an older commit.
    before_head = (
        position is not None and (head_index is None or position < head_index)
    ) or not _at_or_after(comment.created_at, _head_seen_at(facts))
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


def _apply_command(work: _Work, comment: CommentFacts, command: Command, before_head: bool) -> str | None:
    """Apply one command; None when accepted, else the refusal to reply with (nothing changed)."""
    facts = work.facts
    settings = facts.settings
    author = comment.author
    argv = [arg.lower() for arg in command.argv]
    roles = facts.roles_of(author)
    rules = facts.rules

    if command.name == "help":
        work.replies.append(Reply(to=author, body=f"@{author} {help_text(facts)}", comment_id=comment.id))
        return None

    if command.name == "uat":
        action = argv[0] if argv else ""
        if action not in ("passed", "failed", "cancel"):
            return "usage: `/uat passed`, `/uat failed [reason]` or `/uat cancel`."
        if ROLE_QA not in roles:
            return f"`/uat {action}` may only be run by {_who(rules[ROLE_QA])}; nothing changed."
        if action == "passed":
            return _give(work, comment, REQ_UAT, before_head)
        work.remove_label(settings.uat_label)
        work.record = work.record.with_requirement(REQ_UAT, None)
        if action == "failed":
            reason = _clean_reason(
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
            return "usage: `/approve` or `/approve cancel`."
        if ROLE_RELEASE_MANAGERS not in roles:
            return f"`/approve` may only be run by {_who(rules[ROLE_RELEASE_MANAGERS])}; nothing changed."
        if action == "cancel":
            work.remove_label(settings.approval_label)
            work.record = work.record.with_requirement(REQ_APPROVAL, None)
            return None
        return _give(work, comment, REQ_APPROVAL, before_head)

    if command.name in ("hold", "unhold"):
        # Holding is always safe, so the author may hold their own pull request; lifting a hold is not.
        allowed = bool(roles & {ROLE_QA, ROLE_RELEASE_MANAGERS})
        if command.name == "hold":
            allowed = allowed or author.lower() == facts.pull.author.lower()
        if not allowed:
            who = f"{_who(rules[ROLE_QA])} or {_who(rules[ROLE_RELEASE_MANAGERS])}"
            if command.name == "hold":
                who += ", or the pull request's author"
            return f"`/{command.name}` may only be run by {who}; nothing changed."
        if command.name == "hold":
            work.add_label(settings.hold_label)
        else:
            work.remove_label(settings.hold_label)
            work.pending_refusals.pop(settings.hold_label.lower(), None)  # lifted by someone allowed
        return None

    if command.name == "milestone":
        if ROLE_RELEASE_MANAGERS not in roles:
            return f"`/milestone` may only be run by {_who(rules[ROLE_RELEASE_MANAGERS])}; nothing changed."
        wanted = command.args.strip()
        if not wanted:
            return "usage: `/milestone <title>` or `/milestone clear`."
        if wanted.lower() == "clear":
            work.milestone = None
            return None
        found = _find_milestone(facts, wanted)
        if found is None:
            titles = ", ".join(
                f"`{m.title}`" for _, m in release_milestones(facts.open_milestones, _pattern(facts))
            )
            return f"there is no open milestone `{_clean_reason(wanted)}`. Open version milestones: {titles or 'none'}."
        work.milestone = found
        current = facts.pull.milestone
        present = latest_milestoned(facts.timeline, found.title) if current and current.number == found.number else None
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


def _give(work: _Work, comment: CommentFacts, requirement: str, before_head: bool) -> str | None:
    facts = work.facts
    settings = facts.settings
    what = "UAT" if requirement == REQ_UAT else "approval"
    if is_self_approval(comment.author, facts.pull.author, settings.allow_self_approval):
        rule = facts.rules[settings.role_for(requirement)]
        return (
            f"the author of a pull request cannot give its {what} (`gate.allow_self_approval` is off); "
            f"ask {_who(rule)}. Nothing changed."
        )
    if before_head:
        return (
            f"this comment was written before the bot saw the head commit {short(facts.pull.head_sha)}, "
            f"so it cannot give {what} for it; run the command again. Nothing changed."
        )
    label = settings.label_for(requirement)
    latest = latest_labeled(facts.timeline, label)
    # A label that is on already stays on (no new event): bind the record to its current event.
    # Otherwise the bot adds it, and the next reconcile binds the record to the bot's event.
    present_event = latest[1].id if (latest and _has_label(facts.pull.labels, label)) else None
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


def _pattern(facts: GateFacts) -> str:
    from bot.core.versions import ReleaseConventions

    return ReleaseConventions.from_config(facts.config).milestone_pattern


def _find_milestone(facts: GateFacts, title: str) -> MilestoneRef | None:
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


def _clean_reason(text: str) -> str:
    # Shown back inside markdown: one line, bounded, no mentions that would ping people, no HTML.
    text = " ".join(text.split())[:REASON_LIMIT]
    text = text.replace("@", "@\u200b").replace("<", "&lt;").replace(">", "&gt;")
    return text


def help_text(facts: GateFacts) -> str:
    """The gate's commands and who may run each, from the live configuration."""
    settings = facts.settings
    qa = _who(facts.rules[ROLE_QA])
    rm = _who(facts.rules[ROLE_RELEASE_MANAGERS])
    self_rule = "" if settings.allow_self_approval else " (not the pull request's author)"
    lines = [
        f"release-bot merge gate commands (pull requests into {', '.join(f'`{b}`' for b in settings.release_branches)}):",
        "",
        "| command | what it does | who may run it |",
        "|---|---|---|",
        f"| `/uat passed` | adds `{settings.uat_label}` for the current head commit | {qa}{self_rule} |",
        f"| `/uat failed [reason]` | removes `{settings.uat_label}` and records why | {qa} |",
        f"| `/uat cancel` | removes `{settings.uat_label}` | {qa} |",
        f"| `/approve` | adds `{settings.approval_label}` for the current head commit | {rm}{self_rule} |",
        f"| `/approve cancel` | removes `{settings.approval_label}` | {rm} |",
        f"| `/hold` | adds `{settings.hold_label}`: the gate fails while it is on | {qa}, {rm}, or the author |",
        f"| `/unhold` | removes `{settings.hold_label}` | {qa} or {rm} |",
        f"| `/milestone <title>` / `/milestone clear` | sets or clears the milestone | {rm} |",
        f"| `/release-note <text>` | sets this pull request's line in the release notes | the author or {rm} |",
        "| `/help` | this list | anyone |",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# rendering the check


@dataclass(frozen=True)
class Requirement:
    key: str
    met: bool
    text: str  # one markdown line: what is required and by whom it was met, or what is missing
    missing: str = ""  # short name for the title when not met
    todo: str = ""  # what to do next


def evaluate_requirements(
    facts: GateFacts,
    record: GateRecord,
    labels: Iterable[str],
    milestone: MilestoneRef | None | Literal["keep"] = "keep",
) -> list[Requirement]:
    settings = facts.settings
    pull = facts.pull
    labels = list(labels)
    head = short(pull.head_sha)
    out: list[Requirement] = []

    uat = record.uat if _has_label(labels, settings.uat_label) else None
    qa = _who(facts.rules[ROLE_QA])
    if uat:
        out.append(
            Requirement(REQ_UAT, True, f"UAT passed — by @{uat.by}, {uat.at}, on {head} ({_via(uat)})")
        )
    else:
        failed = record.uat_failed
        detail = (
            f" — failed by @{failed.by}, {failed.at}: {failed.reason or 'no reason given'}" if failed else ""
        )
        if not failed and _has_label(labels, settings.uat_label):
            detail = f" — `{settings.uat_label}` is on but was not given for {head}"
        out.append(
            Requirement(
                REQ_UAT,
                False,
                f"UAT passed{detail}",
                missing="UAT",
                todo=f"{qa} comments `/uat passed` (or adds `{settings.uat_label}`) on {head}.",
            )
        )

    approval = record.approval if _has_label(labels, settings.approval_label) else None
    rm = _who(facts.rules[ROLE_RELEASE_MANAGERS])
    if approval is None and settings.approval_from_reviews:
        approval = _approval_from_reviews(facts)
    if approval:
        out.append(
            Requirement(
                REQ_APPROVAL,
                True,
                f"Release approval — by @{approval.by}, {approval.at}, on {head} ({_via(approval)})",
            )
        )
    else:
        detail = ""
        if _has_label(labels, settings.approval_label):
            detail = f" — `{settings.approval_label}` is on but was not given for {head}"
        out.append(
            Requirement(
                REQ_APPROVAL,
                False,
                f"Release approval{detail}",
                missing="approval",
                todo=f"{rm} comments `/approve` (or adds `{settings.approval_label}`) on {head}.",
            )
        )

    if settings.require_milestone:
        current = pull.milestone if milestone == "keep" else milestone
        owner = _owner(facts)
        if owner is None:
            out.append(
                Requirement(
                    "milestone",
                    False,
                    f"Milestone — no open version milestone owns `{pull.base}`",
                    missing="milestone",
                    todo=f"open a version milestone for `{pull.base}` (e.g. the next patch release).",
                )
            )
        elif current is not None and current.number == owner.number and (
            milestone != "keep" or record.milestone_by is not None
        ):
            out.append(
                Requirement("milestone", True, f"Milestone — in `{owner.title}`, which owns `{pull.base}`")
            )
        elif current is not None and current.number == owner.number:
            setter = latest_milestoned(facts.timeline, current.title)
            by = f"set by @{setter.actor}, who is not a release manager" if setter else "set by someone unknown"
            out.append(
                Requirement(
                    "milestone",
                    False,
                    f"Milestone — in `{owner.title}`, but {by}",
                    missing="milestone",
                    todo=f"a release manager comments `/milestone {owner.title}` (or sets it).",
                )
            )
        else:
            now = f"in `{current.title}`" if current else "no milestone"
            out.append(
                Requirement(
                    "milestone",
                    False,
                    f"Milestone — {now}; `{pull.base}` belongs to `{owner.title}`",
                    missing="milestone",
                    todo=f"a release manager comments `/milestone {owner.title}`.",
                )
            )

    if _has_label(labels, settings.hold_label):
        out.append(
            Requirement(
                "hold",
                False,
                f"Not on hold — `{settings.hold_label}` is on",
                missing="on hold",
                todo="QA or a release manager comments `/unhold` when it may go ahead.",
            )
        )
    else:
        out.append(Requirement("hold", True, f"Not on hold (no `{settings.hold_label}` label)"))

    if not facts.config_valid:
        out.append(
            Requirement(
                "config",
                False,
                "Valid configuration — `.github/release-bot.yml` has never been valid, so the gate fails closed",
                missing="valid configuration",
                todo="fix `.github/release-bot.yml` on the default branch (`release-bot check-config`).",
            )
        )
    return out


def _via(approval: Approval) -> str:
    if approval.via == "command":
        return "command"
    if approval.via == "review":
        return "approving review"
    return "label"


def _owner(facts: GateFacts) -> MilestoneRef | None:
    try:
        return owning_milestone(facts.pull.base, facts.open_milestones, facts.config)
    except ValueError:
        return None  # a broken pattern: no milestone can own the branch; the check says so


def _approval_from_reviews(facts: GateFacts) -> Approval | None:
    """The latest approving review on the head commit by a release manager who is not the author."""
    latest: dict[str, Review] = {}
    for review in facts.reviews:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.author.lower()] = review  # a later review by the same person overrides
    for review in latest.values():
        if review.state != "APPROVED" or review.commit_id != facts.pull.head_sha:
            continue
        if _refusal(facts, REQ_APPROVAL, review.author) is None:
            return Approval(by=review.author, at=review.submitted_at, via="review")
    return None


def render_verdict(
    facts: GateFacts,
    record: GateRecord,
    labels: Iterable[str],
    milestone: MilestoneRef | None | Literal["keep"] = "keep",
) -> PullVerdict:
    requirements = evaluate_requirements(facts, record, labels, milestone)
    missing = [req.missing for req in requirements if not req.met]
    head = short(facts.pull.head_sha)
    if missing:
        conclusion: Conclusion = "failure"
        title = "Missing: " + ", ".join(missing)
    else:
        conclusion = "success"
        title = f"Ready to merge: UAT and approval given for {head}"
    lines = [f"Requirements for merging into `{facts.pull.base}` at commit {head}:", ""]
    lines += [f"- [{'x' if req.met else ' '}] {req.text}" for req in requirements]
    todos = [req.todo for req in requirements if not req.met and req.todo]
    if todos:
        lines += ["", "**Next:**", ""] + [f"- {todo}" for todo in todos]
    if facts.config_error:
        lines += [
            "",
            f"Configuration problem (the last valid configuration is in use): {_clean_reason(facts.config_error)}",
        ]
    lines += [
        "",
        "UAT and approval count only for the commit they were given on; comment `/help` for the commands.",
    ]
    return PullVerdict(conclusion, title, "\n".join(lines)[:SECTION_SUMMARY_LIMIT])


# At most this many pull requests share one commit's gate; more at one head fail it (a check run
# summary holds about 65,535 characters, and each section is shown and recorded).
MAX_PULLS_PER_COMMIT = 8
SECTION_SUMMARY_LIMIT = 3_000


def commit_check(sha: str, live: Sequence[PullSection], inert: Sequence[PullSection] = ()) -> CheckOutput:
    """The check run of commit ``sha``: the strictest verdict over ``live``, the open pull requests
    into a gated branch whose head it is. One pull request alone gets its own verdict as it is."""
    live = sorted(live, key=lambda s: s.number)
    record = CommitRecord(sha, tuple(sorted([*live[:MAX_PULLS_PER_COMMIT], *inert], key=lambda s: s.number)))
    marker = record.marker()
    if len(live) == 1 and live[0].verdict is not None:
        verdict = live[0].verdict
        return CheckOutput(verdict.conclusion, verdict.title, verdict.summary + "\n\n" + marker)
    failing = [s for s in live if s.verdict is None or s.verdict.conclusion != "success"]
    if len(live) > MAX_PULLS_PER_COMMIT:
        failing = failing or list(live[MAX_PULLS_PER_COMMIT:])
    numbers = ", ".join(f"#{s.number}" for s in live)
    lines = [
        f"Commit {short(sha)} is the head of {len(live)} open pull requests into release branches ({numbers}). "
        "A check belongs to a commit and GitHub merges the commit, so it passes only when every one "
        "of them passes; what each was given stays with it.",
        "",
    ]
    if len(live) > MAX_PULLS_PER_COMMIT:
        lines += [f"More than {MAX_PULLS_PER_COMMIT} pull requests share this commit: close the extra ones.", ""]
    for section in live[:MAX_PULLS_PER_COMMIT]:
        lines.append(f"### #{section.number} into `{section.base}`")
        lines.append("")
        if section.verdict is None:
            lines.append("Not evaluated yet at this commit: it counts as failing until the bot has seen it.")
        else:
            lines.append(f"**{section.verdict.title}**")
            lines.append("")
            lines.append(section.verdict.summary)
        lines.append("")
    if failing:
        conclusion: Conclusion = "failure"
        parts = [
            f"#{s.number} " + (s.verdict.title.removeprefix("Missing: ").lower() if s.verdict else "not evaluated yet")
            for s in failing
        ]
        title = ("Missing: " + "; ".join(parts))[:REASON_LIMIT]
    else:
        conclusion = "success"
        title = f"Ready to merge: all {len(live)} pull requests at {short(sha)} pass the gate"
    body = "\n".join(lines).rstrip()[:SUMMARY_LIMIT]
    return CheckOutput(conclusion, title, body + "\n\n" + marker)


def _plan_not_gated(facts: GateFacts, comments: Sequence[CommentFacts], commit: CommitRecord) -> GatePlan:
    """A pull request that does not target a release branch writes no conclusion over a gated one:
    the check of its head stays the gate of the pull requests into release branches at that commit
    (``facts.others``); only where there are none does it become neutral, and only if ours was there."""
    check = None
    inert = _inert(commit, facts.pull.number)
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


def _plan_closed(facts: GateFacts, commit: CommitRecord, record: GateRecord, release: int | None) -> GatePlan:
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
            return GatePlan(check=commit_check(pull.head_sha, facts.others, _inert(commit, pull.number)), record=None)
        return GatePlan(check=None, record=None)
    own_passed = (
        own is not None and own.base == pull.base and own.verdict is not None and own.verdict.conclusion == "success"
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
            _RECORD_RE.sub(lambda _: marker, previous.summary)
            if _RECORD_RE.search(previous.summary)
            else (previous.summary + "\n\n" + marker)
        )
        conclusion = (
            previous.conclusion if previous.conclusion in ("success", "failure", "neutral") else "failure"
        )
    else:
        title = "Merged without the gate's evaluation"
        summary = f"Merged into `{pull.base}` before the gate evaluated commit {short(pull.head_sha)}.\n\n{marker}"
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


def merge_group_check(results: Sequence[tuple[int, CheckOutput | None]], head_sha: str) -> CheckOutput:
    """The check on a merge group's head commit: success when every pull request of it passes its gate."""
    lines = [f"Merge group at {short(head_sha)}:", ""]
    failing: list[int] = []
    for number, output in results:
        ok = output is not None and output.conclusion == "success"
        if not ok:
            failing.append(number)
        title = output.title if output else "not gated (no release branch)"
        lines.append(f"- [{'x' if ok else ' '}] #{number}: {title}")
    if not results:
        return CheckOutput("failure", "No pull requests found in the merge group", "\n".join(lines))
    if failing:
        title = "Gate failing for " + ", ".join(f"#{n}" for n in failing)
        return CheckOutput("failure", title, "\n".join(lines))
    return CheckOutput("success", f"All {len(results)} pull request(s) pass the gate", "\n".join(lines))
