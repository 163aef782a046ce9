"""What the gate plans: the check run output, labels, milestone, replies and reactions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.core.audit import AuditEntry
from bot.core.gate.facts import ExistingCheck, MilestoneRef
from bot.core.gate.record import GateRecord, PullVerdict
from bot.core.gate.settings import Conclusion


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
