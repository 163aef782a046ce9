"""Issue events and the timeline: who labeled, milestoned, closed, renamed — and, for pull requests,
every ``committed`` commit and ``head_ref_force_pushed``.

The events are what the bot trusts to learn who applied a label, so each carries its ``actor``.
The timeline merges the events with the comments (``commented``), the reviews (``reviewed``) and the
pull request's commits (``committed``, from the commit graph), oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import Blueprint, Response

from bot.sandbox import gitobjects, serializers
from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import api_url, html_url, list_in_repo, not_found, paginate, respond, state
from bot.sandbox.issue_side import find_issue, issues_repo
from bot.sandbox.state import Commit, Issue, Repo, SandboxState, iso, node_id

bp = Blueprint("sandbox_issue_events", __name__)

# Events that GitHub lists only in the timeline, not in /issues/{n}/events.
_TIMELINE_ONLY = {"committed", "commented", "reviewed", "cross-referenced"}


_repo = issues_repo


@bp.get("/repos/<owner>/<name>/issues/<number>/events")
def list_issue_events(owner: str, name: str, number: str) -> Response:
    def build(st: SandboxState, repo: Repo) -> Sequence[dict[str, Any]]:
        issue = find_issue(repo, number)
        events = [
            ev for ev in repo.events if ev.issue_number == issue.number and ev.event not in _TIMELINE_ONLY
        ]
        return shapes.Shaped(events, lambda ev: shapes.issue_event(st, repo, ev))

    return list_in_repo(owner, name, build)


@bp.get("/repos/<owner>/<name>/issues/events")
def list_repo_events(owner: str, name: str) -> Response:
    def build(st: SandboxState, repo: Repo) -> Sequence[dict[str, Any]]:
        # newest first, as GitHub lists a repository's issue events
        events = [
            ev
            for ev in reversed(repo.events)
            if ev.event not in _TIMELINE_ONLY and not _gone(repo, ev.issue_number)
        ]
        return shapes.Shaped(events, lambda ev: shapes.issue_event(st, repo, ev, with_issue=True))

    return list_in_repo(owner, name, build)


@bp.get("/repos/<owner>/<name>/issues/events/<event_id>")
def get_event(owner: str, name: str, event_id: str) -> Response:
    st = state()
    with st.lock:
        repo = _repo(owner, name)
        ev = next((e for e in repo.events if str(e.id) == event_id), None)
        if ev is None or _gone(repo, ev.issue_number):
            not_found()
        return respond(shapes.issue_event(st, repo, ev, with_issue=True))


def _gone(repo: Repo, number: int) -> bool:
    issue = repo.issues.get(number)
    return issue is None or issue.deleted


@bp.get("/repos/<owner>/<name>/issues/<number>/timeline")
def timeline(owner: str, name: str, number: str) -> Response:
    st = state()
    with st.lock:
        repo = _repo(owner, name)
        issue = find_issue(repo, number)
        # Sort key: (time, commits that existed, events that existed, kind). Commits sort by their
        # position in the insertion-ordered commit map, events by their index in the append-only
        # event list, comments by what existed when they were made (issue_side.creation_order), so
        # entries of the same second keep the order they really happened in.
        entries: list[tuple[datetime, int, int, int, dict[str, Any]]] = []
        positions = {sha: i for i, sha in enumerate(repo.commits)}
        seen_by_event = _commits_seen_by_event(repo)
        for index, ev in enumerate(repo.events):
            if ev.issue_number == issue.number:
                entries.append(
                    (ev.created_at, seen_by_event[index] - 1, index, 1, shapes.issue_event(st, repo, ev))
                )
        comment_order = st.extra.get("comment_order", {})
        for c in repo.comments.values():
            if c.issue_number == issue.number:
                order = comment_order.get(c.id, {})
                entries.append(
                    (
                        c.created_at,
                        order.get("_commits_seen", len(positions)) - 1,
                        order.get("_events_seen", len(repo.events)),
                        0,
                        _commented(st, repo, c),
                    )
                )
        if issue.pull is not None:
            for sha in _pull_commits(repo, issue):
                commit = repo.commits[sha]
                entries.append((commit.committer.date, positions[sha], -1, 0, _committed(repo, commit)))
            for review in issue.pull.reviews:
                if review.submitted_at is not None:
                    entries.append(
                        (
                            review.submitted_at,
                            len(positions),
                            len(repo.events),
                            2,
                            _reviewed(st, repo, issue, review),
                        )
                    )
        entries.sort(key=lambda e: e[:4])
        body = [e[4] for e in entries]
    return paginate(body)


def _commits_seen_by_event(repo: Repo) -> list[int]:
    """Commits that existed when each event was recorded. Events recorded without that note (by
    other modules) take the next noted value, or today's count: an upper bound that keeps the order."""
    out = [0] * len(repo.events)
    later = len(repo.commits)
    for i in range(len(repo.events) - 1, -1, -1):
        noted = repo.events[i].data.get("_commits_seen")
        if noted is not None:
            later = min(later, noted)
        out[i] = later
    return out


