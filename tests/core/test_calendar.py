"""The release calendar built from typed facts: content, stable UIDs, SEQUENCE from the source's
change time, deterministic bytes; and the per-repository token."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar

from bot.core.calendar import CalendarRelease, TagDay, build_calendar, sequence_of, uid
from bot.core.calendar_token import calendar_path, calendar_token, calendar_url, token_matches

REPO = "acme/rocket"
RELEASE = CalendarRelease(
    milestone_number=7,
    version="1.4.0",
    milestone_url="https://github.example/acme/rocket/milestone/7",
    due_day="2026-12-15",
    milestone_updated=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    tags=(TagDay("v1.4.0-rc.1", "2026-12-01", True), TagDay("v1.4.0", "2026-12-14", False)),
    published_at=datetime(2026, 12, 14, 16, 5, tzinfo=UTC),
    release_url="https://github.example/acme/rocket/releases/tag/v1.4.0",
    tracking_url="https://github.example/acme/rocket/issues/3",
)


def events(body: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(body)
    assert str(cal["VERSION"]) == "2.0" and "release-bot" in str(cal["PRODID"])
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_each_date_of_a_release_is_an_event() -> None:
    found = events(build_calendar(REPO, [RELEASE]))
    assert set(found) == {
        "due-7@acme.rocket.release-bot",
        "tag-7-v1.4.0-rc.1@acme.rocket.release-bot",
        "tag-7-v1.4.0@acme.rocket.release-bot",
        "published-7@acme.rocket.release-bot",
    }
    due = found["due-7@acme.rocket.release-bot"]
    assert due.decoded("DTSTART") == date(2026, 12, 15) and due.decoded("DTEND") == date(2026, 12, 16)
    assert str(due["SUMMARY"]) == "v1.4.0 due"
    assert "issues/3" in str(due["DESCRIPTION"])
    rc = found["tag-7-v1.4.0-rc.1@acme.rocket.release-bot"]
    assert str(rc["SUMMARY"]) == "v1.4.0-rc.1 tagged (release candidate)"
    published = found["published-7@acme.rocket.release-bot"]
    assert published.decoded("DTSTART") == datetime(2026, 12, 14, 16, 5, tzinfo=UTC)
    assert str(published["URL"]) == RELEASE.release_url


def test_the_freeze_start_appears_when_the_record_has_one() -> None:
    assert "freeze-7@acme.rocket.release-bot" not in events(build_calendar(REPO, [RELEASE]))
    frozen = replace(RELEASE, freeze_start=date(2026, 12, 10))
    freeze = events(build_calendar(REPO, [frozen]))["freeze-7@acme.rocket.release-bot"]
    assert freeze.decoded("DTSTART") == date(2026, 12, 10)
    assert str(freeze["SUMMARY"]) == "v1.4.0 code freeze begins"


def test_rebuilding_from_the_same_facts_gives_the_same_bytes() -> None:
    assert build_calendar(REPO, [RELEASE]) == build_calendar(REPO, [RELEASE])


def test_a_moved_due_date_updates_the_event_in_place() -> None:
    before = events(build_calendar(REPO, [RELEASE]))["due-7@acme.rocket.release-bot"]
    moved = replace(RELEASE, due_day="2026-12-22", milestone_updated=datetime(2026, 12, 2, 8, tzinfo=UTC))
    after = events(build_calendar(REPO, [moved]))["due-7@acme.rocket.release-bot"]
    assert after.decoded("DTSTART") == date(2026, 12, 22)
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after.decoded("LAST-MODIFIED") == datetime(2026, 12, 2, 8, tzinfo=UTC)
    assert after.decoded("DTSTAMP") == after.decoded("LAST-MODIFIED")  # no METHOD: RFC 5545 3.8.7.2


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (None, 0),
        (datetime(2019, 1, 1, tzinfo=UTC), 0),
        (datetime(2020, 1, 1, 0, 0, 1, tzinfo=UTC), 1),
        (datetime(2200, 1, 1, tzinfo=UTC), 2**31 - 1),
    ],
)
def test_sequence_grows_with_the_change_time_and_stays_a_32_bit_integer(changed, expected) -> None:
    assert sequence_of(changed) == expected


def test_uids_name_the_role_never_the_date_and_are_safe() -> None:
    assert uid("Acme/Rocket", "due", 7) == "due-7@acme.rocket.release-bot"
    assert uid("acme/rocket", "tag", 7, "v1.4.0 rc/1") == "tag-7-v1.4.0-rc-1@acme.rocket.release-bot"


def test_user_text_cannot_break_the_feed() -> None:
    hostile = replace(RELEASE, version="1.4.0\r\nBEGIN:VEVENT\r\nUID:forged", tracking_url="")
    body = build_calendar(REPO, [hostile])
    found = events(body)
    assert len(found) == 4 and not any("forged" in u for u in found)  # no injected event
    assert b"\r\nBEGIN:VEVENT\r\nUID:forged" not in body  # the line breaks are escaped


def test_a_release_without_dates_adds_nothing() -> None:
    bare = CalendarRelease(milestone_number=9, version="2.0.0")
    assert events(build_calendar(REPO, [bare])) == {}


def test_the_token_is_per_repository_and_per_secret() -> None:
    token = calendar_token("s" * 40, "acme/rocket")
    assert token_matches("s" * 40, "ACME/Rocket", token)  # GitHub's names are case-insensitive
    assert not token_matches("s" * 40, "acme/other", token)
    assert not token_matches("t" * 40, "acme/rocket", token)  # a rotated secret revokes it
    assert not token_matches("s" * 40, "acme/rocket", None) and not token_matches("s" * 40, "acme/rocket", "")
    assert calendar_path("acme/rocket") == "/calendar/acme/rocket.ics"
    assert calendar_url("https://bot.example/", "s" * 40, "acme/rocket") == (
        f"https://bot.example/calendar/acme/rocket.ics?token={token}"
    )
