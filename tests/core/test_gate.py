"""Gate evaluation as tables: labels with actors, commits, roles, milestone, hold, self-approval."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.config.repo_config import default_gate_settings
from bot.core.commands import parse_commands
from bot.core.gate import (
    Approval,
    CommentFacts,
    CommitRecord,
    ExistingCheck,
    GateFacts,
    GateRecord,
    GateSettings,
    MilestoneRef,
    PullFacts,
    PullSection,
    PullVerdict,
    Review,
    TimelineItem,
    UatFailure,
    is_release_branch,
    merge_group_check,
    parse_commit_record,
    parse_record,
    plan_gate,
)
from bot.core.permissions import ROLE_QA, ROLE_RELEASE_MANAGERS, role_rules


def gate_settings(**changes: Any) -> GateSettings:
    """The schema's default ``gate:`` settings, with ``changes``."""
    return replace(default_gate_settings(), **changes)

BOT = "release-bot[bot]"
SEEN = "2026-11-26T04:00:00Z"
HEAD = "b" * 40
OLD = "a" * 40
V140 = MilestoneRef(1, "v1.4.0")
V141 = MilestoneRef(2, "v1.4.1")
V150 = MilestoneRef(3, "v1.5.0")
ROLES = {
    "releaser": frozenset({ROLE_QA, ROLE_RELEASE_MANAGERS}),
    "pm": frozenset({ROLE_QA, ROLE_RELEASE_MANAGERS}),
    "qa": frozenset({ROLE_QA}),
    "dev": frozenset({ROLE_QA}),
    "triager": frozenset(),
    "outsider": frozenset(),
}


def labeled(event_id: int, label: str, actor: str, at: str = "2026-11-26T05:00:00Z") -> TimelineItem:
    return TimelineItem(kind="labeled", id=event_id, actor=actor, label=label, created_at=at)


def committed(sha: str) -> TimelineItem:
    return TimelineItem(kind="committed", sha=sha)


def marker(
    record: GateRecord, verdict: PullVerdict | None = None, number: int = 7, base: str = "release/1.4"
) -> str:
    """The check run record holding ``record`` as pull request #7's section (into release/1.4, v1.4.0)."""
    return CommitRecord(record.sha, (PullSection(number, base, V140.number, record, verdict),)).marker()


def parse(summary: str | None) -> GateRecord | None:
    return parse_record(summary, HEAD, 7, "release/1.4")


PASSED = PullVerdict("success", "Ready to merge", "all given")


def milestoned(title: str, actor: str = "releaser", event_id: int = 5) -> TimelineItem:
    return TimelineItem(
        kind="milestoned", id=event_id, actor=actor, milestone=title, created_at="2026-11-26T03:00:00Z"
    )


def facts(
    labels: tuple[str, ...] = (),
    timeline: tuple[TimelineItem, ...] = (committed(HEAD),),
    milestone: MilestoneRef | None = V140,
    record: GateRecord | None = None,
    author: str = "dev",
    base: str = "release/1.4",
    settings: GateSettings | None = None,
    **extra: Any,
) -> GateFacts:
    # By default the bot saw the head commit (its check run's started_at) before anything happened.
    existing = ExistingCheck(9, "completed", "failure", "t", "s", SEEN)
    if record is not None:
        existing = ExistingCheck(9, "completed", "failure", "t", "s\n\n" + marker(record), SEEN)
    # By default a release manager put the pull request into its milestone, before anything else.
    milestoned_by = extra.pop("milestoned_by", "releaser")
    if milestone is not None and milestoned_by is not None:
        timeline = (milestoned(milestone.title, milestoned_by), *timeline)
    return GateFacts(
        pull=PullFacts(
            number=7, author=author, base=base, head_sha=HEAD, labels=frozenset(labels), milestone=milestone
        ),
        settings=settings or gate_settings(),
        rules=role_rules({}, "acme"),
        bot_login=BOT,
        timeline=timeline,
        open_milestones=(V140, V150),
        existing=extra.pop("existing", existing),
        roles=ROLES,
        **extra,
    )


def comment(cid: int, author: str, body: str, handled: bool = False) -> CommentFacts:
    return CommentFacts(cid, author, body, "2026-11-26T06:00:00Z", tuple(parse_commands(body)), handled)


BOTH = ("uat-passed", "release-approved")
ON_HEAD = (committed(HEAD), labeled(11, "uat-passed", "qa"), labeled(12, "release-approved", "releaser"))


