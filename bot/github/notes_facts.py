"""Everything the release notes of one milestone are decided from, read once: ``NotesFacts``.

The notes plan is pure (``bot.core.notes.plan``): this module makes its reads. It asks
``notes_targets`` which comparison matters (the previous final tag to the target, or for a first
release the target to the default branch, which is read only then), reads it (250 commits a page),
and only when the comparison has commits no merge/squash message accounts for, the merge commit
SHA of the merged pull requests the messages did not place — from the store's cache first, at most
``max_sha_reads`` reads (the rest continue in a requeued run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from github import Github, UnknownObjectException

from bot.core.notes.model import NoteItem
from bot.core.notes.plan import NotesFacts, notes_targets, unplaced_pulls
from bot.core.release_types import Item, Release
from bot.core.versions import Version
from bot.github import notes_io
from bot.github.release_json import item_of

ProgressCallback = Callable[[str, int, int | None], None]  # (what, done, total)


@dataclass(frozen=True)
class NotesInputs:
    """What the caller already knows about the milestone (None: read it here)."""

    milestone_number: int
    version: Version
    branch: str | None  # the release branch when it exists
    tag_names: frozenset[str] | None = None
    items: tuple[Item, ...] | None = None  # the milestone's issues and pull requests
    releases: tuple[Release, ...] | None = None  # every release, when the caller's listing is complete
    default_branch: str | None = None


def html_base_of(gh: Github) -> str:
    """Web root for links: https://github.com for api.github.com, else the GHES layout's host."""
    base = gh.requester.base_url.rstrip("/")
    if base in ("https://api.github.com", "http://api.github.com"):
        return "https://github.com"
    return base.removesuffix("/api/v3")


def note_item_of(item: Item) -> NoteItem:
    login = item.author or "ghost"
    return NoteItem(
        number=item.number,
        title=item.title,
        author=login,
        url=item.html_url,
        labels=item.labels,
        body=item.body,
        is_pull_request=item.is_pull_request,
        merged_at=item.merged_at_text,
        author_is_bot=item.author_type == "Bot" or login.endswith("[bot]"),
        state_reason=item.state_reason,
    )


def _is_bot_issue(item: Item, bot_login: str | None) -> bool:
    # The bot's own tracking issue sits in the milestone; it is not a change of the release.
    return bool(bot_login) and not item.is_pull_request and item.author == bot_login


def read_notes_facts(
    gh: Github,
    repo: str,
    config: Mapping[str, Any],
    inputs: NotesInputs,
    *,
    bot_login: str | None = None,
    merge_shas: dict[int, str] | None = None,
    max_sha_reads: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> NotesFacts:
    """``merge_shas`` (number → SHA) is what is already known (the store) and receives what is read."""
    tags = inputs.tag_names if inputs.tag_names is not None else frozenset(notes_io.list_tag_names(gh, repo))
    if inputs.items is not None:
        items: Iterable[Item] = inputs.items
    else:
        on_items = (lambda done, total: on_progress("items", done, total)) if on_progress else None
        items = [
            item_of(d)
            for d in notes_io.list_milestone_items(gh, repo, inputs.milestone_number, on_page=on_items)
        ]
    targets = notes_targets(config, inputs.version, tags, inputs.branch)
    default = inputs.default_branch or ""
    if not default and targets.needs_default_branch:
        default = notes_io.default_branch(gh, repo)
    commits = None
    errors: list[str] = []
    comparison = targets.comparison(default)
    if comparison is not None:
        base, head = comparison
        progress = (lambda done, total: on_progress("commits", done, total)) if on_progress else None
        try:
            commits = notes_io.compare_commits(gh, repo, base, head, on_page=progress)
        except UnknownObjectException:
            # A ref vanished between reads (tag deleted, branch renamed): the notes still build from
            # the milestone alone, and the tracking issue says why the commit check was skipped.
            errors.append(
                f"could not compare {base}...{head}: a tag or branch is missing; every merged pull "
                "request of the milestone is listed"
            )
    note_items = tuple(
        note_item_of(i)
        for i in items
        if i.state == "closed" and i.number > 0 and not _is_bot_issue(i, bot_login)
    )
    known: dict[int, str] = {}
    unresolved = 0
    if commits:
        unplaced = unplaced_pulls(note_items, commits)
        if unplaced:
            known, unresolved = merge_shas_of(gh, repo, unplaced, merge_shas, max_sha_reads)
    owner, _, name = repo.partition("/")
    return NotesFacts(
        targets=targets,
        milestone_number=inputs.milestone_number,
        owner=owner,
        repository=name,
        html_base=html_base_of(gh),
        default_branch=default,
        items=note_items,
        commits=tuple(commits) if commits is not None else None,
        compared_from_tag=targets.previous_tag is not None,
        merge_shas=known,
        unresolved=unresolved,
        errors=tuple(errors),
    )


def merge_shas_of(
    gh: Github, repo: str, numbers: list[int], cache: dict[int, str] | None, max_reads: int | None
) -> tuple[dict[int, str], int]:
    """Merge commit SHAs of ``numbers``: from ``cache`` (updated), else one read each, at most
    ``max_reads``. Returns (number → SHA for those known, how many are still unknown)."""
    cache = cache if cache is not None else {}
    known: dict[int, str] = {}
    reads = 0
    unresolved = 0
    for number in numbers:
        if number in cache:
            if cache[number]:
                known[number] = cache[number]
            continue
        if max_reads is not None and reads >= max_reads:
            unresolved += 1
            continue
        reads += 1
        sha = notes_io.get_merge_commit_sha(gh, repo, number)
        # "" remembers "no SHA" (a vanished pull request) so it is not asked for again.
        cache[number] = sha or ""
        if sha:
            known[number] = sha
    return known, unresolved
