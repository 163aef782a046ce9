"""GitHub reads and writes for release notes: milestone items, tags, comparisons, releases, and
the "released" comment and label.

Every call goes through PyGithub's requester (paced, counted and retried by this layer) and
returns frozen values (``bot.core.release_types.Release``, ``CommitRef``) or plain dicts of items,
so the reconciler knows exactly what it read: no lazy PyGithub objects that fetch behind its back.

Rules from the issue, enforced here: the bot's draft is found by its marker in a release the bot
wrote, never "the first draft"; a release is re-read right before each update; ``target_commitish``
is sent only when it changes; a published release is never turned back into a draft; the previous
release comes from the tags, not from listing every release (GitHub answers 500 past 1,000).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github import Github
from github.GithubException import GithubException, UnknownObjectException

from bot.core.notes.body import split_body
from bot.core.notes.selection import CommitRef
from bot.core.release_types import Release
from bot.github.paging import iter_pages
from bot.github.paths import repo_path
from bot.github.release_json import release_of

COMPARE_PER_PAGE = 250  # GitHub's page size for a comparison's commits (PyGithub's default too)
RELEASE_LIST_MAX_PAGES = 3  # where to look for the bot's draft when the store has no hint
RELEASED_MARKER = "<!-- release-bot:released:{milestone} -->"

PageCallback = Callable[[int, int | None], None]  # (items so far, total if known)


# The release as the notes see it: the frozen ``Release`` of the release facts.
ReleaseRecord = Release


@dataclass(frozen=True)
class DesiredRelease:
    tag_name: str
    name: str
    draft: bool
    prerelease: bool
    target_commitish: str | None  # None: leave as is (e.g. the tag already exists)
    make_latest: bool | None  # only sent when publishing


# ---------------------------------------------------------------- reads


def list_milestone_items(
    gh: Github,
    repo: str,
    milestone_number: int,
    *,
    state: str = "closed",
    on_page: PageCallback | None = None,
) -> list[dict[str, Any]]:
    """Issues and pull requests of the milestone, 100 per page; pull requests carry
    ``pull_request.merged_at`` in this listing, so no request per pull request is needed."""
    items: list[dict[str, Any]] = []
    params = {"milestone": str(milestone_number), "state": state, "sort": "created", "direction": "asc"}
    for page in iter_pages(gh, f"{repo_path(repo)}/issues", params):
        items.extend(page)
        if on_page:
            on_page(len(items), None)
    return items


def list_tag_names(gh: Github, repo: str, prefix: str = "") -> list[str]:
    """Tag names (without ``refs/tags/``) from ``git/matching-refs/tags/{prefix}``."""
    names: list[str] = []
    for page in iter_pages(gh, f"{repo_path(repo)}/git/matching-refs/tags/{quote(prefix, safe='')}"):
        names.extend(str(ref.get("ref", "")).removeprefix("refs/tags/") for ref in page)
    return names


def compare_commits(
    gh: Github, repo: str, base: str, head: str, *, on_page: PageCallback | None = None
) -> list[CommitRef]:
    """Commits reachable from ``head`` and not from ``base``, 250 per page."""
    path = f"{repo_path(repo)}/compare/{quote(base, safe='')}...{quote(head, safe='')}"
    commits: list[CommitRef] = []
    page = 1
    while True:
        headers, data = gh.requester.requestJsonAndCheck(
            "GET", path, parameters={"per_page": COMPARE_PER_PAGE, "page": page}
        )
        batch = data.get("commits") or []
        commits.extend(
            CommitRef(
                str(c.get("sha", "")),
                str((c.get("commit") or {}).get("message") or ""),
                tuple(str(p.get("sha", "")) for p in c.get("parents") or []),
            )
            for c in batch
        )
        total = data.get("total_commits")
        if on_page:
            on_page(len(commits), total if isinstance(total, int) else None)
        # total_commits says when to stop without asking for an empty page; the Link header
        # covers a server that pages smaller than asked.
        if not batch or (isinstance(total, int) and len(commits) >= total) or not _has_next(headers):
            return commits
        page += 1


def _has_next(headers: dict[str, Any]) -> bool:
    link = headers.get("link") or headers.get("Link") or ""
    return 'rel="next"' in link


def get_merge_commit_sha(gh: Github, repo: str, number: int) -> str | None:
    """``merge_commit_sha`` of a merged pull request (the squash commit, or the last commit a
    rebase merge wrote); None when the pull request is gone or GitHub has none."""
    try:
        _h, data = gh.requester.requestJsonAndCheck("GET", f"{repo_path(repo)}/pulls/{int(number)}")
    except UnknownObjectException:
        return None
    sha = data.get("merge_commit_sha")
    return str(sha) if sha and data.get("merged_at") else None


def get_release(gh: Github, repo: str, release_id: int) -> ReleaseRecord | None:
    try:
        _h, data = gh.requester.requestJsonAndCheck("GET", f"{repo_path(repo)}/releases/{release_id}")
    except UnknownObjectException:
        return None
    return release_of(data)


def get_release_by_tag(gh: Github, repo: str, tag: str) -> ReleaseRecord | None:
    """The published release on ``tag`` (GitHub does not find drafts by tag)."""
    try:
        _h, data = gh.requester.requestJsonAndCheck(
            "GET", f"{repo_path(repo)}/releases/tags/{quote(tag, safe='')}"
        )
    except UnknownObjectException:
        return None
    return release_of(data)


def default_branch(gh: Github, repo: str) -> str:
    """The repository's default branch (one read)."""
    _h, data = gh.requester.requestJsonAndCheck("GET", repo_path(repo))
    return str(data.get("default_branch") or "main")