# (name, facts, conclusion, title, labels removed)
CASES = [
    ("nothing given", facts(), "failure", "Missing: UAT, approval", []),
    (
        "both by allowed people on head",
        facts(BOTH, ON_HEAD),
        "success",
        "Ready to merge: UAT and approval given for bbbbbbb",
        [],
    ),
    (
        "uat by triager removed",
        facts(
            BOTH,
            (
                committed(HEAD),
                labeled(11, "uat-passed", "triager"),
                labeled(12, "release-approved", "releaser"),
            ),
        ),
        "failure",
        "Missing: UAT",
        ["uat-passed"],
    ),
    (
        "approval by qa (not a release manager) removed",
        facts(
            BOTH, (committed(HEAD), labeled(11, "uat-passed", "qa"), labeled(12, "release-approved", "qa"))
        ),
        "failure",
        "Missing: approval",
        ["release-approved"],
    ),
    (
        "author cannot give their own UAT",
        facts(
            BOTH,
            (committed(HEAD), labeled(11, "uat-passed", "dev"), labeled(12, "release-approved", "releaser")),
        ),
        "failure",
        "Missing: UAT",
        ["uat-passed"],
    ),
    (
        "self approval allowed by config",
        facts(
            BOTH,
            (committed(HEAD), labeled(11, "uat-passed", "dev"), labeled(12, "release-approved", "releaser")),
            settings=gate_settings(allow_self_approval=True),
        ),
        "success",
        "Ready to merge: UAT and approval given for bbbbbbb",
        [],
    ),
    (
        "labels given before the head commit are reset",
        facts(
            BOTH,
            (
                committed(OLD),
                labeled(11, "uat-passed", "qa"),
                labeled(12, "release-approved", "releaser"),
                committed(HEAD),
            ),
        ),
        "failure",
        "Missing: UAT, approval",
        ["uat-passed", "release-approved"],
    ),
    (
        "stale labels stay without reset_on_push but do not count",
        facts(
            BOTH,
            (
                committed(OLD),
                labeled(11, "uat-passed", "qa"),
                labeled(12, "release-approved", "releaser"),
                committed(HEAD),
            ),
            settings=gate_settings(reset_on_push=False),
        ),
        "failure",
        "Missing: UAT, approval",
        [],
    ),
    (
        "force push: head arrives by head_ref_force_pushed",
        facts(
            BOTH,
            (
                committed(OLD),
                labeled(11, "uat-passed", "qa"),
                labeled(12, "release-approved", "releaser"),
                TimelineItem("head_ref_force_pushed", sha=HEAD),
            ),
        ),
        "failure",
        "Missing: UAT, approval",
        ["uat-passed", "release-approved"],
    ),
    ("hold", facts((*BOTH, "hold"), ON_HEAD), "failure", "Missing: on hold", []),
    ("wrong milestone", facts(BOTH, ON_HEAD, milestone=V150), "failure", "Missing: milestone", []),
    ("no milestone", facts(BOTH, ON_HEAD, milestone=None), "failure", "Missing: milestone", []),
    (
        "milestone not required",
        facts(BOTH, ON_HEAD, milestone=None, settings=gate_settings(require_milestone=False)),
        "success",
        "Ready to merge: UAT and approval given for bbbbbbb",
        [],
    ),
    (
        "invalid configuration fails closed",
        facts(BOTH, ON_HEAD, config_valid=False),
        "failure",
        "Missing: valid configuration",
        [],
    ),
    (
        "label with no event in the timeline does not count",
        facts(BOTH, (committed(HEAD), labeled(12, "release-approved", "releaser"))),
        "failure",
        "Missing: UAT",
        [],
    ),
    (
        "bot label without a record is removed",
        facts(
            BOTH,
            (committed(HEAD), labeled(11, "uat-passed", BOT), labeled(12, "release-approved", "releaser")),
        ),
        "failure",
        "Missing: UAT",
        ["uat-passed"],
    ),
]


@pytest.mark.parametrize(
    ("name", "gate_facts", "conclusion", "title", "removed"), CASES, ids=[c[0] for c in CASES]
)
def test_gate_table(
    name: str, gate_facts: GateFacts, conclusion: str, title: str, removed: list[str]
) -> None:
    plan = plan_gate(gate_facts)
    assert plan.check is not None
    assert plan.check.conclusion == conclusion
    assert plan.check.title == title
    assert sorted(plan.remove_labels) == sorted(removed)
    assert plan.add_labels == []


def test_summary_is_a_checklist_naming_who_and_which_commit() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD))
    summary = plan.check.summary  # type: ignore[union-attr]
    assert "- [x] UAT passed — by @qa, 2026-11-26T05:00:00Z, on bbbbbbb (label)" in summary
    assert "- [x] Release approval — by @releaser" in summary
    assert "- [x] Milestone — in `v1.4.0`, which owns `release/1.4`" in summary
    record = parse(summary)
    assert record is not None and record.uat == Approval("qa", "2026-11-26T05:00:00Z", "label", event=11)


def test_milestone_summary_names_the_owner() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD, milestone=V150))
    assert "`release/1.4` belongs to `v1.4.0`" in plan.check.summary  # type: ignore[union-attr]
    assert "`/milestone v1.4.0`" in plan.check.summary  # type: ignore[union-attr]


def test_refusal_reply_names_rule_and_who_may() -> None:
    plan = plan_gate(facts(("uat-passed",), (committed(HEAD), labeled(11, "uat-passed", "triager"))))
    assert len(plan.replies) == 1
    reply = plan.replies[0]
    assert reply.to == "triager"
    assert "`uat-passed` label was removed" in reply.body
    assert "write permission or above" in reply.body


