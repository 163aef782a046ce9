"""When a release's facts next change by time alone (``bot.core.next_change``, the freeze window's
``next_window_day``, ``next_overdue_day``, ``ReleasePlan.next_change``), as tables. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_release_plan import TODAY, facts, milestone, plan, recorded, settings, tracking_issue

from bot.core.freeze import FreezeSettings, FreezeState, WindowFacts, next_window_day
from bot.core.next_change import earliest_day, next_day, start_of_day
from bot.core.release_types import Release
from bot.core.stages import BUILD_TEST, DEPLOY, IDENTIFY_NEEDS, PLAN, UAT

DUE_3 = FreezeSettings(days_before_due=3, ends=DEPLOY)


def test_earliest_day_is_the_first_one_ahead() -> None:
    assert earliest_day(("2026-12-03", None, "2026-11-30", "2026-11-26"), "2026-11-26") == "2026-11-30"
    assert earliest_day((None, "2026-11-25", "2026-11-26"), "2026-11-26") is None  # none ahead
    assert earliest_day((), "2026-11-26") is None
    assert next_day("2026-12-31") == "2027-01-01" and next_day("2028-02-28") == "2028-02-29"


@pytest.mark.parametrize(
    ("day", "zone", "instant"),
    [
        ("2026-11-30", "UTC", datetime(2026, 11, 30, tzinfo=UTC)),
        ("2026-11-30", "Europe/Berlin", datetime(2026, 11, 29, 23, tzinfo=UTC)),
        ("2026-07-01", "Europe/Berlin", datetime(2026, 6, 30, 22, tzinfo=UTC)),  # summer time
        ("2026-11-30", "America/Los_Angeles", datetime(2026, 11, 30, 8, tzinfo=UTC)),
        ("2026-11-30", "Asia/Kolkata", datetime(2026, 11, 29, 18, 30, tzinfo=UTC)),
        # Clocks skip from 00:00 to 01:00 that night: the day begins at 01:00 local (04:00 UTC).
        ("2026-09-06", "America/Santiago", datetime(2026, 9, 6, 4, tzinfo=UTC)),
        ("2026-03-08", "America/Havana", datetime(2026, 3, 8, 5, tzinfo=UTC)),
    ],
)
def test_start_of_day_is_when_today_becomes_that_day_in_the_zone(
    day: str, zone: str, instant: datetime
) -> None:
    tz = ZoneInfo(zone)
    start = start_of_day(day, tz)
    assert start == instant and start.tzinfo == UTC
    assert start.astimezone(tz).date().isoformat() == day
    assert (start - timedelta(seconds=1)).astimezone(tz).date().isoformat() < day  # not a second late


def window(stage: str | None = PLAN, today: str = "2026-11-26", **kw: object) -> WindowFacts:
    return WindowFacts("1.4.0", stage, {}, today=today, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "settings_", "state", "facts_", "expected"),
    [
        ("three days before the due date", DUE_3, None, window(due_date="2026-12-05"), "2026-12-02"),
        ("starts tomorrow", DUE_3, None, window(due_date="2026-11-30"), "2026-11-27"),
        ("started today: nothing ahead", DUE_3, None, window(due_date="2026-11-29"), None),
        ("started already", DUE_3, None, window(due_date="2026-11-28"), None),
        ("no due date", DUE_3, None, window(), None),
        ("an unreadable due date", DUE_3, None, window(due_date="soon"), None),
        ("a stage start is an event", FreezeSettings(starts_stage=UAT), None,
         window(due_date="2026-12-05"), None),
        ("closed milestone", DUE_3, None, window(due_date="2026-12-05", milestone_open=False), None),
        ("past the stage that ends it", DUE_3, None, window(DEPLOY, due_date="2026-12-05"), None),
        ("thawed by hand: holds", DUE_3, FreezeState(manual="thawed"), window(due_date="2026-12-05"), None),
        ("frozen by hand: already on", DUE_3, FreezeState(active=True, manual="frozen"),
         window(due_date="2026-12-05"), None),
        ("zero days: the due day itself", FreezeSettings(days_before_due=0), None,
         window(due_date="2026-12-05"), "2026-12-05"),
    ],
)
def test_next_window_day(
    case: str, settings_: FreezeSettings, state: FreezeState | None, facts_: WindowFacts, expected: str | None
) -> None:
    assert next_window_day(settings_, state, facts_) == expected, case


# -- the release plan: the earliest of those that exist ----------------------------------------

DUE_DEC_5 = "2026-12-05T08:00:00Z"  # GitHub's due day 2026-12-05 (a Pacific midnight)
IN_PLAN = recorded(PLAN, IDENTIFY_NEEDS, PLAN)


def test_a_release_without_a_due_date_has_no_timed_change() -> None:
    assert TODAY == "2026-11-26"
    assert plan(facts(tracking=tracking_issue())).next_change is None


def test_the_day_after_the_due_date_is_when_it_turns_late() -> None:
    p = plan(facts(ms=milestone(due=DUE_DEC_5), state=IN_PLAN, tracking=tracking_issue()))
    assert p.next_change == datetime(2026, 12, 6, tzinfo=UTC)  # the configured zone: UTC by default
    berlin = plan(
        facts(ms=milestone(due=DUE_DEC_5), state=IN_PLAN, tracking=tracking_issue()),
        settings(timezone="Europe/Berlin"),
    )
    assert berlin.next_change == datetime(2026, 12, 5, 23, tzinfo=UTC)


def test_the_freeze_start_comes_first_when_it_is_earlier() -> None:
    config = settings(freeze={"starts": {"days_before_due": 3}})
    p = plan(facts(ms=milestone(due=DUE_DEC_5), state=IN_PLAN, tracking=tracking_issue()), config)
    assert p.state.freeze is not None and not p.state.freeze.active
    assert p.next_change == datetime(2026, 12, 2, tzinfo=UTC)
    # On that day the freeze is on, and the next change is the day after the due date.
    on_the_day = plan(
        facts(ms=milestone(due="2026-11-29T08:00:00Z"), state=IN_PLAN, tracking=tracking_issue()), config
    )
    assert on_the_day.state.freeze is not None and on_the_day.state.freeze.active
    assert on_the_day.next_change == datetime(2026, 11, 30, tzinfo=UTC)


def test_a_late_release_or_a_shipped_one_has_nothing_ahead() -> None:
    late = plan(facts(ms=milestone(due="2026-11-20T08:00:00Z"), state=IN_PLAN, tracking=tracking_issue()))
    assert late.state.overdue == "2026-11-20" and late.next_change is None
    shipped = plan(
        facts(
            ms=milestone(due=DUE_DEC_5),
            state=recorded(DEPLOY, IDENTIFY_NEEDS, BUILD_TEST, DEPLOY),
            branch=True,
            tags=("v1.4.0",),
            tracking=tracking_issue(),
        )
    )
    assert shipped.next_change is None


def test_a_published_release_is_shipped_before_its_tag_is_seen() -> None:
    published = Release(1, tag_name="v1.4.0", published_at=datetime(2026, 11, 25, tzinfo=UTC))
    p = plan(
        facts(ms=milestone(due=DUE_DEC_5), state=IN_PLAN, tracking=tracking_issue(), releases=(published,))
    )
    assert p.next_change is None