def branch_exists(gh: Github, repo: str, branch: str) -> bool:
    try:
        gh.requester.requestJsonAndCheck("GET", f"{repo_path(repo)}/branches/{quote(branch, safe='')}")
    except UnknownObjectException:
        return False
    return True


def list_milestones(gh: Github, repo: str) -> Iterator[dict[str, Any]]:
    """Every milestone, open and closed, page by page (the CLI looks one up by its version)."""
    for page in iter_pages(gh, f"{repo_path(repo)}/milestones", {"state": "all"}):
        yield from page


@dataclass(frozen=True)
class PullBody:
    """The author and body of a pull request (what ``/release-note`` rewrites)."""

    author: str
    body: str


def pull_body_of(data: dict[str, Any]) -> PullBody:
    return PullBody(str((data.get("user") or {}).get("login") or ""), str(data.get("body") or ""))


def get_pull_body(gh: Github, repo: str, number: int) -> PullBody:
    _h, data = gh.requester.requestJsonAndCheck("GET", f"{repo_path(repo)}/issues/{int(number)}")
    return pull_body_of(data)


def set_pull_body(gh: Github, repo: str, number: int, body: str) -> None:
    gh.requester.requestJsonAndCheck("PATCH", f"{repo_path(repo)}/issues/{int(number)}", input={"body": body})


def is_notes_release(release: ReleaseRecord, milestone_number: int, bot_login: str, tag: str) -> bool:
    """A release is the bot's notes of a milestone only when the bot created it (GitHub keeps the
    creator as ``author`` whoever edits it later), it is on the version's own tag, and it carries
    the milestone's section. The marker alone proves nothing: anyone with contents write can paste
    it into any release's body, the bot's published notes of another version included."""
    return (
        release.author == bot_login
        and release.tag_name == tag
        and split_body(release.body, milestone_number).section is not None
    )


def find_notes_release(
    gh: Github, repo: str, milestone_number: int, bot_login: str, *, tag: str, hint_id: int | None = None
) -> tuple[ReleaseRecord | None, list[ReleaseRecord]]:
    """The bot's release for the milestone on ``tag``, and any duplicate drafts of it (oldest wins).

    ``hint_id`` (kept in the store) saves listing releases; a wrong or stale hint falls back to
    the listing, so a wiped store only costs a read or two.
    """
    if hint_id is not None:
        hinted = get_release(gh, repo, hint_id)
        if hinted is not None and is_notes_release(hinted, milestone_number, bot_login, tag):
            return hinted, []
    found: list[ReleaseRecord] = []
    # Releases are listed newest first; the bot's draft is created when the milestone starts, so
    # it sits near the top. Stop at the first page that has it, or after a few pages.
    for index, page in enumerate(iter_pages(gh, f"{repo_path(repo)}/releases")):
        found.extend(
            r for r in map(release_of, page) if is_notes_release(r, milestone_number, bot_login, tag)
        )
        if found or index + 1 >= RELEASE_LIST_MAX_PAGES:
            break
    return ours_and_duplicates(found)


def ours_and_duplicates(found: list[ReleaseRecord]) -> tuple[ReleaseRecord | None, list[ReleaseRecord]]:
    """Of the bot's releases for one milestone and tag: a published one is the release, otherwise
    the oldest draft; the other drafts are leftovers of a race (published ones are never touched)."""
    if not found:
        return None, []
    found = sorted(found, key=lambda r: (r.draft, r.id))
    return found[0], [r for r in found[1:] if r.draft]


# ---------------------------------------------------------------- writes


def create_release(gh: Github, repo: str, desired: DesiredRelease, body: str) -> ReleaseRecord:
    payload: dict[str, Any] = {
        "tag_name": desired.tag_name,
        "name": desired.name,
        "body": body,
        "draft": desired.draft,
        "prerelease": desired.prerelease,
    }
    if desired.target_commitish:
        payload["target_commitish"] = desired.target_commitish
    if not desired.draft and desired.make_latest is not None:
        payload["make_latest"] = "true" if desired.make_latest else "false"
    _h, data = gh.requester.requestJsonAndCheck("POST", f"{repo_path(repo)}/releases", input=payload)
    return release_of(data)


