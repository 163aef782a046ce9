"""Who may do what: a user's permission on a repository (``permission``, ``role_name`` and the
``user.permissions`` booleans the bot trusts), adding collaborators, team and organization membership.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from bot.sandbox import serializers
from bot.sandbox.http import (
    ApiError,
    actor,
    actor_login,
    api_url,
    get_repo,
    html_url,
    json_body,
    no_content,
    not_found,
    paginate,
    require_auth,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.state import Repo, SandboxState, iso, node_id, role_at_least

bp = Blueprint("sandbox_collaborators", __name__)

# The REST API's legacy names for roles (``permission``) and what PUT accepts.
_LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
_PUT_NAMES = {"pull": "read", "read": "read", "triage": "triage", "push": "write", "write": "write",
              "maintain": "maintain", "admin": "admin"}


def permission_booleans(role: str | None) -> dict[str, bool]:
    return {
        "admin": role_at_least(role, "admin"),
        "maintain": role_at_least(role, "maintain"),
        "push": role_at_least(role, "write"),
        "triage": role_at_least(role, "triage"),
        "pull": role_at_least(role, "read"),
    }


def collaborator(st: SandboxState, repo: Repo, login: str) -> dict[str, Any]:
    """``collaborator``: a user with their role on ``repo`` (``role_name``, ``permissions``)."""
    role = st.role(repo, login)
    out = serializers.user(st, login) or {}
    acc = st.user(login)
    out.update({"email": acc.email if acc else None, "name": acc.name if acc else None,
                "permissions": permission_booleans(role), "role_name": role or "none"})
    return out


def _metadata_repo(owner: str, name: str) -> Repo:
    # Collaborator reads need only the App's (read-only) metadata permission.
    return get_repo(owner, name, "read", app_permission="metadata", app_level="read")


@bp.get("/repos/<owner>/<name>/collaborators/<username>/permission")
def get_permission(owner: str, name: str, username: str) -> Response:
    st = state()
    with st.lock:
        repo = _metadata_repo(owner, name)
        user = st.user(username)
        if user is None or user.type == "Organization":
            raise ApiError(404, f"{username} is not a user")
        role = st.role(repo, user.login)
        body = {
            "permission": _LEGACY[role] if role else "none",
            "role_name": role or "none",
            "user": collaborator(st, repo, user.login),
        }
    return respond(body)


@bp.get("/repos/<owner>/<name>/collaborators")
def list_collaborators(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        repo = _metadata_repo(owner, name)
        a = actor()
        if a.kind == "user" and not role_at_least(st.role(repo, a.login), "write"):
            raise ApiError(403, "Must have push access to view repository collaborators.")
        logins = {k.lower(): k for k in repo.permissions}
        org = st.org(repo.owner)
        for owner_login in org.owners if org else ():
            logins.setdefault(owner_login.lower(), owner_login)
        users = [u for u in (st.user(v) for v in logins.values()) if u is not None]
        body = [collaborator(st, repo, u.login) for u in sorted(users, key=lambda u: u.id)]
    return paginate(body)


@bp.get("/repos/<owner>/<name>/collaborators/<username>")
def check_collaborator(owner: str, name: str, username: str) -> Response:
    st = state()
    with st.lock:
        repo = _metadata_repo(owner, name)
        user = st.user(username)
        org = st.org(repo.owner)
        explicit = {k.lower() for k in repo.permissions} | {o.lower() for o in (org.owners if org else ())}
        if user is None or user.login.lower() not in explicit:
            not_found()
    return no_content()


@bp.put("/repos/<owner>/<name>/collaborators/<username>")
def add_collaborator(owner: str, name: str, username: str) -> Response:
    """Grant a role. GitHub answers 204 for organization members and existing collaborators, and 201
    with an invitation for others; the sandbox's invitations are accepted at once."""
    st = state()
    require_auth()
    data = json_body()
    wanted = data.get("permission", "push")
    role = _PUT_NAMES.get(wanted) if isinstance(wanted, str) else None
    if role is None:
        validation_failed("Repository", "permission", "invalid",
                          "permission must be one of pull, triage, push, maintain, admin")
    with st.lock:
        repo = get_repo(owner, name, "admin", app_permission="administration")
        user = st.user(username)
        if user is None or user.type != "User":
            not_found()
        org = st.org(repo.owner)
        member = org is not None and user.login.lower() in {m.lower() for m in org.members}
        existing = any(k.lower() == user.login.lower() for k in repo.permissions)
        repo.permissions = {k: v for k, v in repo.permissions.items() if k.lower() != user.login.lower()}
        repo.permissions[user.login] = role
        if member or existing:
            return no_content()
        invitation_id = st.next_id("invitation")
        body = {
            "id": invitation_id,
            "node_id": node_id("RepositoryInvitation", invitation_id),
            "repository": _minimal_repository(st, repo),
            "invitee": serializers.user(st, user.login),
            "inviter": serializers.user(st, actor_login()),
            "permissions": role,
            "created_at": iso(st.now()),
            "expired": False,
            "url": api_url(f"/user/repository_invitations/{invitation_id}"),
            "html_url": html_url(f"/{repo.full_name}/invitations"),
        }
    return respond(body, 201)


def _minimal_repository(st: SandboxState, repo: Repo) -> dict[str, Any]:
    return serializers.repository(st, repo, full=False)


# --------------------------------------------------------------------------- organizations and teams


@bp.get("/orgs/<org>/members/<username>")
def check_member(org: str, username: str) -> Response:
    st = state()
    require_auth()
    with st.lock:
        o = st.org(org)
        if o is None:
            not_found()
        user = st.user(username)
        if user is None or user.login.lower() not in {m.lower() for m in o.members}:
            raise ApiError(404, "User does not exist or is not a member of the organization")
    return no_content()


@bp.get("/orgs/<org>/teams/<slug>/memberships/<username>")
def team_membership(org: str, slug: str, username: str) -> Response:
    st = state()
    require_auth()
    with st.lock:
        team = st.teams.get((org.lower(), slug))
        if team is None:
            not_found()
        user = st.user(username)
        members = {m.lower() for m in team.members} | {m.lower() for m in team.maintainers}
        if user is None or user.login.lower() not in members:
            not_found()
        role = "maintainer" if user.login.lower() in {m.lower() for m in team.maintainers} else "member"
        o = st.org(org)
        body = {
            "url": api_url(f"/organizations/{o.id if o else 0}/team/{team.id}/memberships/{user.login}"),
            "role": role,
            "state": "active",
        }
    return respond(body)


@bp.get("/orgs/<org>/teams/<slug>/members")
def team_members(org: str, slug: str) -> Response:
    st = state()
    require_auth()
    with st.lock:
        team = st.teams.get((org.lower(), slug))
        if team is None:
            not_found()
        logins = sorted(team.members | team.maintainers, key=lambda x: x.lower())
        body = [serializers.user(st, login) for login in logins]
    return paginate(body)
