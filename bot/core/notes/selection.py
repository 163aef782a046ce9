"""What ships: decided by the commit graph, not by the milestone alone.

A pull request's merge commit is recognised in the commits of a comparison by GitHub's own
commit messages: "Merge pull request #12 from owner/branch" for merge commits and a trailing
"(#12)" on the first line for squash merges. (The issues listing that feeds the notes carries no
merge commit SHA; asking for it per pull request would cost a request each.)

A rebase merge, or a squash whose message was edited, leaves no such message. Those land as
commits with one parent on the target's first-parent line that no message accounts for
(``unattributed_commits``); only when there are some does the reconciler spend reads on the
merge commit SHA of the pull requests the messages did not place (``attribute_by_sha``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.notes.model import NoteItem

_MERGE_MESSAGE = re.compile(r"^Merge pull request #(\d+) from ")
_SQUASH_SUFFIX = re.compile(r"\(#(\d+)\)\s*$")


@dataclass(frozen=True)
class CommitRef:
    sha: str
    message: str
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergedPull:
    """A pull request as its merge commit tells it: enough to list it on the tracking issue."""

    sha: str
    title: str


def pull_numbers_in(commits: Iterable[CommitRef]) -> dict[int, MergedPull]:
    """Pull request number → the commit that merged it (and the title it recorded)."""
    found: dict[int, MergedPull] = {}
    for commit in commits:
        first_line, _, rest = commit.message.partition("\n")
        m = _MERGE_MESSAGE.match(first_line)
        if m:
            # GitHub's merge commit: "Merge pull request #12 from o/b", blank line, the title.
            title = rest.strip().split("\n", 1)[0] if rest.strip() else first_line
        else:
            m = _SQUASH_SUFFIX.search(first_line)
            title = first_line[: m.start()].strip() if m else ""
        if m:
            found.setdefault(int(m.group(1)), MergedPull(commit.sha, title))
    return found


def unattributed_commits(commits: Sequence[CommitRef]) -> set[str]:
    """Commits that may have landed a pull request without saying so in their message.

    Walks the first-parent line from the comparison's head (the commit no other commit of the
    comparison names as a parent; the last one listed when that is ambiguous) and keeps the
    single-parent commits there that carry no merge or squash message: rebase-merged commits,
    squashes with an edited message, and direct pushes. Commits of a merged branch sit behind a
    merge commit's second parent and are not on that line, so ordinary merges never count.
    """
    if not commits:
        return set()
    by_sha = {c.sha: c for c in commits}
    named = {p for c in commits for p in c.parents}
    heads = [c for c in commits if c.sha not in named]
    head = heads[-1] if len(heads) == 1 else commits[-1]
    attributed = {ref.sha for ref in pull_numbers_in(commits).values()}
    found: set[str] = set()
    seen: set[str] = set()
    current: CommitRef | None = head
    while current is not None and current.sha not in seen:
        seen.add(current.sha)
        if len(current.parents) <= 1 and current.sha not in attributed:
            found.add(current.sha)
        current = by_sha.get(current.parents[0]) if current.parents else None
    return found


def attribute_by_sha(merge_shas: dict[int, str], candidates: set[str]) -> dict[int, MergedPull]:
    """Pull requests whose merge commit SHA (``GET /pulls/{n}`` ``merge_commit_sha``: the squash
    commit, or for a rebase the last rebased commit) is one of ``candidates``."""
    return {n: MergedPull(sha, "") for n, sha in sorted(merge_shas.items()) if sha in candidates}


@dataclass(frozen=True)
class Selection:
    shipped: tuple[NoteItem, ...]  # merged pull requests (and closed issues) that go into the notes
    not_on_branch: tuple[NoteItem, ...]  # merged in the milestone, but not in the release's target
    off_milestone: tuple[tuple[int, MergedPull], ...]  # in the target, not in the milestone


def select_shipped(
    milestone_items: Sequence[NoteItem],
    *,
    in_target: dict[int, MergedPull] | None,
    not_in_target: dict[int, MergedPull] | None = None,
) -> Selection:
    """Split the milestone's merged pull requests by what the commit graph says.

    ``in_target``: pull requests merged in the commits from the previous release's tag to the
    target (None when there is no previous release). ``not_in_target``: pull requests merged in
    commits reachable from the default branch but not from the target (used when there is no
    previous release to compare from). With neither, every merged pull request ships.
    """
    merged = [i for i in milestone_items if i.is_pull_request and i.merged_at]
    issues = [i for i in milestone_items if not i.is_pull_request]
    shipped: list[NoteItem] = []
    missing: list[NoteItem] = []
    for item in merged:
        if in_target is not None:
            ok = item.number in in_target
        else:
            ok = item.number not in (not_in_target or {})
        (shipped if ok else missing).append(item)
    milestone_numbers = {i.number for i in milestone_items}
    off = tuple(sorted(((n, ref) for n, ref in (in_target or {}).items() if n not in milestone_numbers),
                       key=lambda pair: pair[0]))
    return Selection(tuple(shipped + issues), tuple(missing), off)
