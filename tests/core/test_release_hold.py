"""``/hold [reason]`` and ``/unhold`` on the tracking issue: recorded in the release record (only the
App writes it), shown on the tracking issue, and read by the deployment decision."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_deploy_decision import GOOD, asked, facts, state
from test_release_plan import AGILE, RUN, TODAY, comment, plan, recorded, tracking_issue
from test_release_plan import facts as release_facts

from bot.core.deploy import decide_deployment, release_at_ref
from bot.core.deploy.settings import EnvironmentRule
from bot.core.release_plan import plan_release, record_json
from bot.core.release_types import RoleAnswer, Wants
from bot.core.stages import BUILD_TEST, IDENTIFY_NEEDS, ReleaseHold, StageRecord

IN_BUILD = recorded(BUILD_TEST, IDENTIFY_NEEDS, BUILD_TEST)
HELD = replace(IN_BUILD, stages=replace(IN_BUILD.stages, hold=ReleaseHold("qa", "2026-11-20", "smoke <b>")))


def _run(state, body: str, author: str, holds_qa: bool, holds_rm: bool, cid: int = 300):
    f = release_facts(
        state=state,
        branch=True,
        tracking=tracking_issue(),
        comments=(comment(cid, body, author),),
        roles=(RoleAnswer(author, "qa", holds_qa), RoleAnswer(author, "release_managers", holds_rm)),
    )
    return plan(f, AGILE)


@pytest.mark.parametrize(
    ("case", "state", "body", "holds_qa", "holds_rm", "held_by", "reply"),
    [
        ("QA holds", IN_BUILD, "/hold smoke tests fail", True, False, "dev", None),
        ("a release manager holds", IN_BUILD, "/hold", False, True, "dev", None),
        ("dev may not", IN_BUILD, "/hold", False, False, None, "is for QA or release managers"),
        ("held already", HELD, "/hold again", True, False, "qa", "already on hold (since 2026-11-20)"),
        ("unhold lifts it", HELD, "/unhold", True, False, None, None),
        ("dev may not unhold", HELD, "/unhold", False, False, "qa", "is for QA or release managers"),
        ("nothing to unhold", IN_BUILD, "/unhold", False, True, None, "not on hold"),
    ],
)
def test_hold_commands(case, state, body, holds_qa, holds_rm, held_by, reply) -> None:
    p = _run(state, body, "dev", holds_qa, holds_rm)
    hold = p.state.stages.hold
    assert (hold.by if hold else None) == held_by, case
    (answer,) = p.answers
    assert answer.accepted == (reply is None), case
    assert (reply is None and answer.reply is None) or (reply in (answer.reply or "")), (case, answer.reply)


def test_a_hold_is_recorded_shown_escaped_and_absent_otherwise() -> None:
    p = _run(IN_BUILD, "/hold smoke <b>fails</b>", "qa", True, False)
    assert p.state.stages.hold == ReleaseHold("qa", "2026-11-26", "smoke <b>fails</b>")
    body = p.body(p.state, None, 7)
    row = "| On hold | ⏸️ since 2026-11-26 by @\u200bqa: smoke &lt;b&gt;fails&lt;/b&gt; (`/unhold` lifts it) |"
    assert row in body
    assert StageRecord.from_json(p.state.stages.to_json()) == p.state.stages
    lifted = _run(p.state, "/unhold", "qa", True, False, cid=301)
    assert '"hold"' not in record_json(lifted.state)  # a record without a hold keeps its bytes
    assert "On hold" not in lifted.body(lifted.state, None, 7)


def test_the_roles_of_hold_and_unhold_are_looked_up_first() -> None:
    for recorded_state, body in ((IN_BUILD, "/hold"), (HELD, "/unhold")):
        said = (comment(300, body, "qa"),)
        f = release_facts(state=recorded_state, branch=True, tracking=tracking_issue(), comments=said)
        wants = plan_release(f, recorded_state, AGILE, TODAY, RUN)
        assert wants == Wants(roles=frozenset({("qa", "qa"), ("qa", "release_managers")})), body


def test_a_forged_hold_in_the_record_is_dropped() -> None:
    assert StageRecord.from_json({"current": "uat", "hold": {"by": ""}}).hold is None
    assert StageRecord.from_json({"current": "uat", "hold": "yes"}).hold is None


def test_a_held_release_is_refused_production_and_unhold_lets_it_through() -> None:
    production = EnvironmentRule("production", requires=("uat",))
    hold = ReleaseHold("qa", "2026-12-01", "db <migration>")
    held = replace(state(), stages=replace(state().stages, hold=hold))
    at = release_at_ref(facts(), held, asked(), hold_label="hold", candidate_commit=GOOD)
    decision = decide_deployment(asked(), production, at, config_valid=True)
    assert not decision.approved
    assert any("`/hold` by @\u200bqa on 2026-12-01 (db &lt;migration&gt;)" in r for r in decision.reasons)
    free = release_at_ref(facts(), state(), asked(), hold_label="hold", candidate_commit=GOOD)
    assert decide_deployment(asked(), production, free, config_valid=True).approved