def _pull_commits(repo: Repo, issue: Issue) -> list[str]:
    pull = issue.pull
    assert pull is not None
    head = pull.head_sha
    if head not in repo.commits:
        return []
    base_tip = repo.branch_sha(pull.base_ref) or pull.base_sha
    if pull.merged and pull.merge_commit_sha and pull.merge_commit_sha in repo.commits:
        # after the merge the base contains the head: compare against the merge's first parent
        parents = repo.commits[pull.merge_commit_sha].parents
        base_tip = parents[0] if parents else pull.base_sha
    if base_tip not in repo.commits:
        base_tip = pull.base_sha
    return gitobjects.commits_between(repo, base_tip, head)


def _commented(st: SandboxState, repo: Repo, c: Any) -> dict[str, Any]:
    out = shapes.comment(st, repo, c)
    out["event"] = "commented"
    out["actor"] = serializers.user(st, c.user)
    return out


def _person(p: Any) -> dict[str, Any]:
    return {"name": p.name, "email": p.email, "date": iso(p.date)}


def _committed(repo: Repo, commit: Commit) -> dict[str, Any]:
    base = f"/repos/{repo.full_name}"
    return {
        "event": "committed",
        "sha": commit.sha,
        "node_id": node_id("Commit", int(commit.sha[:8], 16)),
        "url": api_url(f"{base}/git/commits/{commit.sha}"),
        "html_url": html_url(f"/{repo.full_name}/commit/{commit.sha}"),
        "author": _person(commit.author),
        "committer": _person(commit.committer),
        "tree": {"sha": commit.tree_sha, "url": api_url(f"{base}/git/trees/{commit.tree_sha}")},
        "message": commit.message,
        "parents": [
            {
                "sha": p,
                "url": api_url(f"{base}/git/commits/{p}"),
                "html_url": html_url(f"/{repo.full_name}/commit/{p}"),
            }
            for p in commit.parents
        ],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        },
    }


def _reviewed(st: SandboxState, repo: Repo, issue: Issue, review: Any) -> dict[str, Any]:
    pr_url = api_url(f"/repos/{repo.full_name}/pulls/{issue.number}")
    page = html_url(f"/{repo.full_name}/pull/{issue.number}#pullrequestreview-{review.id}")
    return {
        "event": "reviewed",
        "id": review.id,
        "node_id": review.node_id,
        "user": serializers.user(st, review.user),
        "body": review.body,
        "state": review.state.lower(),
        "commit_id": review.commit_id,
        "html_url": page,
        "pull_request_url": pr_url,
        "_links": {"html": {"href": page}, "pull_request": {"href": pr_url}},
        "author_association": shapes.author_association(st, repo, review.user),
        "submitted_at": iso(review.submitted_at),
    }