def test_reset_comments_once_per_head() -> None:
    stale = (
        committed(OLD),
        labeled(11, "uat-passed", "qa"),
        labeled(12, "release-approved", "releaser"),
        committed(HEAD),
    )
    plan = plan_gate(facts(BOTH, stale))
    assert len(plan.replies) == 1 and "New head commit bbbbbbb" in plan.replies[0].body
    assert plan.record is not None and plan.record.reset_notice
    # labels removed but GitHub has not caught up: no second comment
    again = plan_gate(facts(BOTH, stale, record=plan.record))
    assert again.replies == []


def test_steady_state_is_a_no_op() -> None:
    first = plan_gate(facts(BOTH, ON_HEAD))
    existing = ExistingCheck(
        5, "completed", first.check.conclusion, first.check.title, first.check.summary, SEEN
    )  # type: ignore[union-attr]
    second = plan_gate(facts(BOTH, ON_HEAD, existing=existing))
    assert not second.has_writes
    assert second.check is not None and not second.check.differs_from(existing)


def test_recorded_approval_survives_without_permission_lookups() -> None:
    record = GateRecord(
        HEAD,
        uat=Approval("qa", "t", "label", event=11),
        approval=Approval("releaser", "t", "label", event=12),
        milestone_by=Approval("releaser", "t", "milestone", event=5),
    )
    plan = plan_gate(replace(facts(BOTH, ON_HEAD, record=record), roles={}))
    assert plan.check is not None and plan.check.conclusion == "success"


def test_relabel_by_someone_else_after_record_is_judged_again() -> None:
    record = GateRecord(HEAD, uat=Approval("qa", "t", "label", event=11))
    timeline = (committed(HEAD), labeled(11, "uat-passed", "qa"), labeled(20, "uat-passed", "triager"))
    plan = plan_gate(facts(("uat-passed",), timeline, record=record))
    assert plan.remove_labels == ["uat-passed"]
    assert plan.record is not None and plan.record.uat is None


def test_removed_label_withdraws_the_record() -> None:
    record = GateRecord(HEAD, uat=Approval("qa", "t", "label", event=11))
    plan = plan_gate(facts((), ON_HEAD, record=record))
    assert plan.record is not None and plan.record.uat is None


def test_record_for_another_commit_is_ignored() -> None:
    record = GateRecord(
        OLD, uat=Approval("qa", "t", "label", event=11), approval=Approval("releaser", "t", "label", event=12)
    )
    gate = facts(
        BOTH,
        (
            committed(OLD),
            labeled(11, "uat-passed", "qa"),
            labeled(12, "release-approved", "releaser"),
            committed(HEAD),
        ),
    )
    gate = replace(gate, existing=ExistingCheck(1, "completed", "success", "t", marker(record), SEEN))
    plan = plan_gate(gate)
    assert plan.check is not None and plan.check.conclusion == "failure"


# --- commands -------------------------------------------------------------------------------


def test_uat_and_approve_commands() -> None:
    plan = plan_gate(facts(), [comment(100, "qa", "/uat passed"), comment(101, "releaser", "/approve")])
    assert sorted(plan.add_labels) == sorted(BOTH)
    assert plan.reactions == [(100, "+1"), (101, "+1")]
    assert plan.check is not None and plan.check.conclusion == "success"
    assert plan.record is not None and plan.record.uat == Approval(
        "qa", "2026-11-26T06:00:00Z", "command", comment=100
    )
    # the bot's label events arrive: nothing more to write, still green
    timeline = (committed(HEAD), labeled(30, "uat-passed", BOT), labeled(31, "release-approved", BOT))
    existing = ExistingCheck(9, "completed", "success", plan.check.title, plan.check.summary, SEEN)
    after = plan_gate(facts(BOTH, timeline, existing=existing))
    assert not after.has_writes and not after.check.differs_from(existing)  # type: ignore[union-attr]
    # a person re-applying the label afterwards is judged again
    relabeled = (*timeline, labeled(40, "uat-passed", "triager"))
    again = plan_gate(facts(BOTH, relabeled, existing=existing))
    assert again.remove_labels == ["uat-passed"] and again.check.conclusion == "failure"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("author", "body", "fragment"),
    [
        ("outsider", "/approve", "may only be run by release managers"),
        ("dev", "/approve", "may only be run by release managers"),
        ("triager", "/uat passed", "may only be run by QA"),
        ("dev", "/uat passed", "author of a pull request cannot give its UAT"),
        ("qa", "/uat sure", "usage: `/uat passed`"),
        ("outsider", "/unhold", "`/unhold` may only be run by"),
        ("qa", "/milestone v1.4.0", "`/milestone` may only be run by release managers"),
        ("releaser", "/milestone v9.9.9", "Open version milestones: `v1.4.0`, `v1.5.0`"),
    ],
)
def test_refused_commands_change_nothing(author: str, body: str, fragment: str) -> None:
    plan = plan_gate(facts(), [comment(100, author, body)])
    assert plan.add_labels == [] and plan.remove_labels == [] and plan.milestone == "keep"
    assert plan.reactions == [(100, "confused")]
    assert len(plan.replies) == 1 and fragment in plan.replies[0].body
    assert plan.replies[0].to == author and plan.replies[0].comment_id == 100


