"""JSON shapes of the issue side: labels, milestones, issues, comments, reactions, issue events.

REST shapes follow GitHub's OpenAPI description (``label``, ``milestone``, ``issue``, ``issue-comment``,
``reaction``, ``issue-event``); ``webhook=True`` gives the stricter webhook shapes, which forbid the
REST-only fields. Counters (a milestone's ``open_issues``, an issue's ``comments``) are computed from the
live state each time, never stored. Call these while holding ``state.lock``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload
from urllib.parse import quote

from bot.sandbox import serializers
from bot.sandbox.http import api_url, html_url
from bot.sandbox.state import (
    Comment,
    Issue,
    IssueEvent,
    Label,
    Milestone,
    Reaction,
    Repo,
    SandboxState,
    iso,
)


class Shaped(Sequence[dict[str, Any]]):
    """A list that serializes its items only when sliced, so a paginated listing shapes one page
    and not every item (shaping an issue counts its milestone's issues). Slice it under the lock."""

    def __init__(self, items: Sequence[Any], shape: Callable[[Any], dict[str, Any]]) -> None:
        self._items = items
        self._shape = shape

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._shape(x) for x in self._items[index]]
        return self._shape(self._items[index])


REACTION_CONTENTS: tuple[str, ...] = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")

# Fields of GitHub's webhook ``app`` object (the REST ``integration`` has more, which webhooks forbid).
_WEBHOOK_APP_KEYS = (
    "id",
    "slug",
    "node_id",
    "owner",
    "name",
    "description",
    "external_url",
    "html_url",
    "created_at",
    "updated_at",
    "permissions",
    "events",
)


def repo_api(repo: Repo) -> str:
    return api_url(f"/repos/{repo.full_name}")


def label(repo: Repo, lbl: Label) -> dict[str, Any]:
    return {
        "id": lbl.id,
        "node_id": lbl.node_id,
        "url": f"{repo_api(repo)}/labels/{quote(lbl.name, safe='')}",
        "name": lbl.name,
        "color": lbl.color,
        "default": lbl.default,
        "description": lbl.description,
    }


def issue_labels(repo: Repo, issue: Issue) -> list[dict[str, Any]]:
    out = []
    for name in issue.labels:
        lbl = repo.labels.get(name.lower())
        if lbl is not None:
            out.append(label(repo, lbl))
    return out


def milestone_counts(repo: Repo, number: int) -> tuple[int, int]:
    """(open, closed) issues and pull requests in the milestone, live (kept current by the table)."""
    return repo.issues.counts(number)


def milestone(st: SandboxState, repo: Repo, m: Milestone) -> dict[str, Any]:
    """``milestone`` (the REST and the webhook shapes are the same)."""
    open_count, closed_count = milestone_counts(repo, m.number)
    url = f"{repo_api(repo)}/milestones/{m.number}"
    return {
        "url": url,
        "html_url": html_url(f"/{repo.full_name}/milestone/{m.number}"),
        "labels_url": f"{url}/labels",
        "id": m.id,
        "node_id": m.node_id,
        "number": m.number,
        "state": m.state,
        "title": m.title,
        "description": m.description,
        "creator": serializers.user(st, m.creator),
        "open_issues": open_count,
        "closed_issues": closed_count,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
        "closed_at": iso(m.closed_at),
        "due_on": iso(m.due_on),
    }


def author_association(st: SandboxState, repo: Repo, login: str | None) -> str:
    """GitHub's ``author_association`` of ``login`` on ``repo`` (shown, never trusted, by the bot)."""
    if login is None:
        return "NONE"
    acc = st.account(login)
    if acc is not None and acc.type == "Bot":
        return "NONE"
    org = st.org(repo.owner)
    lowered = login.lower()
    if lowered == repo.owner.lower() or (org is not None and lowered in {o.lower() for o in org.owners}):
        return "OWNER"
    if org is not None and lowered in {m.lower() for m in org.members}:
        return "MEMBER"
    if lowered in {k.lower() for k in repo.permissions}:
        return "COLLABORATOR"
    return "NONE"


def reactions_summary(url: str, reactions: list[Reaction]) -> dict[str, Any]:
    counts = {c: 0 for c in REACTION_CONTENTS}
    for r in reactions:
        counts[r.content] = counts.get(r.content, 0) + 1
    return {"url": url, "total_count": len(reactions), **counts}


def performed_via_app(st: SandboxState, login: str | None, *, webhook: bool) -> dict[str, Any] | None:
    """The App an item was written through (its bot user is the author), as GitHub shows it."""
    if login is None:
        return None
    for app in st.apps.values():
        if app.bot_user.lower() == login.lower():
            shape = serializers.app(st, app)
            if webhook:
                shape = {k: shape[k] for k in _WEBHOOK_APP_KEYS if k in shape}
            return shape
    return None


