"""What the tracking issue body and the retrospective show, computed from the facts (pure).

``release_view`` builds the ``TrackingView`` that ``bot.core.tracking.render_tracking_body`` renders;
``retrospective`` the figures and carry-over moves of a closed milestone. The notes' part of the
body (``NotesSummary``) comes from the notes apply step, the only input that is known after a write
(the URL of a draft created in this run).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.announce.model import Highlight
from bot.core.checklists import Progress, StageChecklist, all_checklists
from bot.core.due_dates import github_due_day
from bot.core.freeze.settings import FreezeSettings
from bot.core.next_change import next_day
from bot.core.permissions import RoleRule
from bot.core.release_types import Item, Milestone, ReleaseFacts, local_date
from bot.core.stages import DEPLOY, STRICT, StageRecord
from bot.core.tracking import (
    CarryOver,
    ItemRef,
    RetroFigures,
    Scope,
    TrackingState,
    TrackingView,
    neutralize,
)
from bot.core.versions import Version, duplicate_versions, next_on_line, next_release, rc_tag, version_text

_PROBLEM_RE = re.compile(r"^(?P<where>\S+?):(?P<line>\d+): (?P<message>.+)$")
MAX_CONFIG_PROBLEMS = 10


@dataclass(frozen=True)
class ReleaseSettings:
    """The ``releases:``, ``stages:`` and ``roles:`` configuration the plan reads, typed
    (``bot.config.repo_config.RepoConfig.release_settings`` builds it: the schema holds the defaults)."""

    config: Mapping[str, Any]  # the effective configuration, for the core helpers that take it
    timezone_name: str
    tz: ZoneInfo
    timezone_known: bool
    mode: str
    monitor_environment: str
    feedback_labels: frozenset[str]
    tracking_label: str
    title_template: str
    checklists: Mapping[str, StageChecklist]
    roles: Mapping[str, RoleRule]  # who holds which role, for the words of a refusal
    freeze: FreezeSettings | None = None  # ``releases.freeze``; None: no code freeze configured

    @classmethod
    def create(cls, config: Mapping[str, Any], *, timezone: str, mode: str, monitor_environment: str,
               feedback_labels: Iterable[str], tracking_label: str, title_template: str,
               roles: Mapping[str, RoleRule]) -> ReleaseSettings:
        """From configured values (an unknown time zone falls back to UTC, said by ``timezone_known``)."""
        try:
            tz, known = ZoneInfo(timezone), True
        except (ZoneInfoNotFoundError, ValueError):
            tz, known = ZoneInfo("UTC"), False
        return cls(
            config=config,
            timezone_name=timezone,
            tz=tz,
            timezone_known=known,
            mode=STRICT if mode == STRICT else "agile",
            monitor_environment=monitor_environment,
            feedback_labels=frozenset(label.lower() for label in feedback_labels),
            tracking_label=tracking_label,
            title_template=title_template,
            checklists=all_checklists(config),
            roles=roles,
        )

    def with_freeze(self, freeze: FreezeSettings | None) -> ReleaseSettings:
        return replace(self, freeze=freeze)

    def title(self, version: Version) -> str:
        # Plain replacement, not str.format: the template comes from the repository.
        return self.title_template.replace("{version}", version_text(version))[:256]


@dataclass(frozen=True)
class NotesSummary:
    """What the release notes report on the tracking issue (``bot.reconcilers.release_notes``)."""

    release_url: str | None = None
    published: bool = False
    errors: tuple[str, ...] = ()
    off_milestone: tuple[ItemRef, ...] = ()  # merged into the target without the milestone
    not_on_branch: tuple[ItemRef, ...] = ()  # in the milestone, not on the release branch
    highlights: tuple[Highlight, ...] = ()  # what ships, by category (the announcements tell it)


def config_error_warning(error: str, last_valid_in_use: bool) -> str:
    """The configuration problems as people read them on the tracking issue: file, line, message.

    The loader renders one problem per line as ``owner/repo:path:LINE: dotted.path: message``.
    The messages quote values from the file (user text): neutralized, bounded.
    """
    problems: list[str] = []
    for raw in error.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _PROBLEM_RE.match(line)
        if match:
            where, message = neutralize(match["where"], 200), neutralize(match["message"], 300)
            problems.append(f"`{where}` line {match['line']}: {message}")
        else:
            problems.append(neutralize(line, 300))
    shown = problems[:MAX_CONFIG_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(f"and {len(problems) - len(shown)} more (run `release-bot check-config`)")
    in_use = (
        "the last valid configuration is in use"
        if last_valid_in_use
        else "no valid configuration was ever seen: the defaults are in use and the merge gate fails closed"
    )
    return f"Configuration error in `.github/release-bot.yml` ({in_use}): " + "; ".join(
        shown or ["unreadable"]
    )


def due_date(milestone: Milestone | None) -> str | None:
    """The calendar day GitHub shows for the milestone (a US Pacific day: bot.core.due_dates)."""
    return github_due_day(milestone.due_on_text) if milestone is not None else None


def shipped_date(facts: ReleaseFacts, record: StageRecord, tz: ZoneInfo) -> str | None:
    """When the release shipped: the published GitHub Release's date (a fact, in the configured
    zone), else the day the final tag was first seen (recorded when Deploy began)."""
    release = facts.published_release()
    if release is not None and release.published_at is not None:
        return local_date(release.published_at, tz)
    return record.began.get(DEPLOY)


def overdue(
    facts: ReleaseFacts, recorded: str | None, record: StageRecord, tz: ZoneInfo, today: str
) -> str | None:
    """The due date once it has passed with the release not shipped (sticky for that due date).

    Decided against today's date in the configured zone and kept in the record: the body shows
    'late' from the record, so re-rendering never depends on the clock; the one write that records
    it happens on the first reconcile after the due date.
    """
    due = due_date(facts.milestone)
    if due is None:
        return None
    if recorded == due:
        return due
    if shipped_date(facts, record, tz) is None and today > due:
        return due
    return None


def next_overdue_day(
    facts: ReleaseFacts, recorded: str | None, record: StageRecord, tz: ZoneInfo, today: str
) -> str | None:
    """The day ``overdue`` turns true with no event (the day after the due date), while it is still
    ahead and the release unshipped; it is also the moment of the ``late`` announcement."""
    due = due_date(facts.milestone)
    if due is None or recorded == due or shipped_date(facts, record, tz) is not None:
        return None
    day = next_day(due)
    return day if day > today else None


def scope_of(items: tuple[Item, ...]) -> Scope:
    issues = [i for i in items if not i.is_pull_request]
    prs = [i for i in items if i.is_pull_request]
    return Scope(
        open_issues=sum(1 for i in issues if i.state == "open"),
        closed_issues=sum(1 for i in issues if i.state != "open"),
        merged_prs=sum(1 for p in prs if p.merged),
        open_prs=sum(1 for p in prs if p.state == "open"),
        closed_unmerged_prs=sum(1 for p in prs if p.state != "open" and not p.merged),
    )


def item_ref(item: Item) -> ItemRef:
    return ItemRef(item.number, item.title, item.is_pull_request, item.author)


def duplicate_warning(facts: ReleaseFacts, version: Version) -> str | None:
    for other, group in duplicate_versions(
        facts.open_milestones, facts.conventions.milestone_pattern
    ).items():
        if other == version and any(m.number == facts.milestone_number for m in group):
            names = ", ".join(f"#{m.number} ({neutralize(m.title, 80)})" for m in group)
            keeper = min(m.number for m in group)
            return (
                f"Several open milestones name version {version_text(other)}: {names}. Keep one; "
                f"until then the release notes follow milestone #{keeper}."
            )
    return None


@dataclass(frozen=True)
class ViewInputs:
    """Everything the body shows except what a run's writes settle (state, notes, record id)."""

    facts: ReleaseFacts
    version: Version
    settings: ReleaseSettings
    warnings: tuple[str, ...]  # configuration errors, duplicates, a strict hold (notes errors follow)
    links: tuple[tuple[str, str], ...] = ()  # (label, url) after the release's own: the release calendar


