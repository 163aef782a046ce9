"""Landing a pull request on its base branch: merge commits (two parents), squash and rebase.

Used by ``PUT /pulls/{n}/merge`` and by the merge queue. The webhooks follow GitHub's order:
``pull_request`` ``closed`` (merged) first, then ``push`` of the base branch. Call with the lock held.
"""

from __future__ import annotations

from bot.sandbox import gitobjects
from bot.sandbox import serializers_pulls as pshapes
from bot.sandbox.pushes import RefChange, person_for, push
from bot.sandbox.state import Commit, Issue, IssueEvent, Repo, SandboxState
from bot.sandbox.webhooks import emitter

MERGE_METHODS = ("merge", "squash", "rebase")


class MergeConflict(Exception):
    """Both sides changed the same file differently."""


def build_merge(
    st: SandboxState,
    repo: Repo,
    base_sha: str,
    it: Issue,
    login: str,
    method: str,
    title: str | None,
    message: str | None,
) -> tuple[str, Commit]:
    """Create the commit(s) that land ``it`` on ``base_sha``; returns (new base tip, merge commit)."""
    pr = it.pull
    assert pr is not None
    head = pr.head_sha
    mb = gitobjects.merge_base(repo, base_sha, head)
    if mb is None:
        raise MergeConflict("no common history")
    tree = gitobjects.three_way_merge(
        repo.commits[mb].tree, repo.commits[base_sha].tree, repo.commits[head].tree
    )
    if tree is None:
        raise MergeConflict("conflict")
    who = person_for(st, login)
    if method == "merge":
        subject = title or f"Merge pull request #{it.number} from {repo.owner}/{pr.head_ref}"
        body = message if message is not None else it.title
        c = gitobjects.make_commit(tree, [base_sha, head], f"{subject}\n\n{body}".rstrip(), who, who)
        repo.commits[c.sha] = c
        return c.sha, c
    if method == "squash":
        subject = title or f"{it.title} (#{it.number})"
        body = (
            message
            if message is not None
            else "\n".join(
                f"* {repo.commits[s].message.splitlines()[0]}" for s in pshapes.pr_commits(repo, it)
            )
        )
        author = repo.commits[head].author
        c = gitobjects.make_commit(tree, [base_sha], f"{subject}\n\n{body}".rstrip(), author, who)
        repo.commits[c.sha] = c
        return c.sha, c
    # rebase: replay each commit's change on top of the base, one new commit per original commit.
    tip = base_sha
    last: Commit | None = None
    for sha in gitobjects.commits_between(repo, base_sha, head):
        orig = repo.commits[sha]
        if len(orig.parents) > 1:
            continue  # merge commits are dropped by a rebase
        parent_tree = repo.commits[orig.parents[0]].tree if orig.parents else {}
        replayed = gitobjects.three_way_merge(parent_tree, repo.commits[tip].tree, orig.tree)
        if replayed is None:
            raise MergeConflict("conflict while rebasing")
        last = gitobjects.make_commit(replayed, [tip], orig.message, orig.author, who)
        repo.commits[last.sha] = last
        tip = last.sha
    if last is None:
        raise MergeConflict("nothing to rebase")
    return tip, last


def mark_merged(
    st: SandboxState, repo: Repo, it: Issue, login: str, merge_sha: str, base_before: str
) -> None:
    """Record ``it`` as merged and closed, with its issue events."""
    pr = it.pull
    assert pr is not None
    now = st.now()
    pr.merged, pr.merged_at, pr.merged_by, pr.merge_commit_sha = True, now, login, merge_sha
    pr.base_sha = base_before
    it.state, it.closed_at, it.closed_by, it.updated_at = "closed", now, login, now
    repo.events.append(
        IssueEvent(
            id=st.next_id("event"),
            issue_number=it.number,
            event="merged",
            actor=login,
            created_at=now,
            data={"commit_id": merge_sha},
        )
    )
    repo.events.append(
        IssueEvent(
            id=st.next_id("event"),
            issue_number=it.number,
            event="closed",
            actor=login,
            created_at=now,
            data={"commit_id": merge_sha},
        )
    )


def merge_pull(
    st: SandboxState,
    repo: Repo,
    it: Issue,
    login: str,
    method: str = "merge",
    title: str | None = None,
    message: str | None = None,
) -> Commit:
    """Land ``it`` on its base: commit, ``closed`` (merged) webhook, then the base branch's ``push``."""
    pr = it.pull
    assert pr is not None
    base_ref = f"refs/heads/{pr.base_ref}"
    before = repo.refs[base_ref]
    new_tip, merge_commit = build_merge(st, repo, before, it, login, method, title, message)
    mark_merged(st, repo, it, login, merge_commit.sha if method != "rebase" else new_tip, before)
    emitter(st).emit(
        "pull_request",
        "closed",
        lambda: {"number": it.number, "pull_request": pshapes.pull_request(st, repo, it, webhook=True)},
        repo,
        sender=login,
    )
    push(st, repo, [RefChange(base_ref, before, new_tip)], login)
    return merge_commit