def release_patch(current: ReleaseRecord, desired: DesiredRelease, body: str) -> dict[str, Any]:
    """The fields to send to bring ``current`` to ``desired``; empty when nothing changes.

    Pure, so the rules are tested without HTTP: never draft=True on a published release,
    ``target_commitish`` only when it changes (and only while a draft: a published release's
    target is its tag), ``make_latest`` only when publishing.
    """
    patch: dict[str, Any] = {}
    if current.body != body:
        patch["body"] = body
    if current.name != desired.name:
        patch["name"] = desired.name
    if current.tag_name != desired.tag_name:
        patch["tag_name"] = desired.tag_name
    if current.prerelease != desired.prerelease:
        patch["prerelease"] = desired.prerelease
    if current.draft and desired.target_commitish and current.target_commitish != desired.target_commitish:
        patch["target_commitish"] = desired.target_commitish
    if current.draft and not desired.draft:
        patch["draft"] = False
        if desired.make_latest is not None:
            patch["make_latest"] = "true" if desired.make_latest else "false"
    return patch


def update_release(
    gh: Github, repo: str, release_id: int, desired: DesiredRelease, body_for: Callable[[str], str]
) -> tuple[ReleaseRecord | None, dict[str, Any]]:
    """Re-read the release, then send only what differs. ``body_for(current_body)`` rebuilds the
    body from the freshly read one, so text a person added a moment ago is kept.

    Returns the release as it now is (None if it vanished) and the patch that was sent ({} for none).
    """
    current = get_release(gh, repo, release_id)
    if current is None:
        return None, {}
    patch = release_patch(current, desired, body_for(current.body))
    if not patch:
        return current, {}
    _h, data = gh.requester.requestJsonAndCheck(
        "PATCH", f"{repo_path(repo)}/releases/{release_id}", input=patch
    )
    return release_of(data), patch


def delete_release(gh: Github, repo: str, release_id: int) -> None:
    try:
        gh.requester.requestJsonAndCheck("DELETE", f"{repo_path(repo)}/releases/{release_id}")
    except UnknownObjectException:
        pass  # already gone: the goal is reached


# ---------------------------------------------------------------- "released" comment and label


@dataclass(frozen=True)
class ReleasedTarget:
    number: int
    labels: tuple[str, ...]


def _has_released_comment(gh: Github, repo: str, number: int, marker: str, bot_login: str) -> bool:
    for page in iter_pages(gh, f"{repo_path(repo)}/issues/{number}/comments"):
        for comment in page:
            if (comment.get("user") or {}).get("login") == bot_login and marker in str(
                comment.get("body") or ""
            ):
                return True
    return False


def mark_released(
    gh: Github,
    repo: str,
    targets: Iterable[ReleasedTarget],
    *,
    milestone_number: int,
    release_url: str,
    tag: str,
    bot_login: str,
    label: str,
    comment: bool,
    already_done: set[int],
    max_items: int,
    may_have_commented: Callable[[int], bool] | None = None,
    on_attempt: Callable[[int], None] | None = None,
) -> tuple[list[int], bool]:
    """Comment on and label each item once. Returns (numbers done now, whether some remain).

    Once-only without a database: the label (when configured) is added last, so an item that has
    it is finished and costs nothing; one without it is checked for the bot's marked comment
    before commenting (a crash between comment and label never comments twice). ``already_done``
    (the store's memory) skips even that read; a wiped store only costs reads.
    ``may_have_commented(number)`` False says no earlier run can have commented on it (the
    caller knows, e.g. the release was published in this run): the read is skipped.
    ``on_attempt(number)`` is called before an item's comment is posted, so the caller can
    remember which items a crash may have left half done.
    """
    marker = RELEASED_MARKER.format(milestone=milestone_number)
    done: list[int] = []
    pending = [
        t
        for t in targets
        if t.number not in already_done
        and not (label and label.casefold() in {x.casefold() for x in t.labels})
    ]
    for target in pending[:max_items]:
        check = may_have_commented is None or may_have_commented(target.number)
        if comment and on_attempt is not None:
            on_attempt(target.number)
        if comment and not (check and _has_released_comment(gh, repo, target.number, marker, bot_login)):
            text = f"{marker}\nThis was released in [{tag}]({release_url}). :rocket:"
            gh.requester.requestJsonAndCheck(
                "POST", f"{repo_path(repo)}/issues/{target.number}/comments", input={"body": text}
            )
        if label:
            try:
                gh.requester.requestJsonAndCheck(
                    "POST", f"{repo_path(repo)}/issues/{target.number}/labels", input={"labels": [label]}
                )
            except GithubException as exc:
                if exc.status != 404:  # a deleted item is simply skipped
                    raise
        done.append(target.number)
    return done, len(pending) > max_items
