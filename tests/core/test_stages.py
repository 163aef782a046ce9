"""The life cycle as tables of facts -> stage states (pure, no I/O)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.stages import (
    BUILD_TEST,
    CURRENT,
    DEPLOY,
    DONE,
    FUTURE_PLANNING,
    IDENTIFY_NEEDS,
    MONITOR,
    PENDING,
    PLAN,
    PREPARE,
    SKIPPED,
    STAGES,
    STRICT,
    UAT,
    StageFacts,
    StageRecord,
    UatVerdict,
    advance,
    record_uat,
    request_stage,
    stage_from_name,
    stage_states,
)

TODAY = "2026-11-26"


def run(facts: StageFacts, record: StageRecord | None = None, today: str = TODAY) -> StageRecord:
    return advance(record or StageRecord(), facts, today).record


def states(record: StageRecord) -> str:
    """Compact: one letter per stage (d)one (c)urrent (s)kipped (p)ending."""
    return "".join(stage_states(record)[s][0] for s in STAGES)


# facts of a fresh release -> the stage states, as a table
@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (StageFacts(), "cppppppp"),
        (StageFacts(has_due_date=True), "dcpppppp"),
        (StageFacts(branch_exists=True), "dscppppp"),  # patch release: branch already there
        (StageFacts(has_due_date=True, branch_exists=True), "ddcppppp"),
        (StageFacts(has_due_date=True, branch_exists=True, candidates=(1,)), "dddcpppp"),
        (StageFacts(branch_exists=True, candidates=(1, 2), final_tag=True), "dsddscpp"),
        (StageFacts(final_tag=True, deployed=True), "dssssdcp"),
        (StageFacts(milestone_open=False), "dssssssc"),
    ],
)
def test_fresh_release_table(facts: StageFacts, expected: str) -> None:
    assert states(run(facts)) == expected


def test_full_life_cycle_step_by_step_with_comments_due_once() -> None:
    steps = [
        (StageFacts(milestone_created="2026-11-01"), IDENTIFY_NEEDS, (IDENTIFY_NEEDS,)),
        (StageFacts(has_due_date=True), PLAN, (PLAN,)),
        (StageFacts(has_due_date=True), PLAN, ()),  # replay: nothing new
        (StageFacts(has_due_date=True, branch_exists=True), BUILD_TEST, (BUILD_TEST,)),
        (StageFacts(has_due_date=True, branch_exists=True, candidates=(1,)), UAT, (UAT,)),
    ]
    record = StageRecord()
    for facts, stage, begun in steps:
        out = advance(record, facts, TODAY)
        assert out.record.current == stage
        assert out.begun == begun
        record = out.record
    assert record.began[IDENTIFY_NEEDS] == "2026-11-01"
    facts = StageFacts(has_due_date=True, branch_exists=True, candidates=(1,))
    decision = record_uat(record, facts, passed=True, by="qa", today=TODAY)
    assert decision.accepted
    out = advance(decision.record, facts, TODAY)
    assert out.record.current == PREPARE and out.begun == (PREPARE,)
    facts = StageFacts(has_due_date=True, branch_exists=True, candidates=(1,), final_tag=True)
    out = advance(out.record, facts, TODAY)
    assert out.record.current == DEPLOY
    facts = StageFacts(
        has_due_date=True,
        branch_exists=True,
        candidates=(1,),
        final_tag=True,
        complete_checklists=frozenset({DEPLOY}),
    )
    # A ticked Deploy checklist is no trigger: GitHub does not say who ticked the boxes.
    assert advance(out.record, facts, TODAY).record.current == DEPLOY
    facts = replace(facts, deployed=True)  # a successful production deployment of the tag is one
    out = advance(out.record, facts, TODAY)
    assert out.record.current == MONITOR
    facts = StageFacts(
        milestone_open=False, has_due_date=True, branch_exists=True, candidates=(1,), final_tag=True
    )
    out = advance(out.record, facts, "2026-12-02")
    assert out.record.current == FUTURE_PLANNING
    assert states(out.record) == "dddddddc"
    assert out.record.began[FUTURE_PLANNING] == "2026-12-02"
    # Idempotent: the same facts again change nothing.
    again = advance(out.record, facts, "2026-12-09")
    assert again.record == out.record and again.begun == ()


def test_stages_never_move_backwards_on_their_own() -> None:
    record = run(StageFacts(branch_exists=True, candidates=(1,)))
    assert record.current == UAT
    # The branch and tag are deleted: the release stays in UAT.
    out = advance(record, StageFacts(), TODAY)
    assert out.record.current == UAT and out.begun == ()


def test_new_candidate_after_failed_uat_returns_to_uat_and_needs_a_new_signoff() -> None:
    f1 = StageFacts(branch_exists=True, candidates=(1,))
    record = run(f1)
    failed = record_uat(record, f1, passed=False, by="qa", today=TODAY, reason="login broken")
    assert failed.accepted and failed.record.uat == UatVerdict(False, 1, "qa", TODAY, "login broken")
    record = run(f1, failed.record)
    assert record.current == UAT
    f2 = StageFacts(branch_exists=True, candidates=(1, 2))
    record = run(f2, record)
    assert record.current == UAT and record.candidate == 2
    record = run(f2, record_uat(record, f2, passed=True, by="qa", today=TODAY).record)
    assert record.current == PREPARE and record.uat.rc == 2


def test_signoff_holds_for_the_latest_candidate_only() -> None:
    f1 = StageFacts(branch_exists=True, candidates=(1,))
    record = run(f1, record_uat(run(f1), f1, passed=True, by="qa", today=TODAY).record)
    assert record.current == PREPARE
    out = advance(record, StageFacts(branch_exists=True, candidates=(1, 2)), TODAY)
    assert out.record.current == UAT and out.returned_to_uat
    assert PREPARE not in out.record.began
    assert stage_states(out.record)[PREPARE] == PENDING


def test_uat_failed_after_signoff_withdraws_it() -> None:
    f1 = StageFacts(branch_exists=True, candidates=(1,))
    record = run(f1, record_uat(run(f1), f1, passed=True, by="qa", today=TODAY).record)
    decision = record_uat(record, f1, passed=False, by="qa", today=TODAY, reason="crash")
    assert decision.record.current == UAT
    assert run(f1, decision.record).current == UAT


def test_strict_mode_holds_until_checklist_ticked() -> None:
    record = run(StageFacts(mode=STRICT))
    out = advance(record, StageFacts(mode=STRICT, has_due_date=True, branch_exists=True), TODAY)
    assert out.record.current == IDENTIFY_NEEDS and out.held and "Identify Needs" in out.held
    out = advance(
        record,
        StageFacts(
            mode=STRICT,
            has_due_date=True,
            branch_exists=True,
            complete_checklists=frozenset({IDENTIFY_NEEDS}),
        ),
        TODAY,
    )
    # One stage at a time: Plan (its trigger holds) begins and is held in turn; Build & Test waits.
    assert out.record.current == PLAN and out.record.skipped == ()
    assert out.held and "stays in Plan Release" in out.held and "Build & Test" in out.held
    # Closing the milestone is not held.
    assert run(StageFacts(mode=STRICT, milestone_open=False), record).current == FUTURE_PLANNING


@pytest.mark.parametrize(
    "ticked, expected, skipped, held_in",
    [
        # Facts point to Deploy (branch, candidate, final tag; no due date, no UAT sign-off).
        ((), IDENTIFY_NEEDS, (), "Identify Needs"),
        ((IDENTIFY_NEEDS,), BUILD_TEST, (PLAN,), "Build & Test"),  # Plan's trigger never held: skipped
        ((IDENTIFY_NEEDS, BUILD_TEST), UAT, (PLAN,), "UAT"),
        ((IDENTIFY_NEEDS, BUILD_TEST, UAT), DEPLOY, (PLAN, PREPARE), None),  # no sign-off: Prepare skipped
    ],
)
def test_strict_mode_walks_one_triggered_stage_per_ticked_checklist(
    ticked, expected, skipped, held_in
) -> None:
    record = run(StageFacts(mode=STRICT))
    for n in range(len(ticked) + 1):
        facts = StageFacts(
            mode=STRICT,
            branch_exists=True,
            candidates=(1,),
            final_tag=True,
            complete_checklists=frozenset(ticked[:n]),
        )
        out = advance(record, facts, TODAY)
        record = out.record
    assert record.current == expected and record.skipped == skipped
    if held_in is None:
        assert out.held is None
    else:
        assert out.held and f"stays in {held_in} " in out.held and "point to Deploy" in out.held
    assert advance(record, facts, TODAY).record == record  # idempotent


def test_strict_mode_hand_request_jumps_where_it_asked() -> None:
    facts = StageFacts(mode=STRICT, complete_checklists=frozenset({IDENTIFY_NEEDS}))
    record = run(facts)
    decision = request_stage(record, facts, "uat")
    assert decision.accepted
    out = advance(decision.record, facts, TODAY)
    assert out.record.current == UAT and out.held is None


def test_stage_command_forward_only_and_strict() -> None:
    record = run(StageFacts())
    assert not request_stage(record, StageFacts(), "nonsense").accepted
    ok = request_stage(record, StageFacts(), "plan")
    assert ok.accepted and ok.record.manual == PLAN
    assert run(StageFacts(), ok.record).current == PLAN
    later = run(StageFacts(branch_exists=True), run(StageFacts(), ok.record))
    refused = request_stage(later, StageFacts(branch_exists=True), "plan")
    assert not refused.accepted and "backwards" in refused.reply
    strict = request_stage(record, StageFacts(mode=STRICT), "monitor")
    assert not strict.accepted and "Strict" in strict.reply
    monitor = request_stage(later, StageFacts(branch_exists=True), "Monitor")
    assert run(StageFacts(branch_exists=True), monitor.record).current == MONITOR


def test_uat_commands_refused_without_candidate_or_reason() -> None:
    record = run(StageFacts(branch_exists=True))
    assert not record_uat(record, StageFacts(branch_exists=True), True, "qa", TODAY).accepted
    assert not record_uat(record, StageFacts(candidates=(1,)), False, "qa", TODAY, "").accepted
    # Heard in Deploy (production deployments wait for the sign-off, docs/deployments.md), not after.
    tagged = StageFacts(final_tag=True, candidates=(1,))
    in_deploy = run(tagged)
    assert in_deploy.current == DEPLOY
    signed = record_uat(in_deploy, tagged, True, "qa", TODAY)
    assert signed.accepted and signed.record.uat is not None and signed.record.uat.rc == 1
    assert signed.record.current == DEPLOY
    deployed = StageFacts(final_tag=True, candidates=(1,), deployed=True)
    monitoring = run(deployed)
    assert "over" in record_uat(monitoring, deployed, True, "qa", TODAY).reply


def test_record_round_trips_and_tolerates_garbage() -> None:
    record = run(StageFacts(branch_exists=True, candidates=(3,)))
    record = record_uat(record, StageFacts(candidates=(3,)), False, "qa", TODAY, "x").record
    assert StageRecord.from_json(record.to_json()) == record
    assert StageRecord.from_json({"current": "bogus", "began": {"nope": 1}, "uat": "x"}) == StageRecord()
    assert StageRecord.from_json(None) == StageRecord()


@pytest.mark.parametrize(
    ("name", "stage"),
    [
        ("plan", PLAN),
        ("Plan Release", PLAN),
        ("build & test", BUILD_TEST),
        ("build_test", BUILD_TEST),
        ("UAT", UAT),
        ("future-planning", FUTURE_PLANNING),
        ("deploy", DEPLOY),
        ("xyz", None),
        ("", None),
    ],
)
def test_stage_names(name: str, stage: str | None) -> None:
    assert stage_from_name(name) == stage


def test_states_letters_cover_all() -> None:
    assert {DONE, CURRENT, SKIPPED, PENDING} == {"done", "current", "skipped", "pending"}
