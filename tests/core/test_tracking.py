"""Renderers of the tracking issue, stage comments and retrospective (pure, deterministic)."""

from __future__ import annotations

from dataclasses import replace

from bot.core.checklists import Progress, all_checklists, parse_progress
from bot.core.release_record import decode_record_text, pointer_of, render_record
from bot.core.stages import STAGES, StageFacts, StageRecord, advance, record_uat
from bot.core.tracking import (
    MAX_RECORDED_TEXT,
    MAX_RECORDED_UNTICKED,
    CarryOver,
    ChecklistRecord,
    ItemRef,
    RetroFigures,
    Scope,
    TrackingState,
    TrackingView,
    due_text,
    render_retrospective,
    render_stage_comment,
    render_tracking_body,
    stage_of_comment,
    tracking_milestone_of,
)


def make_view(**overrides) -> TrackingView:
    facts = StageFacts(has_due_date=True, branch_exists=True, candidates=(1,))
    record = advance(StageRecord(), facts, "2026-11-20").record
    record = record_uat(record, facts, False, "qa", "2026-11-21", "broken --> <b>").record
    view = TrackingView(
        milestone_number=7,
        milestone_title="v1.4.0",
        milestone_url="http://h/acme/rocket/milestone/7",
        milestone_open=True,
        version="1.4.0",
        due_date="2026-12-01",
        timezone="UTC",
        shipped_date=None,
        branch="release/1.4",
        branch_url="http://h/acme/rocket/tree/release/1.4",
        candidate_tags=("v1.4.0-rc.1",),
        final_tag="v1.4.0",
        final_tag_exists=False,
        release_state="draft",
        release_url="http://h/r/1",
        mode="agile",
        state=TrackingState(stages=record, comment_watermark=42, feedback=(9,)),
        checklists=all_checklists({}),
        progress={"identify_needs": Progress(1, 4, ("a", "b", "c")), "uat": Progress(0, 4)},
        scope=Scope(open_issues=3, closed_issues=2, merged_prs=5, open_prs=1),
        off_milestone=(ItemRef(12, "Hotfix @everyone | pipe", True, "dev"),),
    )
    return replace(view, **overrides)


def _round_trip(state: TrackingState) -> TrackingState:
    """Through the release record's check run output, as the reconciler writes and reads it."""
    return TrackingState.from_json(decode_record_text(render_record(7, "1.4.0", state.to_json(), "UAT").text))


def test_body_is_deterministic_points_at_the_record_and_carries_no_state() -> None:
    view = make_view(record_id=31337)
    body = render_tracking_body(view)
    assert body == render_tracking_body(make_view(record_id=31337))
    assert tracking_milestone_of(body) == 7
    assert pointer_of(body) == 31337 and pointer_of(render_tracking_body(make_view())) is None
    assert "release-bot:state" not in body and '"watermark"' not in body  # nothing to trust in the body
    assert _round_trip(view.state) == view.state
    assert "| UAT | ▶️ current | 2026-11-20 | 0/4 |" in body
    assert "| Plan Release | ✅ done | 2026-11-20 | — |" in body
    assert "- Identify Needs: a" in body  # outstanding items of done stages
    assert "failed on rc.1 by @\u200bqa" in body
    assert "@everyone" not in body and "\\|" in body  # mentions neutralized, table intact
    assert "2026-12-01 (America/Los_Angeles) · not shipped yet" in body
    assert "broken --&gt; &lt;b&gt;" in body and "<b>" not in body  # user text carries no HTML


def test_record_json_cannot_be_closed_by_user_text() -> None:
    text = render_record(7, "1.4.0", {"reason": "x --> <!-- y"}, "UAT").text
    assert text.count("-->") == 1 and text.endswith("-->")
    assert decode_record_text(text) == {"reason": "x --> <!-- y"}
    assert (
        decode_record_text("no state") == {}
        and decode_record_text("<!-- release-bot:record-json {bad} -->") == {}
    )


def test_due_text_is_decided_by_ship_date() -> None:
    assert due_text(None, None, "UTC") == "no due date"
    assert "on time" in due_text("2026-12-01", "2026-12-01", "UTC")
    assert "late by 2 days" in due_text("2026-12-01", "2026-12-03", "Europe/Paris")
    # The due day is labelled with GitHub's zone, the ship date with the configured one.
    assert due_text("2026-12-01", "2026-12-03", "Europe/Paris") == (
        "2026-12-01 (America/Los_Angeles) · shipped late by 2 days (2026-12-03, Europe/Paris)"
    )
    assert due_text("2026-12-01", None, "UTC") == "2026-12-01 (America/Los_Angeles) · not shipped yet"
    assert (
        due_text("2026-12-01", None, "UTC", overdue=True)
        == "2026-12-01 (America/Los_Angeles) · late: not shipped by the due date"
    )
    assert "on time" in due_text("2026-12-01", "2026-11-30", "UTC", overdue=True)  # the ship date decides


