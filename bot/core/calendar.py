"""The release calendar of one repository: an iCalendar (RFC 5545) feed built from typed facts, pure.

One event per date that matters to people outside GitHub, per release:

- the due date (the milestone's, the day GitHub shows), all day;
- the start of the code freeze, when the release record carries one (``freeze_start``);
- each candidate tag and the final tag, all day on the day the bot first saw the tag;
- the publication of the GitHub Release, at its moment.

Calendar clients update an event in place (instead of adding a second one) when its ``UID`` stays
the same and its ``SEQUENCE`` grows; ``LAST-MODIFIED`` and ``DTSTAMP`` say when it changed. So:

- a UID names the event's role, never its date: ``due-{milestone}@{owner}.{repo}.release-bot``,
  ``tag-{milestone}-{tag}@…``, ``freeze-{milestone}@…``, ``published-{milestone}@…``;
- SEQUENCE and LAST-MODIFIED come from the source's own change time (the milestone's
  ``updated_at`` for its due date, the publication time, the tag's or freeze's day), never from the
  clock: rebuilding the feed from unchanged facts gives the same bytes, and a moved due date
  (which moves the milestone's ``updated_at``) gives the same UID with a higher SEQUENCE. In a feed
  without ``METHOD`` RFC 5545 makes ``DTSTAMP`` the same as ``LAST-MODIFIED``.

The ``icalendar`` library writes the text (escaping, line folding, CRLF); it does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event

PRODID = "-//release-bot//release calendar//EN"
# SEQUENCE is a 32-bit integer in most clients: seconds since this epoch fit until 2088.
_SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_MAX_SEQUENCE = 2**31 - 1
_UID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
REFRESH = timedelta(hours=1)  # how often a client is asked to re-read the feed


@dataclass(frozen=True)
class TagDay:
    """A release tag and the day (ISO) the bot first saw it."""

    name: str
    day: str
    candidate: bool


@dataclass(frozen=True)
class CalendarRelease:
    """What the calendar shows of one release (``bot.github.calendar_io`` reads it)."""

    milestone_number: int
    version: str
    milestone_url: str = ""
    due_day: str | None = None  # ISO day, as GitHub shows it
    milestone_updated: datetime | None = None  # the milestone's updated_at: when its due date last moved
    tags: tuple[TagDay, ...] = ()
    # The freeze's start (a day, or a moment), once the release record carries it (releases.freeze).
    freeze_start: date | datetime | None = None
    published_at: datetime | None = None
    release_url: str = ""
    tracking_url: str = ""


def uid(repo: str, kind: str, milestone_number: int, tag: str | None = None) -> str:
    """The event's stable identity: its role in the release, never its date."""
    owner, _, name = repo.lower().partition("/")
    who = f"{_UID_UNSAFE.sub('-', owner)}.{_UID_UNSAFE.sub('-', name)}"
    what = f"{kind}-{milestone_number}" + (f"-{_UID_UNSAFE.sub('-', tag)}" if tag else "")
    return f"{what}@{who}.release-bot"


def sequence_of(changed: datetime | None) -> int:
    """A SEQUENCE that grows with the source's change time (whole seconds since 2020)."""
    if changed is None:
        return 0
    seconds = int((changed.astimezone(UTC) - _SEQUENCE_EPOCH).total_seconds())
    return max(0, min(_MAX_SEQUENCE, seconds))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class _Entry:
    uid: str
    summary: str
    start: date | datetime
    changed: datetime
    description: str
    url: str


def _description(release: CalendarRelease, what: str) -> str:
    lines = [what]
    if release.tracking_url:
        lines.append(f"Tracking issue: {release.tracking_url}")
    if release.milestone_url:
        lines.append(f"Milestone: {release.milestone_url}")
    if release.release_url:
        lines.append(f"GitHub Release: {release.release_url}")
    return "\n".join(lines)


def _entries(repo: str, release: CalendarRelease) -> list[_Entry]:
    v, number = release.version, release.milestone_number
    out: list[_Entry] = []
    due = _day(release.due_day)
    if due is not None:
        changed = release.milestone_updated or _midnight(due)
        out.append(
            _Entry(
                uid(repo, "due", number),
                f"v{v} due",
                due,
                changed,
                _description(release, f"Release v{v} of {repo} is due."),
                release.milestone_url,
            )
        )
    freeze = release.freeze_start
    if freeze is not None:
        changed = freeze if isinstance(freeze, datetime) else _midnight(freeze)
        out.append(
            _Entry(
                uid(repo, "freeze", number),
                f"v{v} code freeze begins",
                freeze,
                changed,
                _description(release, f"The code freeze of v{v} begins."),
                release.tracking_url,
            )
        )
    for tag in release.tags:
        day = _day(tag.day)
        if day is None:
            continue
        kind = "release candidate" if tag.candidate else "final tag"
        out.append(
            _Entry(
                uid(repo, "tag", number, tag.name),
                f"{tag.name} tagged ({kind})",
                day,
                _midnight(day),
                _description(release, f"{tag.name} of {repo} was tagged ({kind})."),
                release.tracking_url,
            )
        )
    if release.published_at is not None:
        moment = release.published_at.astimezone(UTC)
        out.append(
            _Entry(
                uid(repo, "published", number),
                f"v{v} published",
                moment,
                moment,
                _description(release, f"Release v{v} of {repo} was published."),
                release.release_url,
            )
        )
    return out


def build_calendar(repo: str, releases: Sequence[CalendarRelease]) -> bytes:
    """The feed of ``repo`` (``owner/name``): deterministic for the same facts."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Releases of {repo}")
    cal.add("x-wr-caldesc", f"Due dates, code freezes, tags and publications of {repo}'s releases")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")  # the same, in the older spelling Outlook and others read
    entries = [e for r in releases for e in _entries(repo, r)]
    for entry in sorted(entries, key=lambda e: (_sort_key(e.start), e.uid)):
        event = Event()
        event.add("uid", entry.uid)
        event.add("summary", entry.summary)
        event.add("dtstamp", entry.changed.astimezone(UTC))
        event.add("last-modified", entry.changed.astimezone(UTC))
        event.add("sequence", sequence_of(entry.changed))
        if isinstance(entry.start, datetime):
            event.add("dtstart", entry.start.astimezone(UTC))
            event.add("dtend", entry.start.astimezone(UTC) + timedelta(minutes=30))
        else:
            event.add("dtstart", entry.start)
            event.add("dtend", entry.start + timedelta(days=1))
        event.add("transp", "TRANSPARENT")  # a release date does not make anyone busy
        event.add("description", entry.description)
        if entry.url:
            event.add("url", entry.url)
        cal.add_component(event)
    return cal.to_ical()


def _sort_key(start: date | datetime) -> str:
    return start.astimezone(UTC).isoformat() if isinstance(start, datetime) else start.isoformat()
