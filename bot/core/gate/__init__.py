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

The package, by concern: ``settings`` (``gate:`` configuration, which branches are gated),
``facts`` (what the plan is made from), ``record`` (the format kept in the check run),
``timeline`` (questions asked of the facts), ``judging`` (labels, milestones and holds set by
hand), ``commands`` (slash commands), ``verdict`` (each requirement met or missing), ``rendering``
(the commit's check run, the merge group's), ``closed`` (pull requests not evaluated),
``evaluate`` (``plan_gate``). Callers import from ``bot.core.gate``: this is its public surface.
"""

from __future__ import annotations

from bot.core.audit import AuditEntry
from bot.core.gate.commands import help_text
from bot.core.gate.evaluate import plan_gate
from bot.core.gate.facts import (
    CommentFacts,
    ExistingCheck,
    GateFacts,
    MilestoneRef,
    PullFacts,
    Review,
    TimelineItem,
)
from bot.core.gate.judging import hold_lift_to_judge, milestone_to_judge
from bot.core.gate.plan import CheckOutput, GatePlan, Reply
from bot.core.gate.record import (
    AUDIT_MARKER_PREFIX,
    REASON_LIMIT,
    RECORD_MARKER_PREFIX,
    RECORD_VERSION,
    SUMMARY_LIMIT,
    Approval,
    CommitRecord,
    GateRecord,
    PullSection,
    PullVerdict,
    UatFailure,
    parse_commit_record,
    parse_record,
)
from bot.core.gate.rendering import (
    MAX_PULLS_PER_COMMIT,
    SECTION_SUMMARY_LIMIT,
    commit_check,
    merge_group_check,
)
from bot.core.gate.settings import (
    GATE_COMMANDS,
    GATE_REQUIREMENTS,
    REQ_APPROVAL,
    REQ_UAT,
    Conclusion,
    GateSettings,
    is_release_branch,
)
from bot.core.gate.timeline import last_retarget, latest_labeled, latest_milestoned, needs_head_arrival, short
from bot.core.gate.verdict import Requirement, evaluate_requirements, render_verdict

__all__ = [
    "AUDIT_MARKER_PREFIX",
    "Approval",
    "AuditEntry",
    "CheckOutput",
    "CommentFacts",
    "CommitRecord",
    "Conclusion",
    "ExistingCheck",
    "GATE_COMMANDS",
    "GATE_REQUIREMENTS",
    "GateFacts",
    "GatePlan",
    "GateRecord",
    "GateSettings",
    "MAX_PULLS_PER_COMMIT",
    "MilestoneRef",
    "PullFacts",
    "PullSection",
    "PullVerdict",
    "REASON_LIMIT",
    "RECORD_MARKER_PREFIX",
    "RECORD_VERSION",
    "REQ_APPROVAL",
    "REQ_UAT",
    "Reply",
    "Requirement",
    "Review",
    "SECTION_SUMMARY_LIMIT",
    "SUMMARY_LIMIT",
    "TimelineItem",
    "UatFailure",
    "commit_check",
    "evaluate_requirements",
    "help_text",
    "hold_lift_to_judge",
    "is_release_branch",
    "last_retarget",
    "latest_labeled",
    "needs_head_arrival",
    "latest_milestoned",
    "merge_group_check",
    "milestone_to_judge",
    "parse_commit_record",
    "parse_record",
    "plan_gate",
    "render_verdict",
    "short",
]
