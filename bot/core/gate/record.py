"""The record kept in the bot's own check run: who gave UAT and approval on which commit.

Only the App can write its check run, so the hidden JSON marker in its summary is the trustworthy
memory of who approved what. One section per pull request whose head is the commit (v2)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.core.gate.settings import REQ_UAT, Conclusion

# v2: one section per pull request whose head is the commit (v1 bound sign-offs to the commit
# alone, so a twin, a decoy or a retarget could reuse or wipe them); a v1 record counts for nothing.
RECORD_VERSION = 2


RECORD_MARKER_PREFIX = "<!-- release-bot:gate-record:"


# Ends the bot's audit comment on a pull request merged past the gate (one per head commit).
AUDIT_MARKER_PREFIX = "<!-- release-bot:gate-audit:"


RECORD_RE = re.compile(r"<!-- release-bot:gate-record:(?P<json>\{.*?\}) -->", re.DOTALL)


# GitHub caps check run summaries at 65,535 characters; stay well below with room for the record.
SUMMARY_LIMIT = 60_000


REASON_LIMIT = 300


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
            parsed = PullVerdict(
                verdict["conclusion"], str(verdict.get("title", "")), str(verdict.get("summary", ""))
            )
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
    match = RECORD_RE.search(summary)
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
