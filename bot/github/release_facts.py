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
                                                              all of them, 1 per 100, when nothing is
                                                              recorded)
    GET /repos/{o}/{r}/git/matching-refs/tags                1  (every tag: this release's and the
                                                              previous one)
    GET /repos/{o}/{r}/git/matching-refs/heads/{prefix}      1  (the release branch, among every head
                                                              under the pattern's literal prefix:
                                                              release discovery's own read)
    GET /repos/{o}/{r}/releases                              1  (first page: the draft and published release)

    GET /repos/{o}/{r}/deployments?ref=…&environment=…       in Deploy, until a success is recorded
    GET /repos/{o}/{r}/deployments/{id}/statuses               (the newest deployment's)

The reads the plan asks for once it has looked (``bot.core.release_types.Wants``) are here too:
``read_wanted`` — feedback issues in Monitor, open pull requests into the branch for the
carry-over, stage comments by id for a fact tick. Every list is read at ``per_page=100`` through
``bot.github.paging`` (each page one counted call). What comes back is frozen facts
(``bot.core.release_types``): no dict of GitHub JSON leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from github import GithubException

from bot.core.release_record import pointer_of
from bot.core.release_types import (
    Deployment,
    Item,
    Milestone,
    RecordFacts,
    ReleaseFacts,
    RoleAnswer,
    Wants,
    github_time,
)
from bot.core.tracking import TrackingState, tracking_milestone_of
from bot.core.versions import branch_for, literal_prefix
from bot.github import repo_io
from bot.github.paging import iter_pages, list_all
from bot.github.paths import repo_path
from bot.github.release_json import (
    comment_of,
    deployment_of,
    item_of,
    milestone_of,
    parse_time,
    release_of,
    tag_of,
)
from bot.github.release_record_io import read_record

if TYPE_CHECKING:
    from github import Github

    from bot.config.repo_config import ReleasesConfig

__all__ = ["api_get", "comments_since", "parse_time", "read_release_facts", "read_wanted", "with_deployment"]

# The tracking issue's comments are read in full; beyond this many pages something is wrong.
MAX_COMMENT_PAGES = 30
MAX_ITEM_PAGES = 100
COMMENTS_SINCE_MARGIN = timedelta(seconds=10)
RELEASES_PAGE = 100


def api_get(gh: Github, path: str, params: dict[str, Any] | None = None) -> Any:
    """One counted GET through PyGithub's requester (returns the decoded JSON)."""
    _headers, data = gh.requester.requestJsonAndCheck("GET", path, parameters=params)
    return data


def _is_bot_tracking(issue: Item, milestone_number: int, bot_login: str) -> bool:
    return (
        issue.author == bot_login
        and not issue.is_pull_request
        and tracking_milestone_of(issue.body) == milestone_number
    )


def find_tracking_issue(
    items: tuple[Item, ...] | list[Item], milestone_number: int, bot_login: str
) -> Item | None:
    """The bot's tracking issue among ``items``: marker for this milestone, written by the bot.

    When several exist (a crash between create and record), the oldest wins; the others are
    left for people to close (the bot never deletes).
    """
    found = [i for i in items if _is_bot_tracking(i, milestone_number, bot_login)]
    return min(found, key=lambda i: i.number) if found else None


def read_release_facts(
    gh: Github,
    repo_full_name: str,
    milestone_number: int,
    bot_login: str,
    releases: ReleasesConfig,
    known_tracking_number: int | None = None,
    app_id: int | None = None,
    known_record_id: int | None = None,
) -> ReleaseFacts:
    """``known_tracking_number``, ``known_record_id``: the tracking issue and the record the bot created
    earlier (from its store). Without an ``app_id`` no record is read (none can be verified).
    ``releases``: the repository's ``releases:`` configuration (``RepoConfig.releases``)."""
    conventions = releases.conventions
    base = repo_path(repo_full_name)
    tracking_label = releases.tracking_label
    open_milestones = tuple(
        milestone_of(m)
        for m in list_all(gh, f"{base}/milestones", {"state": "open"}, max_pages=MAX_ITEM_PAGES)
    )
    milestone = next((m for m in open_milestones if m.number == milestone_number), None)

    try:
        all_items = tuple(
            item_of(i)
            for i in list_all(
                gh,
                f"{base}/issues",
                {"milestone": milestone_number, "state": "all"},
                max_pages=MAX_ITEM_PAGES,
            )
        )
    except GithubException as exc:
        # A milestone that no longer exists is refused as a filter (404/422): no items.
        if exc.status not in (404, 410, 422):
            raise
        all_items = ()
    if milestone is None:
        carried = next(
            (
                i.milestone
                for i in all_items
                if i.milestone is not None and i.milestone.number == milestone_number
            ),
            None,
        )
        milestone = carried or _get_milestone(gh, base, milestone_number)

    tracking = find_tracking_issue(all_items, milestone_number, bot_login)
    if tracking is None and known_tracking_number is not None:
        # Listings can lag a write by a moment on GitHub: the number the bot remembers from creating
        # the issue is checked directly, so a quick second reconcile cannot create a twin.
        try:
            direct = api_get(gh, f"{base}/issues/{int(known_tracking_number)}")
        except GithubException as exc:
            if exc.status not in (404, 410):
                raise
            direct = None
        if isinstance(direct, dict) and _is_bot_tracking(item_of(direct), milestone_number, bot_login):
            tracking = item_of(direct)
    if tracking is None:
        # Not in the milestone: not created yet, moved out by someone, or the milestone is gone.
        candidates = list_all(
            gh,
            f"{base}/issues",
            {"creator": bot_login, "labels": tracking_label, "state": "all"},
            max_pages=MAX_ITEM_PAGES,
        )
        tracking = find_tracking_issue([item_of(c) for c in candidates], milestone_number, bot_login)
    record = None
    if app_id is not None:
        record = _find_record(
            gh,
            repo_full_name,
            milestone_number,
            app_id,
            known_record_id,
            pointer_of(tracking.body) if tracking else None,
        )
    facts = ReleaseFacts(
        repo_full_name=repo_full_name,
        milestone_number=milestone_number,
        milestone=milestone,
        conventions=conventions,
        bot_login=bot_login,
        open_milestones=open_milestones,
        all_items=all_items,
        tracking_issue=tracking,
        record=record,
    )
    if tracking is not None:
        recorded = record.state if record is not None else TrackingState()
        since = comments_since(recorded.comments_seen)
        comments = list_all(
            gh,
            f"{base}/issues/{tracking.number}/comments",
            {"since": since} if since else None,
            max_pages=MAX_COMMENT_PAGES,
        )
        facts = replace(
            facts, tracking_comments=tuple(comment_of(c) for c in comments), comments_complete=since is None
        )

    version = facts.version_obj
    if milestone is None or version is None:
        return facts  # deleted, or not a release: nothing more to read

    # Every page: a repository with more than a page of tags still finds this release's final tag.
    tags = tuple(
        t
        for t in (
            tag_of(ref)
            for ref in list_all(gh, f"{base}/git/matching-refs/tags")
            if isinstance(ref, dict)
        )
        if t is not None
    )
    branch_name = branch_for(version, conventions.branch_pattern)
    prefix = literal_prefix(conventions.branch_pattern)
    branch_sha = _branch_sha(gh, repo_full_name, base, branch_name, prefix)
    try:
        releases = next(iter_pages(gh, f"{base}/releases"), [])
    except GithubException as exc:
        # The repository answered the reads above, so a 404 here means no releases API (some GitHub
        # Enterprise configurations, the sandbox while it grows): treat as no releases.
        if exc.status != 404:
            raise
        releases = []
    return replace(
        facts,
        tags=tags,
        branch_name=branch_name,
        branch_sha=branch_sha,
        releases=tuple(release_of(r) for r in releases),
        releases_complete=len(releases) < RELEASES_PAGE,
    )


def with_deployment(gh: Github, facts: ReleaseFacts, environment: str) -> ReleaseFacts:
    """The facts with the newest deployment of the final tag to the monitor environment, read while
    it matters: the final tag exists, no success is recorded yet and the release is not past Deploy
    (a release the reconciler leaves alone reads none)."""
    recorded = facts.record.state.stages if facts.record is not None else None
    if not facts.final_tag_exists or (
        recorded is not None and (recorded.deployed or _past_deploy(recorded.current))
    ):
        return facts
    return replace(
        facts, newest_deployment=_read_deployment(gh, repo_path(facts.repo_full_name), facts, environment)
    )


def _read_deployment(gh: Github, base: str, facts: ReleaseFacts, environment: str) -> Deployment | None:
    """``environment``: ``releases.monitor_environment``."""
    try:
        deployments = (
            api_get(
                gh,
                f"{base}/deployments",
                {"ref": facts.final_tag_name, "environment": environment, "per_page": 10},
            )
            or []
        )
    except GithubException as exc:
        if exc.status != 404:  # no deployments API here (the repository itself answered): none
            raise
        deployments = []
    if not deployments:
        return None
    newest = max(deployments, key=lambda d: d.get("id", 0))
    statuses = api_get(gh, f"{base}/deployments/{newest['id']}/statuses", {"per_page": 10}) or []
    return deployment_of(newest, statuses)


def _past_deploy(stage: str | None) -> bool:
    from bot.core.stages import MONITOR, index_of

    return stage is not None and index_of(stage) >= index_of(MONITOR)


def read_wanted(
    gh: Github, facts: ReleaseFacts, wants: Wants, role_of: Callable[[str, str], bool]
) -> ReleaseFacts:
    """The reads the plan asked for, added to the facts (``role_of(login, role)``: the cached role
    look-up of ``bot.github.permissions``)."""
    base = repo_path(facts.repo_full_name)
    if wants.roles:
        answers = tuple(RoleAnswer(login, role, role_of(login, role)) for login, role in sorted(wants.roles))
        facts = replace(facts, roles=facts.roles + answers)
    if wants.feedback_since is not None and facts.feedback_issues is None:
        recent = (
            api_get(
                gh,
                f"{base}/issues",
                {
                    "state": "all",
                    "since": github_time(wants.feedback_since),
                    "sort": "created",
                    "direction": "desc",
                    "per_page": 100,
                },
            )
            or []
        )
        facts = replace(facts, feedback_issues=tuple(item_of(i) for i in recent))
    if wants.branch_pulls and facts.branch_pulls is None:
        pulls = (
            list_all(gh, f"{base}/pulls", {"state": "open", "base": facts.branch_name}, max_pages=20)
            if facts.branch_name
            else []
        )
        facts = replace(facts, branch_pulls=frozenset(int(p["number"]) for p in pulls))
    if wants.comment_ids:
        found = list(facts.comments_by_id)
        for comment_id in sorted(wants.comment_ids - facts.comments_read_by_id):
            try:
                found.append(comment_of(api_get(gh, f"{base}/issues/comments/{comment_id}")))
            except GithubException as exc:
                if exc.status != 404:  # deleted by someone: the next full listing sorts it out
                    raise
        facts = replace(
            facts,
            comments_by_id=tuple(found),
            comments_read_by_id=facts.comments_read_by_id | wants.comment_ids,
        )
    return facts


def _find_record(
    gh: Github, repo: str, milestone_number: int, app_id: int, known: int | None, pointer: int | None
) -> RecordFacts | None:
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
    return github_time(moment - COMMENTS_SINCE_MARGIN)


def _branch_sha(gh: Github, repo: str, base: str, branch_name: str, prefix: str) -> str | None:
    """The release branch's head. Read as release discovery reads the release branches (every
    head under the pattern's literal prefix: the same request, so the ``repo:`` job of a push and
    the releases it wakes share one answer); a pattern without a literal prefix reads its one ref."""
    if prefix and branch_name.startswith(prefix):
        return repo_io.matching_refs(gh, repo, "heads", prefix).get(branch_name) or None
    wanted = f"refs/heads/{branch_name}"
    for ref in api_get(gh, f"{base}/git/matching-refs/heads/{quote(branch_name, safe='/')}") or []:
        # matching-refs is a prefix match: release/1.4 also finds release/1.40.
        if isinstance(ref, dict) and ref.get("ref") == wanted:
            sha = (ref.get("object") or {}).get("sha")
            return sha if isinstance(sha, str) else None
    return None


def _get_milestone(gh: Github, base: str, number: int) -> Milestone | None:
    try:
        data = api_get(gh, f"{base}/milestones/{number}")
    except GithubException as exc:
        if exc.status in (404, 410):
            return None
        raise
    return milestone_of(data) if isinstance(data, dict) else None