def test_overdue_is_rendered_from_the_record_for_the_current_due_date_only() -> None:
    late = TrackingState(overdue="2026-12-01")
    assert _round_trip(late).overdue == "2026-12-01"
    assert TrackingState.from_json({"overdue": "soon"}).overdue is None
    assert "late: not shipped" in render_tracking_body(make_view(due_date="2026-12-01", state=late))
    assert "not shipped yet" in render_tracking_body(make_view(due_date="2026-12-08", state=late))


def test_body_stays_within_github_limit() -> None:
    many = tuple(ItemRef(n, "x" * 190) for n in range(1, 2000))
    body = render_tracking_body(
        make_view(off_milestone=many, feedback=many, warnings=("w" * 70000,), record_id=9)
    )
    assert len(body) <= 65_000
    assert pointer_of(body) == 9  # the pointer survives the cut


def test_stage_comment_has_marker_owners_and_unticked_boxes() -> None:
    checklist = all_checklists({"stages": {"deploy": {"owners": ["@acme/release-managers"]}}})["deploy"]
    body = render_stage_comment(7, "1.4.0", checklist)
    assert stage_of_comment(body, 7) == "deploy" and stage_of_comment(body, 8) is None
    assert "Owners: @acme/release-managers" in body
    progress = parse_progress(body)
    assert progress.ticked == 0 and progress.total == len(checklist.items)


def test_retrospective() -> None:
    figures = RetroFigures(
        "1.4.0", 10, 7, 3, 5, ("dev", "qa"), "2026-11-01", "2026-11-30", "2026-12-01", "UTC"
    )
    moves = [CarryOver(ItemRef(4, "Late PR", True), "v1.4.1"), CarryOver(ItemRef(2, "Idea"), None)]
    body = render_retrospective(7, figures, moves)
    assert "| Planned items | 10 |" in body and "29 days" in body and "on time" in body
    assert "- issue #2 Idea → **needs a home**" in body
    assert body.index("#2") < body.index("#4")


def test_not_on_branch_and_past_gate_sections() -> None:
    view = make_view(not_on_branch=(ItemRef(31, "Fix on main only", True, "dev"),))
    view = replace(
        view, state=replace(view.state, past_gate=("#40", "abcdef0123456789abcdef0123456789abcdef01"))
    )
    body = render_tracking_body(view)
    assert (
        "### In the milestone but not on the release branch\n\n- #31 Fix on main only by @\u200bdev" in body
    )
    assert "- #40\n- commit `abcdef012345` pushed directly" in body
    assert _round_trip(view.state).past_gate == view.state.past_gate


def test_checklist_records_round_trip_bounded_and_tolerant() -> None:
    long = Progress(1, 40, tuple(f"item {i} " + "é" * 200 for i in range(39)))
    record = ChecklistRecord.of(77, long)
    assert record.progress.ticked == 1 and record.progress.total == 40
    assert len(record.progress.unticked) == MAX_RECORDED_UNTICKED
    assert all(
        len(t) <= MAX_RECORDED_TEXT and t.endswith("…") for t in record.progress.unticked
    )  # cut visibly
    assert ChecklistRecord.of(1, Progress(0, 1, ("Short item",))).progress.unticked == ("Short item",)
    state = TrackingState(checklists={s: record for s in STAGES}, comments_seen="2026-11-26T05:00:00Z")
    marker = render_record(7, "1.4.0", state.to_json(), "UAT").text
    assert (
        len(marker) < 30_000
    )  # worst case (all non-ASCII, every stage) stays well inside a check run's text
    back = TrackingState.from_json(decode_record_text(f"text\n{marker}"))
    assert back.checklists == state.checklists and back.comments_seen == "2026-11-26T05:00:00Z"
    # Read tolerantly all the same: malformed records and a non-GitHub timestamp are dropped.
    hostile = {
        "lists": {"plan": [1, 5, 2, []], "uat": "x", "deploy": [2, 0, 1, ["ok"]]},
        "seen": "2026-11-26T05:00:00Z&per_page=1",
    }
    parsed = TrackingState.from_json(hostile)
    assert set(parsed.checklists) == {"deploy"} and parsed.comments_seen is None
