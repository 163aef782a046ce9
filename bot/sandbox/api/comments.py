"""Issue comments (pull requests' conversation comments too): create, list, get, update, delete →
``issue_comment`` ``created``/``edited``/``deleted``.

Anyone who can read may comment (``read`` may do nothing else); an author may edit or delete their own
comment, ``write`` and above anyone's. A comment bumps its issue's ``updated_at``, as on GitHub.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import (
    ApiError,
    actor_login,
    created,
    json_body,
    no_content,
    not_found,
    paginate,
    read_in_repo,
    require_auth,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.issue_side import (
    creation_order,
    find_issue,
    is_author,
    issues_repo,
    repo_for_contribution,
    role_allows,
    touch,
)
from bot.sandbox.state import Comment, Repo, SandboxState
from bot.sandbox.webhooks import emit

bp = Blueprint("sandbox_comments", __name__)

# GitHub refuses bodies above 65,536 characters.
MAX_BODY = 65536


_repo = issues_repo


def _find_comment(repo: Repo, comment_id: str) -> Comment:
    try:
        c = repo.comments.get(int(comment_id))
    except ValueError:
        c = None
    if c is None or c.issue_number not in repo.issues or repo.issues[c.issue_number].deleted:
        not_found()
    return c


def _body(data: dict[str, Any]) -> str:
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        validation_failed("IssueComment", "body", "missing_field")
    if len(body) > MAX_BODY:
        validation_failed("IssueComment", "body", "custom", "Body is too long (maximum is 65536 characters)")
    return body


def _since() -> datetime | None:
    value = request.args.get("since")
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        validation_failed("IssueComment", "since")


def _emit(st: SandboxState, repo: Repo, c: Comment, action: str, **extra: Any) -> None:
    issue = repo.issues[c.issue_number]
    payload = {
        **extra,
        "issue": shapes.issue(st, repo, issue, webhook=True),
        "comment": shapes.comment(st, repo, c, webhook=True),
    }
    emit("issue_comment", action, payload, repo)


@bp.get("/repos/<owner>/<name>/issues/<number>/comments")
def list_comments(owner: str, name: str, number: str) -> Response:
    st = state()
    since = _since()
    with st.lock:
        repo = _repo(owner, name)
        issue = find_issue(repo, number)
        items = sorted(
            (c for c in repo.comments.values() if c.issue_number == issue.number), key=lambda c: c.id
        )
        if since is not None:
            items = [c for c in items if c.updated_at >= since]
        return paginate(shapes.Shaped(items, lambda c: shapes.comment(st, repo, c)))


@bp.get("/repos/<owner>/<name>/issues/comments")
def list_repo_comments(owner: str, name: str) -> Response:
    st = state()
    since = _since()
    sort = request.args.get("sort", "created")
    direction = request.args.get("direction", "asc")
    if sort not in ("created", "updated") or direction not in ("asc", "desc"):
        validation_failed("IssueComment", "sort" if sort not in ("created", "updated") else "direction")
    with st.lock:
        repo = _repo(owner, name)
        items = [
            c
            for c in repo.comments.values()
            if c.issue_number in repo.issues and not repo.issues[c.issue_number].deleted
        ]
        if since is not None:
            items = [c for c in items if c.updated_at >= since]
        items.sort(
            key=lambda c: (c.updated_at if sort == "updated" else c.created_at, c.id),
            reverse=direction == "desc",
        )
        return paginate(shapes.Shaped(items, lambda c: shapes.comment(st, repo, c)))


@bp.post("/repos/<owner>/<name>/issues/<number>/comments")
def create_comment(owner: str, name: str, number: str) -> Response:
    st = state()
    require_auth()
    data = json_body()
    with st.lock:
        repo = repo_for_contribution(owner, name)
        issue = find_issue(repo, number)
        body = _body(data)
        if issue.locked and not role_allows(st, repo, "write"):
            raise ApiError(403, "Unable to create comment because issue is locked.")
        now = st.now()
        c = Comment(
            id=st.next_id("comment"),
            issue_number=issue.number,
            user=actor_login(),
            body=body,
            created_at=now,
            updated_at=now,
        )
        repo.comments[c.id] = c
        st.extra.setdefault("comment_order", {})[c.id] = creation_order(st, repo)
        touch(st, repo, issue)
        _emit(st, repo, c, "created")
        out = shapes.comment(st, repo, c)
    return created(out)


@bp.get("/repos/<owner>/<name>/issues/comments/<comment_id>")
def get_comment(owner: str, name: str, comment_id: str) -> Response:
    return read_in_repo(
        owner, name, lambda st, repo: shapes.comment(st, repo, _find_comment(repo, comment_id))
    )


def _require_editor(st: SandboxState, repo: Repo, c: Comment) -> None:
    if not (is_author(c.user) or role_allows(st, repo, "write")):
        raise ApiError(403, "Resource not accessible by personal access token")


@bp.patch("/repos/<owner>/<name>/issues/comments/<comment_id>")
def update_comment(owner: str, name: str, comment_id: str) -> Response:
    st = state()
    require_auth()
    data = json_body()
    with st.lock:
        repo = repo_for_contribution(owner, name)
        c = _find_comment(repo, comment_id)
        _require_editor(st, repo, c)
        body = _body(data)
        if body != c.body:
            old = c.body
            c.body = body
            c.updated_at = st.now()
            _emit(st, repo, c, "edited", changes={"body": {"from": old}})
        out = shapes.comment(st, repo, c)
    return respond(out)


@bp.delete("/repos/<owner>/<name>/issues/comments/<comment_id>")
def delete_comment(owner: str, name: str, comment_id: str) -> Response:
    st = state()
    require_auth()
    with st.lock:
        repo = repo_for_contribution(owner, name)
        c = _find_comment(repo, comment_id)
        _require_editor(st, repo, c)
        _emit(st, repo, c, "deleted")
        del repo.comments[c.id]
    return no_content()
