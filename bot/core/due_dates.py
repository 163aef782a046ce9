"""A milestone's due date as GitHub keeps it: a calendar day of US Pacific time.

GitHub stores ``due_on`` as a day and returns it as that day's midnight in America/Los_Angeles,
written in UTC (``2026-12-15T08:00:00Z``, ``…T07:00:00Z`` in summer). The day GitHub shows is that
instant's Pacific date; a zone east of the Pacific would show the same instant as the same day,
but ``due_on[:10]`` of a value sent at, say, ``T00:00:00Z`` names the next day. Pure.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

GITHUB_DUE_ZONE_NAME = "America/Los_Angeles"
GITHUB_DUE_ZONE = ZoneInfo(GITHUB_DUE_ZONE_NAME)


def github_due_day(due_on: str | None) -> str | None:
    """The ISO day GitHub shows for a ``due_on`` value; None when unset or unreadable."""
    if not due_on:
        return None
    try:
        moment = datetime.fromisoformat(str(due_on).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.astimezone(GITHUB_DUE_ZONE).date().isoformat()
