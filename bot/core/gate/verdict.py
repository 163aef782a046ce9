"""The verdict of one pull request: each requirement met or missing, rendered for its section."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.core.gate.facts import GateFacts, MilestoneRef, Review
from bot.core.gate.judging import label_refusal
from bot.core.gate.record import Approval, GateRecord, PullVerdict
from bot.core.gate.rendering import SECTION_SUMMARY_LIMIT
from bot.core.gate.settings import REQ_APPROVAL, REQ_UAT, Conclusion
from bot.core.gate.timeline import (
    clean_reason,
    has_label,
    latest_milestoned,
    owner_milestone,
    role_title,
    short,
)
from bot.core.permissions import (
    ROLE_QA,
    ROLE_RELEASE_MANAGERS,
)


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

    uat = record.uat if has_label(labels, settings.uat_label) else None
    qa = role_title(facts.rules[ROLE_QA])
    if uat:
        out.append(
            Requirement(
                REQ_UAT, True, f"UAT passed — by @{uat.by}, {uat.at}, on {head} ({approval_via(uat)})"
            )
        )
    else:
        failed = record.uat_failed
        detail = (
            f" — failed by @{failed.by}, {failed.at}: {failed.reason or 'no reason given'}" if failed else ""
        )
        if not failed and has_label(labels, settings.uat_label):
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

    approval = record.approval if has_label(labels, settings.approval_label) else None
    rm = role_title(facts.rules[ROLE_RELEASE_MANAGERS])
    if approval is None and settings.approval_from_reviews:
        approval = review_approval(facts)
    if approval:
        out.append(
            Requirement(
                REQ_APPROVAL,
                True,
                f"Release approval — by @{approval.by}, {approval.at}, on {head} ({approval_via(approval)})",
            )
        )
    else:
        detail = ""
        if has_label(labels, settings.approval_label):
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
        owner = owner_milestone(facts)
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
        elif (
            current is not None
            and current.number == owner.number
            and (milestone != "keep" or record.milestone_by is not None)
        ):
            out.append(
                Requirement("milestone", True, f"Milestone — in `{owner.title}`, which owns `{pull.base}`")
            )
        elif current is not None and current.number == owner.number:
            setter = latest_milestoned(facts.timeline, current.title)
            by = (
                f"set by @{setter.actor}, who is not a release manager"
                if setter
                else "set by someone unknown"
            )
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

    if has_label(labels, settings.hold_label):
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
                "Valid configuration — `.github/release-bot.yml` has never been valid, "
                "so the gate fails closed",
                missing="valid configuration",
                todo="fix `.github/release-bot.yml` on the default branch (`release-bot check-config`).",
            )
        )
    return out


def approval_via(approval: Approval) -> str:
    if approval.via == "command":
        return "command"
    if approval.via == "review":
        return "approving review"
    return "label"


def review_approval(facts: GateFacts) -> Approval | None:
    """The latest approving review on the head commit by a release manager who is not the author."""
    latest: dict[str, Review] = {}
    for review in facts.reviews:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.author.lower()] = review  # a later review by the same person overrides
    for review in latest.values():
        if review.state != "APPROVED" or review.commit_id != facts.pull.head_sha:
            continue
        if label_refusal(facts, REQ_APPROVAL, review.author) is None:
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
            "Configuration problem (the last valid configuration is in use): "
            f"{clean_reason(facts.config_error)}",
        ]
    lines += [
        "",
        "UAT and approval count only for the commit they were given on; comment `/help` for the commands.",
    ]
    return PullVerdict(conclusion, title, "\n".join(lines)[:SECTION_SUMMARY_LIMIT])
