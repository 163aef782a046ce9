"""One read of everything a ``release:`` reconcile needs about one milestone: ``ReleaseFacts``.

Budget (issue 4): the whole release reconcile — this read plus the release notes' — makes at most
ceil(N/100) + ceil(C/250) + 8 read calls for N milestone items and C commits. What this module reads:

    GET /repos/{o}/{r}/milestones?state=open                 1  (ours, duplicates, carry-over targets)
    GET /repos/{o}/{r}/issues?milestone={n}&state=all        ceil(N/100)  (items carry pull_request.merged_at
                                                              and the milestone itself when it is closed)
    GET /repos/{o}/{r}/milestones/{n}                        only when the milestone is neither open nor
                                                              carried by an item (new, or deleted: 404)
    GET /repos/{o}/{r}/issues?creator=…&labels=…&state=all   only when the tracking issue is not in the
                                                              milestone (not created yet, moved away)
    GET /repos/{o}/{r}/check-runs/{id}                       1  (the release record: bot.core.release_record)
    GET /repos/{o}/{r}/issues/{t}/comments?since=…           1  (only the comments changed since the last
                                                              read, as the release record notes it;
                                                              all of them, 1 per 100, when nothing is recorded)
    GET /repos/{o}/{r}/git/matching-refs/tags                1  (every tag: this release's and the previous one)
    GET /repos/{o}/{r}/git/matching-refs/heads/{branch}      1  (the release branch)
    GET /repos/{o}/{r}/releases                              1  (first page: the draft and published release)

Stage-dependent extras are read by the reconciler (deployments in Deploy, feedback in Monitor).
Every list is read at ``per_page=100`` through ``bot.github.paging`` (each page one counted call).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from github import GithubException

from bot.core.release_record import pointer_of
from bot.core.tracking import TrackingState, tracking_milestone_of
from bot.core.versions import (
    ReleaseConventions,
    TagInfo,
    Version,
    branch_for,
    final_tag,
    parse_milestone_title,
    tags_of,
    version_text,
)
from bot.github.paging import iter_pages, list_all
from bot.github.release_record_io import ReleaseRecord, read_record

if TYPE_CHECKING:
    from github import Github

# The tracking issue's comments are read in full; beyond this many pages something is wrong.
MAX_COMMENT_PAGES = 30
MAX_ITEM_PAGES = 100
COMMENTS_SINCE_MARGIN = timedelta(seconds=10)


def api_get(gh: Github, path: str, params: dict[str, Any] | None = None) -> Any:
    """One counted GET through PyGithub's requester (returns the decoded JSON)."""
    _headers, data = gh.requester.requestJsonAndCheck("GET", path, parameters=params)
    return data