def test_handled_comment_is_skipped() -> None:
    plan = plan_gate(facts(), [comment(100, "qa", "/uat passed", handled=True)])
    assert not plan.has_writes


def test_comment_written_before_the_head_commit_cannot_approve() -> None:
    timeline = (committed(OLD), TimelineItem("commented", id=100), committed(HEAD))
    plan = plan_gate(facts(timeline=timeline), [comment(100, "qa", "/uat passed")])
    assert plan.add_labels == [] and "before the bot saw the head commit bbbbbbb" in plan.replies[0].body


def test_labels_and_commands_before_the_bot_saw_the_head_do_not_count() -> None:
    # committed at 03:00 (commit date), pushed later: the bot's first check on it started at 04:00
    timeline = (committed(HEAD), labeled(11, "uat-passed", "qa", at="2026-11-26T03:30:00Z"))
    plan = plan_gate(facts(("uat-passed",), timeline))
    assert plan.remove_labels == ["uat-passed"] and len(plan.replies) == 1
    reply = plan.replies[0]
    # addressed to whoever gave it, saying exactly why and what to do (not "new head commit")
    assert reply.to == "qa" and "New head commit" not in reply.body
    assert "you added at 2026-11-26T03:30:00Z" in reply.body
    assert f"first saw head commit bbbbbbb at {SEEN}" in reply.body and "`/uat passed`" in reply.body
    assert plan.record is not None and plan.record.uat is None and not plan.record.reset_notice
    # the bot never saw this head (no check run yet): nothing can be for it
    plan = plan_gate(facts(("uat-passed",), ON_HEAD, existing=None))
    assert plan.remove_labels == ["uat-passed"]
    assert [r.to for r in plan.replies] == [
        "qa"
    ] and "first saw head commit bbbbbbb only now" in plan.replies[0].body
    early = CommentFacts(
        100, "qa", "/uat passed", "2026-11-26T03:59:59Z", tuple(parse_commands("/uat passed"))
    )
    plan = plan_gate(facts(), [early])
    assert plan.add_labels == [] and "before the bot saw the head commit" in plan.replies[0].body


def test_githubs_time_of_the_push_decides_not_the_bots_first_look() -> None:
    # The bot first looked at the head at 04:00 (it was down); GitHub's record says the head became
    # the pull request's head at 03:10 (its opening or the head branch's push): what followed counts.
    arrived = "2026-11-26T03:10:00Z"
    during = CommentFacts(
        100, "qa", "/uat passed", "2026-11-26T03:20:00Z", tuple(parse_commands("/uat passed"))
    )
    plan = plan_gate(facts(head_arrived_at=arrived), [during])
    assert plan.add_labels == ["uat-passed"] and plan.reactions == [(100, "+1")]
    label = (committed(HEAD), labeled(11, "uat-passed", "qa", at="2026-11-26T03:30:00Z"))
    plan = plan_gate(facts(("uat-passed",), label, head_arrived_at=arrived))
    assert plan.remove_labels == [] and plan.record is not None and plan.record.uat is not None
    # … even when the bot had never looked at the head yet
    plan = plan_gate(facts(existing=None, head_arrived_at=arrived), [during])
    assert plan.add_labels == ["uat-passed"]

    # Before the push (the commit's own date placing it earlier in the timeline proves nothing):
    # the command is refused, saying why, and the label counts as given on an earlier head.
    late = "2026-11-26T03:40:00Z"
    plan = plan_gate(facts(head_arrived_at=late), [during])
    assert plan.add_labels == [] and "before head commit bbbbbbb became this pull request's head" in (
        plan.replies[0].body
    )
    plan = plan_gate(facts(("uat-passed",), label, head_arrived_at=late))
    assert plan.remove_labels == ["uat-passed"] and plan.record is not None and plan.record.uat is None
    assert any("New head commit bbbbbbb" in r.body for r in plan.replies)

    # A reopening after the push moves the point on: a closed pull request does not follow its branch.
    reopened = (committed(HEAD), TimelineItem("reopened", id=5, actor="dev", created_at=late))
    plan = plan_gate(facts(timeline=reopened, head_arrived_at=arrived), [during])
    assert plan.add_labels == []
    # So does a retarget, as with the bot's own first look.
    retarget = (committed(HEAD), TimelineItem("base_ref_changed", id=6, actor="dev", created_at=late))
    plan = plan_gate(facts(timeline=retarget, head_arrived_at=arrived), [during])
    assert plan.add_labels == []


