"""What the release calendar shows of one repository, read with the App's installation client.

The feed is served to calendar clients that cannot sign in, so the web process reads as the App
(``bot.web.calendar``), through the same revalidating response cache as every other App read.
The reads are the dashboard's own (``bot.github.dashboard_io``), fewer of them:

- the milestones (due dates, one request per 100, at most 3 pages);
- the first page of releases (publication moments);
- per open release, and per release among the ``MAX_CLOSED_WITH_RECORD`` closed most recently,
  its issues (for the bot's tracking issue) and the release record the issue points at (the days
  its tags were first seen): 2 requests each.

Closed releases beyond those show their due date and publication only. Every artifact counts only
when the App wrote it (``dashboard_io``'s checks). Names follow the default configuration, as the
dashboard's do. Frozen facts out (``bot.core.calendar.CalendarRelease``), no raw dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.config.defaults import default_config
from bot.core.calendar import CalendarRelease, TagDay
from bot.core.due_dates import github_due_day
from bot.core.tracking import TrackingState
from bot.core.versions import final_tag, parse_milestone_title, parse_tag, version_text
from bot.github.client import GitHubClient
from bot.github.dashboard_io import MAX_MILESTONE_PAGES, _get, _milestone_items, _state_of
from bot.github.paging import list_all
from bot.github.paths import repo_path
from bot.github.release_json import parse_time
from bot.github.user_io import RepoRef

MAX_CLOSED_WITH_RECORD = 3  # closed releases whose tag days are still read (the newest closed)
_DEFAULTS = default_config()


def freeze_start_of(state: TrackingState) -> date | None:
    """The day the release's code freeze began, as the release record keeps it
    (``TrackingState.freeze.since``, ``releases.freeze``); None for a record without a freeze.
    Read by name, so a record written before freezes existed reads as none."""
    since = getattr(getattr(state, "freeze", None), "since", None)
    if not isinstance(since, str) or not since:
        return None
    try:
        return date.fromisoformat(since[:10])
    except ValueError:
        return None


def _tags(state: TrackingState) -> tuple[TagDay, ...]:
    out = []
    for name, day in sorted(state.tag_days.items(), key=lambda kv: (kv[1], kv[0])):
        info = parse_tag(name)
        out.append(TagDay(name=name, day=day, candidate=info is None or info.rc is not None))
    return tuple(out)


def read_calendar(gh: GitHubClient, repo: str, bot_login: str, app_id: int) -> tuple[CalendarRelease, ...]:
    """Every version milestone of ``repo`` as the calendar shows it."""
    ref = RepoRef(full_name=repo, private=True, html_url="", installation_id=0, bot_login=bot_login)
    milestones = list_all(
        gh, f"{repo_path(repo)}/milestones", {"state": "all", "sort": "due_on"}, max_pages=MAX_MILESTONE_PAGES
    )
    pattern = _DEFAULTS["releases"]["milestone_pattern"]
    final_pattern = _DEFAULTS["releases"]["final_tag_pattern"]
    versions = {}
    for milestone in milestones:
        parsed = parse_milestone_title(str(milestone.get("title") or ""), pattern)
        if parsed is not None and isinstance(milestone.get("number"), int):
            versions[int(milestone["number"])] = (milestone, parsed)
    if not versions:
        return ()
    listing = _get(gh, f"{repo_path(repo)}/releases", {"per_page": 100}) or []
    published: dict[str, Mapping[str, Any]] = {
        str(r.get("tag_name")): r
        for r in listing
        if isinstance(r, Mapping) and not r.get("draft") and r.get("published_at")
    }
    closed = sorted(
        (m for m, _ in versions.values() if m.get("state") == "closed"),
        key=lambda m: str(m.get("closed_at") or ""),
        reverse=True,
    )
    with_record = {int(m["number"]) for m, _ in versions.values() if m.get("state") == "open"}
    with_record |= {int(m["number"]) for m in closed[:MAX_CLOSED_WITH_RECORD]}
    out = []
    for number, (milestone, version) in sorted(versions.items()):
        tracking_url, state = "", TrackingState()
        if number in with_record:
            items = _milestone_items(gh, ref, number)
            state = _state_of(gh, ref, items.tracking, number, app_id)
            tracking_url = str(items.tracking.get("html_url") or "") if items.tracking else ""

        release = published.get(final_tag(version, final_pattern))
        out.append(
            CalendarRelease(
                milestone_number=number,
                version=version_text(version),
                milestone_url=str(milestone.get("html_url") or ""),
                due_day=github_due_day(milestone.get("due_on")),
                milestone_updated=parse_time(milestone.get("updated_at")),
                tags=_tags(state),
                freeze_start=freeze_start_of(state),
                published_at=parse_time(release.get("published_at")) if release else None,
                release_url=str(release.get("html_url") or "") if release else "",
                tracking_url=tracking_url,
            )
        )
    return tuple(out)
