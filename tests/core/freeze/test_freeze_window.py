"""Freeze windows as tables (``bot.core.freeze``): settings, the automatic window, ``decide_freeze``."""

from __future__ import annotations

import pytest

from bot.core.freeze import (
    FREEZE,
    THAW,
    FreezeRequest,
    FreezeSettings,
    FreezeState,
    WindowFacts,
    automatic_start,
    decide_freeze,
    freeze_settings,
)
from bot.core.freeze.state import FreezeException, merge_exceptions
from bot.core.stages import BUILD_TEST, DEPLOY, IDENTIFY_NEEDS, MONITOR, PLAN, PREPARE, UAT
from bot.core.tracking import TrackingState

AT_UAT = FreezeSettings(starts_stage=UAT, ends=DEPLOY)
DUE_3 = FreezeSettings(days_before_due=3, ends=DEPLOY)
BEGAN = {IDENTIFY_NEEDS: "2026-11-01", BUILD_TEST: "2026-11-10", UAT: "2026-11-20", PREPARE: "2026-11-24"}


def window(stage: str | None, today: str = "2026-11-26", **kw: object) -> WindowFacts:
    return WindowFacts("1.4.0", stage, kw.pop("began", BEGAN), today=today, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, None),
        ({}, None),  # `freeze:` with nothing set configures nothing
        ({"ends": "deploy"}, None),  # the schema's default alone: off
        ({"starts": "uat"}, FreezeSettings(starts_stage=UAT)),
        ({"starts": "uat", "ends": "monitor", "branches": ["main", "develop"]},
         FreezeSettings(branches=("main", "develop"), starts_stage=UAT, ends=MONITOR)),
        ({"starts": {"days_before_due": 3}}, FreezeSettings(days_before_due=3)),
        ({"starts": "deploy", "ends": "uat"}, None),  # ends before it starts: never holds
        ({"starts": "nonsense"}, None),
    ],
)
def test_settings(config: dict[str, object] | None, expected: FreezeSettings | None) -> None:
    assert freeze_settings(config) == expected


@pytest.mark.parametrize(
    ("branches", "branch", "default", "covered"),
    [
        ((), "main", "main", True),  # default: the default branch
        ((), "trunk", "trunk", True),
        ((), "release/1.4", "main", False),
        (("main", "release/*"), "release/1.4", "main", True),
        (("main",), "mainline", "main", False),  # a whole name, not a prefix
        (("develop",), "main", "main", False),  # configured branches replace the default
    ],
)
def test_frozen_branches(branches: tuple[str, ...], branch: str, default: str, covered: bool) -> None:
    assert FreezeSettings(branches=branches, starts_stage=UAT).covers(branch, default) is covered


@pytest.mark.parametrize(
    ("settings", "facts", "start"),
    [
        (AT_UAT, window(BUILD_TEST), None),
        (AT_UAT, window(UAT), "2026-11-20"),  # the day UAT began
        (AT_UAT, window(PREPARE), "2026-11-20"),  # still frozen in Prepare, since UAT
        (AT_UAT, window(PREPARE, began={PREPARE: "2026-11-24"}), "2026-11-24"),  # UAT skipped
        (AT_UAT, window(DEPLOY), None),  # `ends` lifts it
        (AT_UAT, window(MONITOR), None),
        (AT_UAT, window(None), None),
        (DUE_3, window(PLAN, due_date="2026-11-30"), None),  # today the 26th: not yet
        (DUE_3, window(PLAN, today="2026-11-27", due_date="2026-11-30"), "2026-11-27"),
        (DUE_3, window(PLAN, today="2026-12-05", due_date="2026-11-30"), "2026-11-27"),  # late: still frozen
        (DUE_3, window(DEPLOY, today="2026-11-28", due_date="2026-11-30"), None),
        (DUE_3, window(PLAN), None),  # no due date, no window
    ],
)
def test_automatic_window(settings: FreezeSettings, facts: WindowFacts, start: str | None) -> None:
    assert automatic_start(settings, facts) == start


ON_SINCE_20 = FreezeState(version="1.4.0", active=True, since="2026-11-20", cause="stage", detail=UAT)


@pytest.mark.parametrize(
    ("case", "previous", "facts", "requests", "active", "since", "cause", "lifted_why", "manual"),
    [
        ("before UAT", None, window(BUILD_TEST), (), False, "", "", "", ""),
        ("UAT begins", None, window(UAT), (), True, "2026-11-20", "stage", "", ""),
        ("kept while it lasts", ON_SINCE_20, window(PREPARE, today="2026-11-29"), (), True, "2026-11-20",
         "stage", "", ""),
        ("Deploy lifts it", ON_SINCE_20, window(DEPLOY), (), False, "", "", "ends", ""),
        ("a closed milestone lifts it", ON_SINCE_20, window(PREPARE, milestone_open=False), (), False, "", "",
         "closed", ""),
        ("/thaw lifts it", ON_SINCE_20, window(UAT), (FreezeRequest(THAW, "rm", "2026-11-26"),), False, "",
         "", "thawed", "thawed"),
        ("/freeze before the window", None, window(BUILD_TEST), (FreezeRequest(FREEZE, "rm", "2026-11-26"),),
         True, "2026-11-26", "manual", "", "frozen"),
        ("/thaw then /freeze in one run", ON_SINCE_20, window(UAT),
         (FreezeRequest(THAW, "rm", "2026-11-26"), FreezeRequest(FREEZE, "rm", "2026-11-26")), True,
         "2026-11-20", "stage", "", "frozen"),
    ],
)
def test_decide_freeze(
    case: str,
    previous: FreezeState | None,
    facts: WindowFacts,
    requests: tuple[FreezeRequest, ...],
    active: bool,
    since: str,
    cause: str,
    lifted_why: str,
    manual: str,
) -> None:
    state = decide_freeze(AT_UAT, previous, facts, requests)
    assert (state.active, state.since, state.cause, state.lifted_why, state.manual) == (
        active,
        since,
        cause,
        lifted_why,
        manual,
    ), case
    assert state.lifted == (facts.today if lifted_why else "")
    # Deciding again on the recorded state changes nothing (a steady release writes nothing).
    assert decide_freeze(AT_UAT, state, facts) == state