def repo_path(repo_full_name: str) -> str:
    owner, _, name = repo_full_name.partition("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class ReleaseFacts:
    """What GitHub shows about one milestone's release, read once per reconcile.

    The attribute names the release-notes reconciler reads (``milestone_number``, ``milestone_title``,
    ``version``, ``release_branch``, ``default_branch``, ``tag_names``, ``milestone_items``) are part of
    its interface (``bot.reconcilers.release_notes.sync_release_notes``).
    """

    repo_full_name: str
    milestone_number: int
    milestone: dict[str, Any] | None  # None: the milestone is gone (404)
    conventions: ReleaseConventions
    open_milestones: list[dict[str, Any]] = field(default_factory=list)
    all_items: list[dict[str, Any]] = field(default_factory=list)  # issues + PRs, tracking issue included
    tracking_issue: dict[str, Any] | None = None
    # What the bot remembers about the release, from the App's own check run (never from the
    # tracking issue body, which people can edit). None: no verified record found.
    record: ReleaseRecord | None = None
    tracking_comments: list[dict[str, Any]] = field(default_factory=list)
    # False when only the comments changed since the last read were listed (``?since=``): stage
    # comments missing from the list are unchanged, their record is in the tracking issue's state.
    comments_complete: bool = True
    tag_names: set[str] = field(default_factory=set)
    branch_name: str | None = None  # the release branch this version uses
    branch_sha: str | None = None  # None while the branch does not exist
    releases: list[dict[str, Any]] = field(default_factory=list)
    publish_allowed: bool = True  # strict mode: the release may not be published before Deploy
    bot_login: str = ""
    _default_branch: str | None = None
    _gh: Any = None

    # -- derived ---------------------------------------------------------------------------
    @property
    def milestone_title(self) -> str:
        return str((self.milestone or {}).get("title") or "")

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
    def milestone_open(self) -> bool:
        return (self.milestone or {}).get("state") == "open"

    @property
    def release_branch(self) -> str | None:
        """The branch name when it exists (what the notes target)."""
        return self.branch_name if self.branch_sha else None

    @property
    def milestone_items(self) -> list[dict[str, Any]]:
        """The milestone's issues and pull requests, the tracking issue excluded (never counted)."""
        tracking = (self.tracking_issue or {}).get("number")
        return [item for item in self.all_items if item.get("number") != tracking]

    # Aliases the notes reconciler looks for (bot.reconcilers.release_notes).
    @property
    def items(self) -> list[dict[str, Any]]:
        return self.milestone_items

    @property
    def tags(self) -> set[str]:
        return self.tag_names

    @property
    def branch_exists(self) -> bool:
        return self.branch_sha is not None

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

    @property
    def default_branch(self) -> str:
        """Read on first use only (one call): the notes need it when the release branch does not exist."""
        if self._default_branch is None:
            data = api_get(self._gh, repo_path(self.repo_full_name))
            self._default_branch = str(data.get("default_branch") or "main")
        return self._default_branch

    def published_release(self) -> dict[str, Any] | None:
        tag = self.final_tag_name
        for release in self.releases:
            if release.get("tag_name") == tag and not release.get("draft"):
                return release
        return None

    def draft_release(self) -> dict[str, Any] | None:
        marker = f"release-bot:notes:{self.milestone_number}"
        for release in self.releases:
            if release.get("draft") and marker in (release.get("body") or ""):
                return release
        return None


def _is_bot_tracking(issue: dict[str, Any], milestone_number: int, bot_login: str) -> bool:
    user = (issue.get("user") or {}).get("login")
    return (
        user == bot_login
        and not issue.get("pull_request")
        and tracking_milestone_of(issue.get("body")) == milestone_number
    )


def find_tracking_issue(items: list[dict[str, Any]], milestone_number: int, bot_login: str) -> dict[str, Any] | None:
    """The bot's tracking issue among ``items``: marker for this milestone, written by the bot.

    When several exist (a crash between create and record), the oldest wins; the others are
    left for people to close (the bot never deletes).
    """
    found = [i for i in items if _is_bot_tracking(i, milestone_number, bot_login)]
    return min(found, key=lambda i: i["number"]) if found else None


def read_release_facts(
    gh: Github,
    repo_full_name: str,
    milestone_number: int,
    bot_login: str,
    config: dict[str, Any],
    known_tracking_number: int | None = None,
    app_id: int | None = None,
    known_record_id: int | None = None,
) -> ReleaseFacts:
    """``known_tracking_number``, ``known_record_id``: the tracking issue and the record the bot created
    earlier (from its store). Without an ``app_id`` no record is read (none can be verified)."""
    conventions = ReleaseConventions.from_config(config)
    base = repo_path(repo_full_name)
    tracking_label = str(((config.get("releases") or {}).get("tracking_label")) or "release-tracking")
    facts = ReleaseFacts(
        repo_full_name=repo_full_name,
        milestone_number=milestone_number,
        milestone=None,
        conventions=conventions,
        bot_login=bot_login,
        _gh=gh,
    )
    facts.open_milestones = list_all(gh, f"{base}/milestones", {"state": "open"}, max_pages=MAX_ITEM_PAGES)
    milestone = next((m for m in facts.open_milestones if m.get("number") == milestone_number), None)

    try:
        facts.all_items = list_all(
            gh, f"{base}/issues", {"milestone": milestone_number, "state": "all"}, max_pages=MAX_ITEM_PAGES
        )
    except GithubException as exc:
        # A milestone that no longer exists is refused as a filter (404/422): no items.
        if exc.status not in (404, 410, 422):
            raise
        facts.all_items = []
    if milestone is None:
        carried = next((i.get("milestone") for i in facts.all_items if (i.get("milestone") or {}).get("number") == milestone_number), None)
        milestone = carried or _get_milestone(gh, base, milestone_number)
    facts.milestone = milestone

    tracking = find_tracking_issue(facts.all_items, milestone_number, bot_login)
    if tracking is None and known_tracking_number is not None:
        # Listings can lag a write by a moment on GitHub: the number the bot remembers from creating
        # the issue is checked directly, so a quick second reconcile cannot create a twin.
        try:
            direct = api_get(gh, f"{base}/issues/{int(known_tracking_number)}")
        except GithubException as exc:
            if exc.status not in (404, 410):
                raise
            direct = None
        if isinstance(direct, dict) and _is_bot_tracking(direct, milestone_number, bot_login):
            tracking = direct
    if tracking is None:
        # Not in the milestone: not created yet, moved out by someone, or the milestone is gone.
        candidates = list_all(
            gh,
            f"{base}/issues",
            {"creator": bot_login, "labels": tracking_label, "state": "all"},
            max_pages=MAX_ITEM_PAGES,
        )
        tracking = find_tracking_issue(candidates, milestone_number, bot_login)
    facts.tracking_issue = tracking
    if app_id is not None:
        facts.record = _find_record(gh, repo_full_name, milestone_number, app_id, known_record_id,
                                    pointer_of(tracking.get("body")) if tracking else None)
    if tracking is not None:
        recorded = TrackingState.from_json(facts.record.state) if facts.record else TrackingState()
        since = comments_since(recorded.comments_seen)
        facts.tracking_comments = list_all(
            gh,
            f"{base}/issues/{tracking['number']}/comments",
            {"since": since} if since else None,
            max_pages=MAX_COMMENT_PAGES,
        )
        facts.comments_complete = since is None

    if milestone is None or facts.version_obj is None:
        return facts  # deleted, or not a release: nothing more to read

    facts.tag_names = {
        ref["ref"].removeprefix("refs/tags/")
        for ref in api_get(gh, f"{base}/git/matching-refs/tags") or []
        if isinstance(ref, dict) and isinstance(ref.get("ref"), str)
    }
    facts.branch_name = branch_for(facts.version_obj, conventions.branch_pattern)
    wanted = f"refs/heads/{facts.branch_name}"
    for ref in api_get(gh, f"{base}/git/matching-refs/heads/{quote(facts.branch_name, safe='/')}") or []:
        # matching-refs is a prefix match: release/1.4 also finds release/1.40.
        if isinstance(ref, dict) and ref.get("ref") == wanted:
            facts.branch_sha = (ref.get("object") or {}).get("sha")
    try:
        facts.releases = next(iter_pages(gh, f"{base}/releases"), [])
    except GithubException as exc:
        # The repository answered the reads above, so a 404 here means no releases API (some GitHub
        # Enterprise configurations, the sandbox while it grows): treat as no releases.
        if exc.status != 404:
            raise
        facts.releases = []
    return facts


def _find_record(gh: Github, repo: str, milestone_number: int, app_id: int, known: int | None,
                 pointer: int | None) -> ReleaseRecord | None:
    """The record the store names, else the one the body's pointer names (each verified: a body
    edited to point elsewhere finds nothing). One read in the steady state."""
    for candidate in dict.fromkeys(c for c in (known, pointer) if c is not None):
        record = read_record(gh, repo, candidate, milestone_number, app_id)
        if record is not None:
            return record
    return None


def comments_since(seen: str | None) -> str | None:
    """The ``since`` of a partial comments listing: the newest ``updated_at`` read last time, less a
    margin for a listing that lags a write (a comment written just before the last read but not
    yet listed then is listed now). None: no record, list everything."""
    moment = parse_time(seen)
    if moment is None:
        return None
    return (moment - COMMENTS_SINCE_MARGIN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _get_milestone(gh: Github, base: str, number: int) -> dict[str, Any] | None:
    try:
        return api_get(gh, f"{base}/milestones/{number}")
    except GithubException as exc:
        if exc.status in (404, 410):
            return None
        raise
