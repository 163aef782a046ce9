"""Checklist items that are facts: declared in the stage definitions, ticked by the bot with who and when."""

from __future__ import annotations

from bot.core.checklist_facts import FactTick, KnownFacts, apply_fact_ticks, ticks_of
from bot.core.checklists import FACT_ITEMS, checklist_for, parse_progress
from bot.core.stages import (
    BRANCH_CUT,
    CANDIDATE_TAGGED,
    DEPLOYED,
    FACTS,
    FINAL_TAGGED,
    MILESTONE_CLOSED,
    RELEASE_PUBLISHED,
    STAGES,
    UAT_SIGNED_OFF,
)
from bot.core.tracking import render_stage_comment


def test_the_default_stages_declare_their_fact_items() -> None:
    declared = {fact: stage for stage, items in FACT_ITEMS.items() for fact in items.values()}
    assert declared == {
        BRANCH_CUT: "build_test",
        CANDIDATE_TAGGED: "build_test",
        UAT_SIGNED_OFF: "uat",
        FINAL_TAGGED: "deploy",
        RELEASE_PUBLISHED: "deploy",
        DEPLOYED: "deploy",
    }
    for stage in STAGES:
        checklist = checklist_for(stage, {})
        assert len(checklist.facts) == len(checklist.items)
        assert {f for f in checklist.facts if f} == {f for f, s in declared.items() if s == stage}
    uat = checklist_for("uat", {})
    assert uat.fact_of(uat.items.index("Sign-off given with `/uat passed` on this issue")) == UAT_SIGNED_OFF


def test_a_configured_checklist_names_facts_and_ignores_unknown_ones() -> None:
    config = {
        "stages": {
            "deploy": {
                "checklist": [
                    "Smoke tests",
                    {"item": "Shipped", "fact": "release_published"},
                    {"item": "Closed", "fact": "nonsense"},
                    {"fact": "deployed"},
                ]
            }
        }
    }
    deploy = checklist_for("deploy", config)
    assert deploy.items == ("Smoke tests", "Shipped", "Closed")
    assert deploy.facts == (None, RELEASE_PUBLISHED, None)


def test_ticks_say_who_and_when_for_each_fact_that_holds() -> None:
    known = KnownFacts(
        branch="release/1.4",
        branch_on="2026-11-20",
        candidate_tag="v1.4.0-rc.2",
        candidate_on="2026-11-22",
        signed_off_by="qa",
        signed_off_on="2026-11-24",
        published_by="release-bot[bot]",
        published_on="2026-11-25",
        closed_on="2026-11-30",
    )
    ticks = ticks_of(known)
    assert set(ticks) == {BRANCH_CUT, CANDIDATE_TAGGED, UAT_SIGNED_OFF, RELEASE_PUBLISHED, MILESTONE_CLOSED}
    assert ticks[UAT_SIGNED_OFF] == FactTick(on="2026-11-24", by="qa")
    assert ticks[BRANCH_CUT] == FactTick(on="2026-11-20", detail="`release/1.4`")
    assert ticks_of(KnownFacts()) == {}
    assert set(FACTS) >= set(ticks)


def _uat_comment(ticks: dict[str, FactTick]) -> str:
    return render_stage_comment(7, "1.4.0", checklist_for("uat", {}), ticks)


def test_a_new_stage_comment_has_its_facts_ticked_and_counts_them() -> None:
    body = _uat_comment({UAT_SIGNED_OFF: FactTick(on="2026-11-24", by="qa")})
    assert (
        "- [x] Sign-off given with `/uat passed` on this issue — ✔ by @\u200bqa, on 2026-11-24 "
        "<!-- release-bot:fact:uat_signed_off -->"
    ) in body
    progress = parse_progress(body)
    assert (progress.ticked, progress.total) == (1, 4)
    pending = parse_progress(_uat_comment({}))
    assert (pending.ticked, pending.total) == (0, 4)
    # The outstanding list shows the item, not the bot's note about it.
    assert "Sign-off given with `/uat passed` on this issue" in pending.unticked


def test_apply_ticks_a_fact_once_and_keeps_the_day_it_was_first_seen() -> None:
    body = _uat_comment({})
    ticked = apply_fact_ticks(body, {UAT_SIGNED_OFF: FactTick(on="2026-11-24", by="qa")})
    assert ticked != body and parse_progress(ticked).ticked == 1
    # Re-applied later (another day, other who): nothing changes, so the bot writes nothing.
    assert apply_fact_ticks(ticked, {UAT_SIGNED_OFF: FactTick(on="2026-12-01", by="qa")}) == ticked


def test_a_withdrawn_fact_unticks_the_bots_tick_but_never_a_persons() -> None:
    ticked = apply_fact_ticks(_uat_comment({}), {UAT_SIGNED_OFF: FactTick(on="2026-11-24", by="qa")})
    withdrawn = apply_fact_ticks(ticked, {})  # a newer candidate: the sign-off no longer holds
    assert withdrawn == _uat_comment({}) and parse_progress(withdrawn).ticked == 0
    by_hand = _uat_comment({}).replace("- [ ] Sign-off", "- [x] Sign-off")
    assert apply_fact_ticks(by_hand, {}) == by_hand and parse_progress(by_hand).ticked == 1
    # A person ticked it and the fact then holds: the bot adds who and when.
    assert "✔ by @\u200bqa" in apply_fact_ticks(by_hand, {UAT_SIGNED_OFF: FactTick(on="2026-11-24", by="qa")})


def test_people_edits_around_fact_lines_survive() -> None:
    body = (
        _uat_comment({}).replace("- [ ] Candidate deployed", "- [x] Candidate deployed") + "\n\nnotes by QA"
    )
    out = apply_fact_ticks(body, {UAT_SIGNED_OFF: FactTick(on="2026-11-24", by="qa")})
    assert "- [x] Candidate deployed to the acceptance environment" in out and out.endswith("notes by QA")
    assert parse_progress(out).ticked == 2
    # A fact marker in a fenced code block is text, not an item.
    fenced = "```\n- [ ] x — _ticked by the bot when it happens_ <!-- release-bot:fact:deployed -->\n```"
    assert apply_fact_ticks(fenced, {DEPLOYED: FactTick(on="2026-11-24")}) == fenced


def test_tick_text_is_escaped() -> None:
    body = render_stage_comment(
        7,
        "1.4.0",
        checklist_for("build_test", {}),
        {BRANCH_CUT: FactTick(on="2026-11-20", detail="`release/<b>1.4|x`")},
    )
    assert "<b>" not in body and "&lt;b&gt;1.4\\|x" in body