def test_a_thaw_holds_through_the_window_and_is_forgotten_at_ends() -> None:
    thawed = decide_freeze(AT_UAT, ON_SINCE_20, window(UAT), (FreezeRequest(THAW, "rm", "2026-11-26"),))
    assert not thawed.active and thawed.manual == "thawed" and thawed.manual_stage == UAT
    still = decide_freeze(AT_UAT, thawed, window(PREPARE, today="2026-11-28"))
    assert not still.active and still.lifted == "2026-11-26"  # the lift's day is kept
    at_ends = decide_freeze(AT_UAT, still, window(DEPLOY, today="2026-11-30"))
    assert not at_ends.active and at_ends.manual == ""


def test_a_hand_freeze_before_ends_lifts_at_ends_one_after_ends_holds() -> None:
    frozen = decide_freeze(AT_UAT, None, window(BUILD_TEST), (FreezeRequest(FREEZE, "rm", "2026-11-26"),))
    lifted = decide_freeze(AT_UAT, frozen, window(DEPLOY, today="2026-11-30"))
    assert not lifted.active and lifted.lifted_why == "ends" and lifted.manual == ""
    again = (FreezeRequest(FREEZE, "rm", "2026-12-01"),)
    late = decide_freeze(AT_UAT, lifted, window(DEPLOY, today="2026-12-01"), again)
    assert late.active and late.since == "2026-12-01" and late.cause == "manual" and late.by == "rm"
    assert decide_freeze(AT_UAT, late, window(MONITOR, today="2026-12-03")).active
    assert not decide_freeze(AT_UAT, late, window(MONITOR, milestone_open=False)).active


def test_days_before_due_starts_on_its_day_and_records_it() -> None:
    facts = window(PLAN, today="2026-11-27", due_date="2026-11-30")
    state = decide_freeze(DUE_3, None, facts)
    assert state.active and state.since == "2026-11-27" and state.cause == "due" and state.detail == "3"
    moved = decide_freeze(DUE_3, state, window(PLAN, today="2026-11-28", due_date="2026-12-20"))
    assert not moved.active and moved.lifted_why == "window"


def grant(pr: int, sha: str = "a" * 40, comment: int = 1, withdrawn: bool = False) -> FreezeException:
    extra = {"withdrawn_by": "rm", "withdrawn_at": "2026-11-26T10:00:00Z"} if withdrawn else {}
    return FreezeException(pr, sha, "main", "rm", "2026-11-26T09:00:00Z", "why", comment, **extra)


@pytest.mark.parametrize(
    ("known", "reported", "expected"),
    [
        ((), (grant(1),), (grant(1),)),
        ((grant(1),), (grant(1),), (grant(1),)),  # read back twice: listed once
        ((grant(1),), (grant(1, withdrawn=True),), (grant(1, withdrawn=True),)),
        ((grant(1, withdrawn=True),), (grant(1),), (grant(1, withdrawn=True),)),  # never undone
        ((grant(1),), (grant(1, sha="b" * 40),), (grant(1), grant(1, sha="b" * 40))),  # a new commit's
        ((grant(1),), (grant(2, comment=2),), (grant(1), grant(2, comment=2))),
    ],
)
def test_merge_exceptions(
    known: tuple[FreezeException, ...],
    reported: tuple[FreezeException, ...],
    expected: tuple[FreezeException, ...],
) -> None:
    assert merge_exceptions(known, reported) == expected


def test_the_record_is_backward_compatible_and_round_trips() -> None:
    old = TrackingState().to_json()
    assert "freeze" not in old  # a repository without a freeze: the record is unchanged
    assert TrackingState.from_json(old).freeze is None
    state = TrackingState(freeze=decide_freeze(AT_UAT, None, window(UAT), reported=(grant(3),)))
    assert TrackingState.from_json(state.to_json()) == state
    # Forged or malformed entries are dropped, not trusted.
    data = state.to_json()
    data["freeze"]["exceptions"].append({"pr": "3", "sha": "zz", "by": "<script>", "at": "yesterday"})
    data["freeze"]["cause"] = "because"
    parsed = TrackingState.from_json(data).freeze
    assert parsed is not None and parsed.exceptions == (grant(3),) and parsed.cause == ""


def test_a_new_candidate_before_starts_closes_the_window() -> None:
    at_prepare = FreezeSettings(starts_stage=PREPARE, ends=DEPLOY)
    frozen = decide_freeze(at_prepare, None, window(PREPARE))
    assert frozen.active and frozen.since == "2026-11-24"
    back = decide_freeze(at_prepare, frozen, window(UAT, began={**BEGAN, PREPARE: ""}))  # rc.2: back to UAT
    assert not back.active and back.lifted_why == "window"
    prepared = window(PREPARE, today="2026-11-28", began={**BEGAN, PREPARE: "2026-11-28"})
    again = decide_freeze(at_prepare, back, prepared)
    assert again.active and again.since == "2026-11-28"
