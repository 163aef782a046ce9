"""Reactions on issue comments: list (``content`` filter), create (200 when the caller already reacted
that way, 201 when new), delete.

Anyone who can read may react, as on GitHub.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import (
    ApiError,
    actor_login,
    get_repo,
    json_body,
    no_content,
    not_found,
    paginate,
    require_auth,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.issue_side import repo_for_contribution, role_allows
from bot.sandbox.state import Comment, Reaction, Repo

bp = Blueprint("sandbox_reactions", __name__)


def _comment(owner: str, name: str, comment_id: str, write: bool = False) -> tuple[Repo, Comment]:
    repo = (
        repo_for_contribution(owner, name)
        if write
        else get_repo(owner, name, "read", app_permission="issues")
    )
    try:
        c = repo.comments.get(int(comment_id))
    except ValueError:
        c = None
    if c is None:
        not_found()
    return repo, c


@bp.get("/repos/<owner>/<name>/issues/comments/<comment_id>/reactions")
def list_reactions(owner: str, name: str, comment_id: str) -> Response:
    st = state()
    content = request.args.get("content")
    if content is not None and content not in shapes.REACTION_CONTENTS:
        validation_failed("Reaction", "content")
    with st.lock:
        _, c = _comment(owner, name, comment_id)
        body = [shapes.reaction(st, r) for r in c.reactions if content is None or r.content == content]
    return paginate(body)


@bp.post("/repos/<owner>/<name>/issues/comments/<comment_id>/reactions")
def create_reaction(owner: str, name: str, comment_id: str) -> Response:
    st = state()
    require_auth()
    data = json_body()
    content = data.get("content")
    if content not in shapes.REACTION_CONTENTS:
        validation_failed("Reaction", "content", "invalid" if content else "missing_field")
    with st.lock:
        _, c = _comment(owner, name, comment_id, write=True)
        login = actor_login()
        existing = next(
            (r for r in c.reactions if r.user.lower() == login.lower() and r.content == content), None
        )
        if existing is not None:
            return respond(shapes.reaction(st, existing), 200)
        r = Reaction(id=st.next_id("reaction"), user=login, content=content, created_at=st.now())
        c.reactions.append(r)
        body = shapes.reaction(st, r)
    return respond(body, 201)


@bp.delete("/repos/<owner>/<name>/issues/comments/<comment_id>/reactions/<reaction_id>")
def delete_reaction(owner: str, name: str, comment_id: str, reaction_id: str) -> Response:
    st = state()
    require_auth()
    with st.lock:
        repo, c = _comment(owner, name, comment_id, write=True)
        r = next((r for r in c.reactions if str(r.id) == reaction_id), None)
        if r is None:
            not_found()
        if r.user.lower() != actor_login().lower() and not role_allows(st, repo, "admin"):
            raise ApiError(403, "Resource not accessible by personal access token")
        c.reactions.remove(r)
    return no_content()