def test_githubs_record_of_the_push_is_asked_for_only_when_something_is_judged_by_it() -> None:
    from bot.core.gate import needs_head_arrival

    assert needs_head_arrival(facts(), [comment(100, "qa", "/uat passed")])
    assert needs_head_arrival(facts(existing=None), [comment(100, "releaser", "/approve")])
    assert not needs_head_arrival(facts(), [comment(100, "qa", "/uat passed", handled=True)])
    assert not needs_head_arrival(facts(), [comment(100, "qa", "/hold")])
    assert not needs_head_arrival(facts(), [])
    # a person's label not in the record yet is judged by it; one recorded (or off) is not
    assert needs_head_arrival(facts(("uat-passed",), ON_HEAD), [])
    assert not needs_head_arrival(facts((), ON_HEAD), [])
    recorded = GateRecord(HEAD, uat=Approval("qa", "2026-11-26T05:00:00Z", "label", event=11))
    assert not needs_head_arrival(facts(("uat-passed",), ON_HEAD, record=recorded), [])
    bots = (committed(HEAD), labeled(11, "uat-passed", BOT))
    assert not needs_head_arrival(facts(("uat-passed",), bots), [])


def test_hold_unhold_and_milestone() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD), [comment(100, "dev", "/hold")])  # the author may hold
    assert plan.add_labels == ["hold"] and plan.check.conclusion == "failure"  # type: ignore[union-attr]
    plan = plan_gate(facts((*BOTH, "hold"), ON_HEAD), [comment(100, "qa", "/unhold")])
    assert plan.remove_labels == ["hold"] and plan.check.conclusion == "success"  # type: ignore[union-attr]
    plan = plan_gate(facts(BOTH, ON_HEAD, milestone=None), [comment(100, "releaser", "/milestone 1.4.0")])
    assert plan.milestone == V140 and plan.check.conclusion == "success"  # type: ignore[union-attr]
    plan = plan_gate(facts(BOTH, ON_HEAD), [comment(100, "releaser", "/milestone clear")])
    assert plan.milestone is None and plan.check.conclusion == "failure"  # type: ignore[union-attr]


def test_uat_failed_records_reason_and_removes_label() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD), [comment(100, "qa", "/uat failed login <b>broken</b> @team")])
    assert plan.remove_labels == ["uat-passed"]
    summary = plan.check.summary  # type: ignore[union-attr]
    assert "failed by @qa" in summary and "&lt;b&gt;broken" in summary and "@\u200bteam" in summary
    record = parse(summary)
    assert record is not None and record.uat_failed is not None and record.uat is None


def test_command_supersedes_an_unauthorized_label() -> None:
    timeline = (committed(HEAD), labeled(11, "uat-passed", "triager"))
    plan = plan_gate(facts(("uat-passed",), timeline), [comment(100, "qa", "/uat passed")])
    assert plan.remove_labels == [] and plan.add_labels == [] and plan.replies == []
    assert plan.record is not None and plan.record.uat is not None and plan.record.uat.event == 11
    # next reconcile: the record is bound to the label's event, so it counts
    again = plan_gate(facts(("uat-passed",), timeline, record=plan.record))
    assert again.remove_labels == [] and again.record.uat is not None  # type: ignore[union-attr]


def test_command_on_new_head_rescues_a_stale_label() -> None:
    timeline = (committed(OLD), labeled(11, "uat-passed", "qa"), committed(HEAD))
    plan = plan_gate(facts(("uat-passed",), timeline), [comment(100, "qa", "/uat passed")])
    assert plan.remove_labels == []
    assert plan.record is not None and plan.record.uat is not None and plan.record.uat.by == "qa"


def test_help_lists_commands_from_live_config() -> None:
    gate = replace(facts(), rules=role_rules({"roles": {"qa": {"teams": ["acme/qa"]}}}, "acme"))
    plan = plan_gate(gate, [comment(100, "outsider", "/help")])
    assert plan.reactions == [(100, "+1")]
    assert "members of @acme/qa" in plan.replies[0].body and "`/approve cancel`" in plan.replies[0].body


def test_approval_from_reviews() -> None:
    reviews = (
        Review(1, "releaser", "APPROVED", HEAD, "2026-11-26T05:30:00Z"),
        Review(2, "qa", "APPROVED", HEAD),
    )
    timeline = (committed(HEAD), labeled(11, "uat-passed", "qa"))
    off = plan_gate(facts(("uat-passed",), timeline, reviews=reviews))
    assert off.check.conclusion == "failure"  # type: ignore[union-attr]
    on = plan_gate(
        facts(("uat-passed",), timeline, reviews=reviews, settings=gate_settings(approval_from_reviews=True))
    )
    assert on.check.conclusion == "success"  # type: ignore[union-attr]
    old = (Review(1, "releaser", "APPROVED", OLD),)
    stale = plan_gate(
        facts(("uat-passed",), timeline, reviews=old, settings=gate_settings(approval_from_reviews=True))
    )
    assert stale.check.conclusion == "failure"  # type: ignore[union-attr]


