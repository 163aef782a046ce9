"""JSON shapes of pull requests and reviews (REST ``pull-request``/``pull-request-simple`` and the
webhook ``pull-request``). Counters (commits, changed files, comments) come from the live state.
Call these while holding ``state.lock``."""

from __future__ import annotations

from typing import Any

from bot.sandbox import gitobjects, serializers
from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import api_url, html_url
from bot.sandbox.state import Issue, Repo, Review, SandboxState, iso


def _repo_api(repo: Repo) -> str:
    return api_url(f"/repos/{repo.full_name}")


def head_sha(repo: Repo, it: Issue) -> str:
    assert it.pull is not None
    return it.pull.head_sha


def base_sha(repo: Repo, it: Issue) -> str:
    """The base branch tip for an open PR (GitHub reports the current base), the recorded one otherwise."""
    assert it.pull is not None
    if it.state == "open":
        return repo.branch_sha(it.pull.base_ref) or it.pull.base_sha
    return it.pull.base_sha


def pr_commits(repo: Repo, it: Issue) -> list[str]:
    """The PR's commits, oldest first (what ``GET /pulls/{n}/commits`` lists)."""
    assert it.pull is not None
    base = base_sha(repo, it) if not it.pull.merged else it.pull.base_sha
    return gitobjects.commits_between(repo, base, it.pull.head_sha)


def pull_request(st: SandboxState, repo: Repo, it: Issue, *, webhook: bool = False,
                 simple: bool = False) -> dict[str, Any]:
    pr = it.pull
    assert pr is not None
    base = _repo_api(repo)
    url = f"{base}/pulls/{it.number}"
    page = html_url(f"/{repo.full_name}/pull/{it.number}")
    ms = repo.milestones.get(it.milestone) if it.milestone is not None else None
    assignees = [serializers.user(st, a) for a in it.assignees]
    repo_shape = serializers.repository(st, repo, webhook=webhook, full=False)
    owner = serializers.user(st, repo.owner)
    out: dict[str, Any] = {
        "url": url,
        "id": pr.id,
        "node_id": pr.node_id,
        "html_url": page,
        "diff_url": f"{page}.diff",
        "patch_url": f"{page}.patch",
        "issue_url": f"{base}/issues/{it.number}",
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{base}/pulls/comments{{/number}}",
        "comments_url": f"{base}/issues/{it.number}/comments",
        "statuses_url": f"{base}/statuses/{pr.head_sha}",
        "number": it.number,
        "state": it.state,
        "locked": it.locked,
        "title": it.title,
        "user": serializers.user(st, it.user),
        "body": it.body,
        "labels": shapes.issue_labels(repo, it),
        "milestone": shapes.milestone(st, repo, ms) if ms is not None else None,
        "active_lock_reason": None,
        "created_at": iso(it.created_at),
        "updated_at": iso(it.updated_at),
        "closed_at": iso(it.closed_at),
        "merged_at": iso(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "requested_reviewers": [serializers.user(st, r) for r in pr.requested_reviewers],
        "requested_teams": [],
        "head": {"label": f"{repo.owner}:{pr.head_ref}", "ref": pr.head_ref, "sha": pr.head_sha,
                 "user": owner, "repo": repo_shape},
        "base": {"label": f"{repo.owner}:{pr.base_ref}", "ref": pr.base_ref, "sha": base_sha(repo, it),
                 "user": owner, "repo": repo_shape},
        "_links": {
            "self": {"href": url},
            "html": {"href": page},
            "issue": {"href": f"{base}/issues/{it.number}"},
            "comments": {"href": f"{base}/issues/{it.number}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{base}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": f"{base}/statuses/{pr.head_sha}"},
        },
        "author_association": shapes.author_association(st, repo, it.user),
        "auto_merge": None,
        "draft": pr.draft,
    }
    if simple:
        return out
    commits = pr_commits(repo, it)
    head_tree = repo.commits[pr.head_sha].tree if pr.head_sha in repo.commits else {}
    mb = gitobjects.merge_base(repo, base_sha(repo, it), pr.head_sha) if not pr.merged else pr.base_sha
    base_tree = repo.commits[mb].tree if mb in repo.commits else {}
    added, removed, modified = gitobjects.diff_trees(base_tree, head_tree)
    mergeable: bool | None = None
    mergeable_state = "unknown"
    if it.state == "open":
        mergeable = _mergeable(repo, it)
        mergeable_state = "clean" if mergeable else "dirty"
        if pr.draft:
            mergeable_state = "draft"
    out.update({
        "merged": pr.merged,
        "mergeable": mergeable,
        "rebaseable": mergeable,
        "mergeable_state": mergeable_state,
        "merged_by": serializers.user(st, pr.merged_by) if pr.merged_by else None,
        "comments": shapes.comment_count(repo, it.number),
        "review_comments": 0,
        "maintainer_can_modify": pr.maintainer_can_modify,
        "commits": len(commits),
        "additions": sum(_lines(head_tree.get(p, b"")) for p in added + modified),
        "deletions": sum(_lines(base_tree.get(p, b"")) for p in removed),
        "changed_files": len(added) + len(removed) + len(modified),
    })
    return out


def _lines(data: bytes) -> int:
    return len(data.splitlines())


def _mergeable(repo: Repo, it: Issue) -> bool:
    pr = it.pull
    assert pr is not None
    base = repo.branch_sha(pr.base_ref)
    if base is None or pr.head_sha not in repo.commits:
        return False
    mb = gitobjects.merge_base(repo, base, pr.head_sha)
    if mb is None:
        return False
    return gitobjects.three_way_merge(repo.commits[mb].tree, repo.commits[base].tree,
                                      repo.commits[pr.head_sha].tree) is not None


def review(st: SandboxState, repo: Repo, it: Issue, r: Review, *, webhook: bool = False) -> dict[str, Any]:
    """``pull-request-review`` (REST) or the webhook ``review``."""
    url = _repo_api(repo) + f"/pulls/{it.number}"
    page = html_url(f"/{repo.full_name}/pull/{it.number}#pullrequestreview-{r.id}")
    out: dict[str, Any] = {
        "id": r.id,
        "node_id": r.node_id,
        "user": serializers.user(st, r.user),
        "body": r.body,
        "state": r.state.lower() if webhook else r.state,
        "html_url": page,
        "pull_request_url": url,
        "author_association": shapes.author_association(st, repo, r.user),
        "_links": {"html": {"href": page}, "pull_request": {"href": url}},
        "submitted_at": iso(r.submitted_at),
        "commit_id": r.commit_id,
    }
    return out
