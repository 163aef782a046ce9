"""What GitHub shows about one release, as frozen values: the facts ``plan_release`` decides from.

The github layer (``bot.github.release_json``) builds these from GitHub's JSON, parsing every
timestamp once; nothing here knows a dict of GitHub JSON. Fields a listing may leave out are given
their empty value (a milestone without ``html_url`` has ``""``), as the reconciler always treated
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.tracking import TrackingState
from bot.core.versions import (
    ReleaseConventions,
    TagInfo,
    Version,
    final_tag,
    parse_milestone_title,
    tags_of,
    version_text,
)


def github_time(moment: datetime | None) -> str | None:
    """GitHub's own spelling of a moment (``2026-11-26T05:00:00Z``): what goes back as ``since``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def local_date(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """The calendar day of ``moment`` in the configured zone (ISO), None without a moment."""
    return moment.astimezone(tz).date().isoformat() if moment is not None else None


@dataclass(frozen=True)
class Milestone:
    number: int
    title: str
    state: str = "open"
    due_on: datetime | None = None
    due_on_text: str | None = None  # as GitHub wrote it: the due day is read from it (core.due_dates)
    created_at: datetime | None = None
    closed_at: datetime | None = None
    html_url: str = ""

    @property
    def open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class Item:
    """An issue or a pull request as the issues listing shows it."""

    number: int
    title: str = ""
    body: str = ""
    state: str = "open"
    state_reason: str | None = None
    author: str = ""
    author_type: str = ""  # "User" | "Bot" | …
    labels: tuple[str, ...] = ()
    is_pull_request: bool = False
    merged_at: datetime | None = None
    merged_at_text: str | None = None  # as GitHub wrote it (the notes show it unchanged)
    created_at: datetime | None = None
    milestone: Milestone | None = None
    html_url: str = ""

    @property
    def merged(self) -> bool:
        return bool(self.merged_at_text)

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str = ""
    author: str = ""
    author_type: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_at_text: str = ""  # as GitHub wrote them: an edit is told by the two differing
    updated_at_text: str = ""


@dataclass(frozen=True)
class Release:
    """The fields of a GitHub Release the bot cares about."""

    id: int
    tag_name: str = ""
    name: str = ""
    body: str = ""
    draft: bool = False
    prerelease: bool = False
    target_commitish: str = ""
    author: str = ""
    html_url: str = ""
    published_at: datetime | None = None


@dataclass(frozen=True)
class Tag:
    name: str
    sha: str = ""


@dataclass(frozen=True)
class Deployment:
    """A deployment and the states its statuses reported (newest listing first)."""

    id: int
    ref: str = ""
    environment: str = ""
    states: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        return "success" in self.states


@dataclass(frozen=True)
class RecordFacts:
    """The verified release record: the App's own check run for this milestone."""

    check_run_id: int
    state: TrackingState
    written: str  # the record's JSON as written (canonical): an unchanged state is not rewritten


@dataclass(frozen=True)
class RoleAnswer:
    login: str
    role: str  # "qa" | "release_managers"
    holds: bool


@dataclass(frozen=True)
class ReleaseFacts:
    """What GitHub shows about one milestone's release, read once per reconcile
    (``bot.github.release_facts``).

    The optional reads (``None``: not read) are made only when the plan asks for them
    (``ReleasePlan.wants``): a steady release reads none of them.
    """

    repo_full_name: str
    milestone_number: int
    milestone: Milestone | None  # None: the milestone is gone (404)
    conventions: ReleaseConventions
    bot_login: str = ""
    open_milestones: tuple[Milestone, ...] = ()
    all_items: tuple[Item, ...] = ()  # issues + pull requests, the tracking issue included
    tracking_issue: Item | None = None
    # What the bot remembers about the release, from the App's own check run (never from the
    # tracking issue body, which people can edit). None: no verified record found.
    record: RecordFacts | None = None
    tracking_comments: tuple[Comment, ...] = ()
    # False when only the comments changed since the last read were listed (``?since=``): stage
    # comments missing from the list are unchanged, their record is in the release record.
    comments_complete: bool = True
    tags: tuple[Tag, ...] = ()
    branch_name: str | None = None  # the release branch this version uses
    branch_sha: str | None = None  # None while the branch does not exist
    releases: tuple[Release, ...] = ()  # the first page of the listing, newest first
    releases_complete: bool = True  # under a page: the listing holds every release
    newest_deployment: Deployment | None = None  # of the final tag to the monitor environment
    # Read on demand (ReleasePlan.wants):
    roles: tuple[RoleAnswer, ...] = ()
    feedback_issues: tuple[Item, ...] | None = None  # issues created since Monitor began
    branch_pulls: frozenset[int] | None = None  # open pull requests into the release branch
    comments_by_id: tuple[Comment, ...] = ()  # stage comments read by id (not in the ?since= listing)
    comments_read_by_id: frozenset[int] = frozenset()  # asked for (a deleted one is not found)

    # -- derived (no I/O) --------------------------------------------------------------------
    @property
    def milestone_title(self) -> str:
        return self.milestone.title if self.milestone is not None else ""

    @property
    def milestone_open(self) -> bool:
        return self.milestone is not None and self.milestone.open

    @property
    def version_obj(self) -> Version | None:
        if self.milestone is None:
            return None
        return parse_milestone_title(self.milestone_title, self.conventions.milestone_pattern)

    @property
    def version(self) -> str | None:
        v = self.version_obj
        return version_text(v) if v else None

    @property
    def tag_names(self) -> frozenset[str]:
        return frozenset(t.name for t in self.tags)

    @property
    def branch_exists(self) -> bool:
        return self.branch_sha is not None

    @property
    def release_branch(self) -> str | None:
        """The branch name when it exists (what the notes target)."""
        return self.branch_name if self.branch_sha else None

    @property
    def milestone_items(self) -> tuple[Item, ...]:
        """The milestone's issues and pull requests, the tracking issue excluded (never counted)."""
        tracking = self.tracking_issue.number if self.tracking_issue is not None else None
        return tuple(item for item in self.all_items if item.number != tracking)

    @property
    def release_tags(self) -> list[TagInfo]:
        v = self.version_obj
        return tags_of(v, self.tag_names, self.conventions) if v else []

    @property
    def candidates(self) -> tuple[int, ...]:
        return tuple(t.rc for t in self.release_tags if t.rc is not None)

    @property
    def final_tag_name(self) -> str | None:
        v = self.version_obj
        return final_tag(v, self.conventions.final_tag_pattern) if v else None

    @property
    def final_tag_exists(self) -> bool:
        return any(t.rc is None for t in self.release_tags)

    def published_release(self) -> Release | None:
        tag = self.final_tag_name
        return next((r for r in self.releases if r.tag_name == tag and not r.draft), None)

    def draft_release(self) -> Release | None:
        marker = f"release-bot:notes:{self.milestone_number}"
        return next((r for r in self.releases if r.draft and marker in r.body), None)

    def role_of(self, login: str, role: str) -> bool | None:
        """Whether ``login`` holds ``role``, None when it was not looked up."""
        return next((a.holds for a in self.roles if a.login == login and a.role == role), None)


@dataclass(frozen=True)
class Wants:
    """Reads the plan needs before it can decide (made by the github layer, then planned again)."""

    roles: frozenset[tuple[str, str]] = frozenset()  # (login, role)
    feedback_since: datetime | None = None
    branch_pulls: bool = False
    comment_ids: frozenset[int] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.roles or self.feedback_since or self.branch_pulls or self.comment_ids)