def release_view(
    inputs: ViewInputs,
    state: TrackingState,
    progress: Mapping[str, Progress],
    notes: NotesSummary | None,
    record_id: int | None,
) -> TrackingView:
    facts, version, settings = inputs.facts, inputs.version, inputs.settings
    milestone = facts.milestone
    warnings = list(inputs.warnings)
    for error in notes.errors if notes is not None else ():
        warnings.append(f"Release notes: {' '.join(str(error).split())[:300]}")
    html_base = milestone.html_url if milestone is not None else ""
    repo_html = html_base.rsplit("/milestone/", 1)[0] if "/milestone/" in html_base else ""
    branch = facts.branch_name or ""
    release, draft = facts.published_release(), facts.draft_release()
    release_state: str | None
    if notes is not None and notes.release_url:
        release_state, release_url = ("published" if notes.published else "draft"), notes.release_url
    elif release is not None:
        release_state, release_url = "published", release.html_url
    elif draft is not None:
        release_state, release_url = "draft", draft.html_url
    else:
        release_state, release_url = None, None
    links: list[tuple[str, str]] = []
    if html_base:
        links.append(("Milestone", html_base))
    if repo_html and facts.branch_exists:
        links.append(("Release branch", f"{repo_html}/tree/{branch}"))
    if release_url:
        links.append(("GitHub Release", release_url))
    links += inputs.links
    return TrackingView(
        milestone_number=facts.milestone_number,
        milestone_title=facts.milestone_title,
        milestone_url=html_base,
        milestone_open=facts.milestone_open,
        version=version_text(version),
        due_date=due_date(milestone),
        timezone=settings.timezone_name,
        shipped_date=shipped_date(facts, state.stages, settings.tz),
        branch=branch,
        branch_url=f"{repo_html}/tree/{branch}" if repo_html and facts.branch_exists else None,
        candidate_tags=tuple(rc_tag(version, n, facts.conventions.rc_tag_pattern) for n in facts.candidates),
        final_tag=facts.final_tag_name or "",
        final_tag_exists=facts.final_tag_exists,
        release_state=release_state,
        release_url=release_url,
        mode=settings.mode,
        state=state,
        checklists=settings.checklists,
        progress=progress,
        scope=scope_of(facts.milestone_items),
        off_milestone=notes.off_milestone if notes is not None else (),
        not_on_branch=notes.not_on_branch if notes is not None else (),
        feedback=tuple(ItemRef(n, "") for n in state.feedback),
        warnings=tuple(warnings),
        links=tuple(links),
        record_id=record_id,
    )


