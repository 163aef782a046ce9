"""The gate's audit of release branches, planned: what reached a branch without passing the gate. Pure.

Two kinds of entry: ``bypass_merge`` (a pull request merged past a failing gate, found by the
``pr:`` reconcile) and ``direct_push`` (commits that reached a release branch without a merged pull
request, or a force-push, found by comparing the branch's tip with the one last seen). The
``github`` layer turns GitHub's compare and pulls listings into the typed commits below; the
reconciler (``bot.reconcilers.audit``) keeps the entries and wakes the release that owns the branch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# At most this many direct commits of one push are recorded (the tracking issue lists them).
MAX_AUDITED_COMMITS = 50
DETAIL_LIMIT = 300
_SQUASH_SUFFIX = re.compile(r"\(#(\d+)\)\s*$")


@dataclass(frozen=True)
class AuditEntry:
    kind: str  # bypass_merge | direct_push
    repo: str
    branch: str
    sha: str
    number: int | None
    by: str
    detail: str


@dataclass(frozen=True)
class PushedCommit:
    """One commit of a push, as GitHub's compare lists it."""

    sha: str
    parents: tuple[str, ...]
    message: str  # the full commit message
    author: str  # the GitHub login, else the git author's name

    @property
    def subject(self) -> str:
        lines = self.message.splitlines()
        return lines[0] if lines else ""


def unexplained(
    commits: Sequence[PushedCommit],
    tip: str,
    last: str,
    merged: Mapping[str, tuple[int, int]],
    count_of: Callable[[int], int] | None = None,
) -> list[PushedCommit]:
    """First-parent commits from ``last`` to ``tip`` that no merged pull request accounts for.

    ``merged``: merge_commit_sha -> (number, number of commits, 0 when unknown: ``count_of`` asks).
    A merge or squash commit is the pull request's ``merge_commit_sha``; a rebase merge lands the
    pull request's commits one by one, the last being its ``merge_commit_sha``, so the commits
    before it are accounted for too.
    """
    by_sha = {c.sha: c for c in commits}
    chain: list[PushedCommit] = []
    sha = tip
    while sha in by_sha and sha != last:
        commit = by_sha[sha]
        chain.append(commit)
        sha = commit.parents[0] if commit.parents else ""
    chain.reverse()  # oldest first
    out: list[PushedCommit] = []
    for commit in chain:
        if commit.sha not in merged:
            out.append(commit)
            continue
        number, count = merged[commit.sha]
        squashed = bool(commit.subject and _SQUASH_SUFFIX.search(commit.subject))
        if len(commit.parents) != 1 or squashed or not out:
            continue
        if count <= 0:
            # The pulls listing has no commit count on GitHub; the pull request itself has.
            count = count_of(number) if count_of is not None else 1
        if count > 1:
            del out[max(0, len(out) - (count - 1)) :]  # the rebased commits before it
    return out


def force_push_entry(repo: str, branch: str, last: str, tip: str) -> AuditEntry:
    """The tip moved to a commit that does not descend from the one last seen."""
    return AuditEntry(
        "direct_push",
        repo,
        branch,
        tip,
        None,
        "",
        f"`{branch}` was force-pushed from {last[:7]} to {tip[:7]}",
    )


def direct_push_entries(repo: str, branch: str, commits: Sequence[PushedCommit]) -> list[AuditEntry]:
    """One entry per commit that reached ``branch`` without a pull request (the first few only)."""
    return [
        AuditEntry(
            "direct_push",
            repo,
            branch,
            commit.sha,
            None,
            commit.author,
            f"commit {commit.sha[:7]} reached `{branch}` without a pull request: {commit.subject}"[
                :DETAIL_LIMIT
            ],
        )
        for commit in commits[:MAX_AUDITED_COMMITS]
    ]


def entry_item(entry: AuditEntry, repo: str) -> dict[str, object]:
    """The stored form of an entry of ``repo`` (``bot.reconcilers.audit`` keeps these in the store)."""
    return {
        "kind": entry.kind,
        "repo": repo,
        "branch": entry.branch,
        "sha": entry.sha,
        "number": entry.number,
        "by": entry.by,
        "detail": entry.detail,
    }