def comment_count(repo: Repo, number: int) -> int:
    """Comments on issue ``number``, live (kept current by the table)."""
    return repo.comments.per_issue[number]


def issue(st: SandboxState, repo: Repo, it: Issue, *, webhook: bool = False) -> dict[str, Any]:
    """``issue`` (pull requests included, with their ``pull_request`` part) as REST or webhook shape."""
    url = f"{repo_api(repo)}/issues/{it.number}"
    ms = repo.milestones.get(it.milestone) if it.milestone is not None else None
    assignees = [serializers.user(st, a) for a in it.assignees]
    out: dict[str, Any] = {
        "url": url,
        "repository_url": repo_api(repo),
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": html_url(f"/{repo.full_name}/{'pull' if it.pull else 'issues'}/{it.number}"),
        "id": it.id,
        "node_id": it.node_id,
        "number": it.number,
        "title": it.title,
        "user": serializers.user(st, it.user),
        "labels": issue_labels(repo, it),
        "state": it.state,
        "locked": it.locked,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": milestone(st, repo, ms) if ms is not None else None,
        "comments": comment_count(repo, it.number),
        "created_at": iso(it.created_at),
        "updated_at": iso(it.updated_at),
        "closed_at": iso(it.closed_at),
        "author_association": author_association(st, repo, it.user),
        "active_lock_reason": None,
        "body": it.body,
        "reactions": reactions_summary(f"{url}/reactions", []),
        "timeline_url": f"{url}/timeline",
        "performed_via_github_app": performed_via_app(st, it.user, webhook=webhook),
        "state_reason": it.state_reason,
    }
    if it.pull is not None:
        pulls = f"{repo_api(repo)}/pulls/{it.number}"
        page = html_url(f"/{repo.full_name}/pull/{it.number}")
        out["draft"] = it.pull.draft
        out["pull_request"] = {
            "url": pulls,
            "html_url": page,
            "diff_url": f"{page}.diff",
            "patch_url": f"{page}.patch",
            "merged_at": iso(it.pull.merged_at),
        }
    if not webhook:
        out["closed_by"] = serializers.user(st, it.closed_by) if it.closed_by else None
    return out


def comment(st: SandboxState, repo: Repo, c: Comment, *, webhook: bool = False) -> dict[str, Any]:
    url = f"{repo_api(repo)}/issues/comments/{c.id}"
    it = repo.issues.get(c.issue_number)
    kind = "pull" if it is not None and it.pull is not None else "issues"
    return {
        "url": url,
        "html_url": html_url(f"/{repo.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}"),
        "issue_url": f"{repo_api(repo)}/issues/{c.issue_number}",
        "id": c.id,
        "node_id": c.node_id,
        "user": serializers.user(st, c.user),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "author_association": author_association(st, repo, c.user),
        "body": c.body,
        "reactions": reactions_summary(f"{url}/reactions", c.reactions),
        "performed_via_github_app": performed_via_app(st, c.user, webhook=webhook),
    }


def reaction(st: SandboxState, r: Reaction) -> dict[str, Any]:
    return {
        "id": r.id,
        "node_id": r.node_id,
        "user": serializers.user(st, r.user),
        "content": r.content,
        "created_at": iso(r.created_at),
    }


def issue_event(st: SandboxState, repo: Repo, ev: IssueEvent, *, with_issue: bool = False) -> dict[str, Any]:
    """An issue event (``/issues/{n}/events``, ``/issues/events``; ``with_issue`` for the
    repository-wide list)."""
    commit_id = ev.data.get("commit_id")
    out: dict[str, Any] = {
        "id": ev.id,
        "node_id": ev.node_id,
        "url": f"{repo_api(repo)}/issues/events/{ev.id}",
        "actor": serializers.user(st, ev.actor),
        "event": ev.event,
        "commit_id": commit_id,
        "commit_url": f"{repo_api(repo)}/commits/{commit_id}" if commit_id else None,
        "created_at": iso(ev.created_at),
        "performed_via_github_app": performed_via_app(st, ev.actor, webhook=False),
    }
    if "label" in ev.data:
        out["label"] = {"name": ev.data["label"]["name"], "color": ev.data["label"]["color"]}
    if "milestone" in ev.data:
        out["milestone"] = {"title": ev.data["milestone"]["title"]}
    if "rename" in ev.data:
        out["rename"] = dict(ev.data["rename"])
    if "assignee" in ev.data:
        out["assignee"] = serializers.user(st, ev.data["assignee"])
        out["assigner"] = serializers.user(st, ev.actor)
    if "state_reason" in ev.data:
        out["state_reason"] = ev.data["state_reason"]
    if with_issue:
        it = repo.issues.get(ev.issue_number)
        out["issue"] = issue(st, repo, it) if it is not None and not it.deleted else None
    return out
