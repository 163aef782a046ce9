"""The due day as GitHub keeps it (a US Pacific calendar day)."""

from __future__ import annotations

from bot.core.due_dates import github_due_day


def test_the_day_github_shows() -> None:
    assert github_due_day("2026-12-15T08:00:00Z") == "2026-12-15"  # midnight PST, as GitHub returns it
    assert github_due_day("2026-07-04T07:00:00Z") == "2026-07-04"  # midnight PDT
    # Sent as midnight UTC, GitHub keeps the Pacific day: the day before (what due_on[:10] got wrong).
    assert github_due_day("2026-12-15T00:00:00Z") == "2026-12-14"
    assert github_due_day("2026-12-15") == "2026-12-15"
    assert github_due_day(None) is None and github_due_day("soon") is None