# --- not gated, closed, merge groups ----------------------------------------------------------


@pytest.mark.parametrize(
    ("branch", "patterns", "gated"),
    [
        ("release/1.4", ("release/*",), True),
        ("release/1.4/x", ("release/*",), False),
        ("release/1.4/x", ("release/**",), True),
        ("main", ("release/*",), False),
        ("hotfix-2", ("release/*", "hotfix-?"), True),
    ],
)
def test_release_branch_patterns(branch: str, patterns: tuple[str, ...], gated: bool) -> None:
    assert is_release_branch(branch, patterns) is gated


def test_retargeted_off_a_release_branch_gets_neutral_only_if_checked_before() -> None:
    assert plan_gate(facts(base="main", existing=None)).check is None
    existing = ExistingCheck(1, "completed", "failure", "t", "s", SEEN)
    plan = plan_gate(facts(base="main", existing=existing))
    assert plan.check is not None and plan.check.conclusion == "neutral" and "`main`" in plan.check.title


def test_merged_past_failing_gate_is_audited_once() -> None:
    gate = facts(record=GateRecord(HEAD))
    gate = replace(gate, pull=replace(gate.pull, state="closed", merged=True))
    plan = plan_gate(gate)
    assert plan.audit is not None and plan.audit.number == 7 and plan.audit.kind == "bypass_merge"
    assert len(plan.replies) == 1 and "Audit" in plan.replies[0].body
    assert plan.check is not None and parse(plan.check.summary).audited  # type: ignore[union-attr]
    audited = replace(gate, existing=ExistingCheck(9, "completed", "failure", "t", plan.check.summary, SEEN))
    assert not plan_gate(audited).has_writes


def test_merged_with_green_gate_is_not_audited() -> None:
    gate = facts(
        existing=ExistingCheck(9, "completed", "success", "t", marker(GateRecord(HEAD), PASSED), SEEN)
    )
    gate = replace(gate, pull=replace(gate.pull, state="closed", merged=True))
    assert plan_gate(gate).audit is None


def test_merge_group_check() -> None:
    ok = plan_gate(facts(BOTH, ON_HEAD)).check
    bad = plan_gate(facts()).check
    assert merge_group_check([(1, ok), (2, ok)], HEAD).conclusion == "success"
    group = merge_group_check([(1, ok), (2, bad)], HEAD)
    assert group.conclusion == "failure" and "#2" in group.title
    assert merge_group_check([], HEAD).conclusion == "failure"


def test_record_marker_cannot_be_closed_by_user_text() -> None:
    record = GateRecord(HEAD, uat_failed=None, uat=Approval("qa", "t", "command"))
    text = marker(record)
    assert text.count("-->") == 1
    assert parse("garbage <!-- release-bot:gate-record:{not json} -->") is None
    assert parse(text) == record


def test_commands_outside_release_branches_are_left_to_other_bots() -> None:
    plan = plan_gate(
        facts(base="main", existing=None),
        [comment(100, "releaser", "/approve"), comment(101, "dev", "/help")],
    )
    assert plan.check is None and plan.add_labels == []
    assert (
        plan.reactions == [(101, "+1")] and len(plan.replies) == 1 and "`/uat passed`" in plan.replies[0].body
    )


# --- labels given while the bot was down, holds lifted by removing the label ------------------

DOWN = "2026-11-26T03:30:00Z"  # before SEEN: the bot's first check run on the head started later


def test_unproven_label_stays_without_reset_on_push_but_does_not_count() -> None:
    timeline = (
        committed(HEAD),
        labeled(11, "uat-passed", "qa", at=DOWN),
        labeled(12, "release-approved", "releaser"),
    )
    plan = plan_gate(facts(BOTH, timeline, settings=gate_settings(reset_on_push=False)))
    assert plan.remove_labels == [] and plan.replies == []
    assert plan.check is not None and plan.check.title == "Missing: UAT"
    assert "`uat-passed` is on but was not given for bbbbbbb" in plan.check.summary


def test_command_rescues_an_unproven_label() -> None:
    timeline = (committed(HEAD), labeled(11, "uat-passed", "qa", at=DOWN))
    plan = plan_gate(facts(("uat-passed",), timeline), [comment(100, "qa", "/uat passed")])
    assert plan.remove_labels == [] and plan.replies == [] and plan.reactions == [(100, "+1")]
    assert plan.record is not None and plan.record.uat is not None and plan.record.uat.event == 11
    again = plan_gate(facts(("uat-passed",), timeline, record=plan.record))
    assert again.remove_labels == [] and again.record.uat is not None  # type: ignore[union-attr]