@dataclass(frozen=True)
class CarryOverMove:
    item: int
    to_milestone: int | None  # None: nowhere to go (the retrospective says it needs a home)


def retrospective(
    facts: ReleaseFacts,
    version: Version,
    record: StageRecord,
    settings: ReleaseSettings,
    today: str,
    branch_pulls: frozenset[int],
) -> tuple[RetroFigures, tuple[CarryOver, ...], tuple[CarryOverMove, ...]]:
    """The figures of a closed milestone and where its open items go: open pull requests into the
    release branch → the next open milestone of the same line; other open items → the next open
    version milestone in semver order."""
    items = facts.milestone_items
    open_items = [i for i in items if i.state == "open"]
    delivered = [
        i
        for i in items
        if (i.is_pull_request and i.merged)
        or (not i.is_pull_request and i.state == "closed" and i.state_reason != "not_planned")
    ]
    merged = [i for i in items if i.merged]
    contributors = tuple(sorted({i.author for i in merged if i.author}, key=str.lower))
    others = [m for m in facts.open_milestones if m.number != facts.milestone_number]
    line_target = next_on_line(version, others, settings.config)
    any_target = next_release(version, others, settings.config)
    carried: list[CarryOver] = []
    moves: list[CarryOverMove] = []
    for item in open_items:
        target = line_target if item.number in branch_pulls else any_target
        carried.append(CarryOver(item_ref(item), target.title if target else None))
        moves.append(CarryOverMove(item.number, target.number if target else None))
    shipped = shipped_date(facts, record, settings.tz)
    milestone = facts.milestone
    figures = RetroFigures(
        version=version_text(version),
        planned=len(items),
        delivered=len(delivered),
        slipped=len(open_items),
        merged_prs=len(merged),
        contributors=contributors,
        created_date=local_date(milestone.created_at, settings.tz) if milestone is not None else None,
        shipped_date=shipped,
        due_date=due_date(milestone),
        timezone=settings.timezone_name,
        overdue=shipped is None and overdue(facts, None, record, settings.tz, today) is not None,
    )
    return figures, tuple(carried), tuple(moves)
