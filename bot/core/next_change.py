"""When a release's facts next change by time alone, as a moment. Pure.

Some facts hold from a calendar day on with no event to announce it (a freeze that starts some days
before the due date, a due date passed unshipped). The planners name those days (in the configured
zone, the same days they compare ``today`` with); this module picks the earliest still ahead and
turns it into the instant that day begins, which the reconciler hands to the queue as a timed
wake-up (``JobQueue.schedule``): the controller-runtime ``RequeueAfter``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def earliest_day(days: Iterable[str | None], today: str) -> str | None:
    """The earliest ISO day after ``today`` among ``days`` (None: none is ahead)."""
    ahead = [d for d in days if d and d > today]
    return min(ahead) if ahead else None


def start_of_day(day: str, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) of ``day`` in ``tz``: when ``today`` becomes ``day`` there."""
    wanted = date.fromisoformat(day)
    instant = datetime.combine(wanted, time(0), tzinfo=tz).astimezone(UTC)
    # Where a zone's clocks skip past midnight, the day begins a little later: never wake early.
    while instant.astimezone(tz).date() < wanted:
        instant += timedelta(minutes=15)
    return instant


def next_day(day: str) -> str:
    """The ISO day after ``day``."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