def test_unallowed_label_is_judged_whatever_commit_it_was_given_on() -> None:
    # added while the bot was down, before it saw the head, and on an earlier head: the reply
    # names the rule that applies (who may give UAT), not a reset
    for timeline in (
        (committed(HEAD), labeled(11, "uat-passed", "triager", at=DOWN)),
        (committed(OLD), labeled(11, "uat-passed", "triager"), committed(HEAD)),
    ):
        plan = plan_gate(facts(("uat-passed",), timeline))
        assert plan.remove_labels == ["uat-passed"] and len(plan.replies) == 1
        assert plan.replies[0].to == "triager" and "UAT may only be given by QA" in plan.replies[0].body
        assert not plan.record.reset_notice  # type: ignore[union-attr]


def unlabeled(event_id: int, label: str, actor: str) -> TimelineItem:
    return TimelineItem(
        kind="unlabeled", id=event_id, actor=actor, label=label, created_at="2026-11-26T05:10:00Z"
    )


HELD = (*ON_HEAD, labeled(20, "hold", "qa"))


@pytest.mark.parametrize("remover", ["triager", "outsider"])
def test_hold_removed_by_someone_not_allowed_is_put_back(remover: str) -> None:
    plan = plan_gate(facts(BOTH, (*HELD, unlabeled(21, "hold", remover))))
    assert plan.add_labels == ["hold"] and plan.remove_labels == []
    assert (
        plan.check is not None
        and plan.check.conclusion == "failure"
        and plan.check.title == "Missing: on hold"
    )
    assert len(plan.replies) == 1 and plan.replies[0].to == remover
    assert "`hold` label was put back" in plan.replies[0].body and "`/unhold`" in plan.replies[0].body


def test_hold_removed_by_qa_is_recorded_and_not_looked_up_again() -> None:
    timeline = (*HELD, unlabeled(21, "hold", "qa"))
    plan = plan_gate(facts(BOTH, timeline))
    assert not plan.has_writes and plan.check.conclusion == "success"  # type: ignore[union-attr]
    assert plan.record is not None and plan.record.hold_lifted == 21
    assert parse(plan.check.summary) == plan.record  # type: ignore[union-attr]
    # next reconcile: without any role known, the recorded lift still holds
    steady = plan_gate(replace(facts(BOTH, timeline, record=plan.record), roles={}))
    assert not steady.has_writes and steady.check.conclusion == "success"  # type: ignore[union-attr]


def test_hold_lifted_by_the_bot_or_on_again_needs_no_judgement() -> None:
    from bot.core.gate import hold_lift_to_judge

    assert hold_lift_to_judge(facts(BOTH, (*HELD, unlabeled(21, "hold", BOT))), None) is None
    assert hold_lift_to_judge(facts((*BOTH, "hold"), (*HELD, unlabeled(21, "hold", "triager"))), None) is None
    lifted = hold_lift_to_judge(facts(BOTH, (*HELD, unlabeled(21, "hold", "triager"))), None)
    assert lifted is not None and lifted.actor == "triager"


def test_unhold_in_the_same_reconcile_supersedes_putting_hold_back() -> None:
    plan = plan_gate(
        facts(BOTH, (*HELD, unlabeled(21, "hold", "triager"))), [comment(100, "releaser", "/unhold")]
    )
    assert plan.add_labels == [] and plan.replies == [] and plan.reactions == [(100, "+1")]
    assert plan.check is not None and plan.check.conclusion == "success"


def test_audit_reply_carries_a_marker_and_keeps_json_escapes() -> None:
    # a record whose JSON holds backslash escapes (a UAT failure reason with quotes and '<')
    record = GateRecord(HEAD, uat_failed=UatFailure("qa", "t", 'said "no" <b>'))
    gate = facts(record=record)
    gate = replace(gate, pull=replace(gate.pull, state="closed", merged=True))
    plan = plan_gate(gate)
    assert len(plan.replies) == 1
    marker = plan.replies[0].marker
    assert marker == f"<!-- release-bot:gate-audit:{HEAD} -->" and plan.replies[0].body.endswith(marker)
    kept = parse(plan.check.summary)  # type: ignore[union-attr]
    assert kept is not None and kept.audited and kept.uat_failed == record.uat_failed


# --- one commit, several pull requests (issue: decoys, twins, retargets) ----------------------


def twin_section(conclusion: str = "failure", number: int = 8, base: str = "release/1.4") -> PullSection:
    verdict = PullVerdict(
        conclusion, "Missing: UAT, approval" if conclusion == "failure" else "Ready", "its list"
    )  # type: ignore[arg-type]
    return PullSection(number, base, V140.number, GateRecord(HEAD), verdict)


def test_a_failing_twin_fails_the_commit_but_keeps_this_pull_requests_sign_offs() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD, others=(twin_section(),)))
    assert plan.check is not None and plan.check.conclusion == "failure"
    assert plan.check.title == "Missing: #8 uat, approval"
    assert plan.own is not None and plan.own.conclusion == "success"
    assert plan.remove_labels == [] and plan.replies == []
    assert (
        "### #7 into `release/1.4`" in plan.check.summary
        and "### #8 into `release/1.4`" in plan.check.summary
    )
    sections = {s.number: s for s in parse_commit_record(plan.check.summary, HEAD).pulls}
    assert set(sections) == {7, 8} and sections[7].record.uat is not None


def test_every_pull_request_passing_passes_the_commit() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD, others=(twin_section("success"),)))
    assert (
        plan.check is not None
        and plan.check.conclusion == "success"
        and "all 2 pull requests" in plan.check.title
    )


def test_an_unevaluated_twin_counts_as_failing() -> None:
    unknown = PullSection(8, "release/1.3", None, GateRecord(HEAD))
    plan = plan_gate(facts(BOTH, ON_HEAD, others=(unknown,)))
    assert (
        plan.check is not None
        and plan.check.conclusion == "failure"
        and "not evaluated yet" in plan.check.title
    )


def test_a_decoy_that_is_not_gated_writes_the_others_gate_not_neutral() -> None:
    gated = CommitRecord(HEAD, (twin_section(number=7),))
    existing = ExistingCheck(
        9, "completed", "failure", "Missing: UAT, approval", "its list\n\n" + gated.marker(), SEEN
    )
    decoy = facts(base="main", existing=existing, others=(twin_section(number=7),))
    decoy = replace(decoy, pull=replace(decoy.pull, number=8))
    plan = plan_gate(decoy)
    assert plan.check is not None and plan.check.conclusion == "failure"
    assert plan.check.title == "Missing: UAT, approval"


def test_a_section_for_another_base_branch_is_no_record_for_this_one() -> None:
    record = GateRecord(
        HEAD, uat=Approval("qa", "t", "command"), approval=Approval("releaser", "t", "command")
    )
    summary = "s\n\n" + marker(record, base="release/1.3")
    assert parse(summary) is None  # the pull request now targets release/1.4
    retarget = TimelineItem(kind="base_ref_changed", id=30, actor="dev", created_at="2026-11-26T07:00:00Z")
    gate = facts(
        BOTH, (*ON_HEAD, retarget), existing=ExistingCheck(9, "completed", "success", "t", summary, SEEN)
    )
    plan = plan_gate(gate)
    assert plan.check is not None and plan.check.conclusion == "failure"
    assert sorted(plan.remove_labels) == ["release-approved", "uat-passed"]
    assert any("now targets `release/1.4`" in r.body for r in plan.replies)


def test_labels_given_after_a_retarget_count() -> None:
    retarget = TimelineItem(kind="base_ref_changed", id=30, actor="dev", created_at="2026-11-26T04:30:00Z")
    timeline = (
        committed(HEAD),
        retarget,
        labeled(11, "uat-passed", "qa"),
        labeled(12, "release-approved", "releaser"),
    )
    plan = plan_gate(facts(BOTH, timeline))
    assert plan.check is not None and plan.check.conclusion == "success", plan.check.summary


def test_a_milestone_set_by_a_developer_does_not_count_until_a_release_manager_vouches() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD, milestoned_by="dev"))
    assert plan.check is not None and plan.check.title == "Missing: milestone"
    assert "set by @dev, who is not a release manager" in plan.check.summary
    vouched = plan_gate(
        facts(BOTH, ON_HEAD, milestoned_by="dev"), [comment(100, "releaser", "/milestone v1.4.0")]
    )
    assert vouched.check is not None and vouched.check.conclusion == "success"
    assert vouched.record is not None and vouched.record.milestone_by is not None
    assert vouched.record.milestone_by.event == 5  # bound to the event that put it there
    unknown = plan_gate(facts(BOTH, ON_HEAD, milestoned_by=None))
    assert unknown.check is not None and "set by someone unknown" in unknown.check.summary


def test_the_bots_own_milestone_counts() -> None:
    plan = plan_gate(facts(BOTH, ON_HEAD, milestoned_by=BOT))
    assert plan.check is not None and plan.check.conclusion == "success"


def test_an_edited_comment_runs_no_command() -> None:
    edited = replace(comment(100, "releaser", "/approve"), edited=True)
    plan = plan_gate(facts(), [edited])
    assert plan.add_labels == [] and plan.reactions == [(100, "confused")]
    assert len(plan.replies) == 1 and "was edited after it was posted" in plan.replies[0].body


def test_a_milestone_of_another_repository_is_not_found() -> None:
    plan = plan_gate(facts(), [comment(100, "releaser", "/milestone other/repo#3")])
    assert plan.milestone == "keep"
    assert any("there is no open milestone" in r.body for r in plan.replies)


def test_a_v1_record_counts_for_nothing() -> None:
    old = (
        '<!-- release-bot:gate-record:{"v":1,"sha":"'
        + HEAD
        + '","uat":{"by":"qa","at":"t","via":"command"}} -->'
    )
    assert parse(old) is None


def test_at_most_eight_pull_requests_share_a_commit() -> None:
    many = tuple(twin_section("success", number=n) for n in range(8, 20))
    plan = plan_gate(facts(BOTH, ON_HEAD, others=many))
    assert plan.check is not None and plan.check.conclusion == "failure"
    assert len(plan.check.summary) < 65_535
