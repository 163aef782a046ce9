"""``GET /meta``, ``GET /rate_limit``, ``GET /users/{login}``, ``GET /orgs/{org}``."""

from __future__ import annotations

from flask import Blueprint, Response

from bot.sandbox import serializers
from bot.sandbox.http import actor, found, rate_status, respond, state
from bot.sandbox.state import iso

bp = Blueprint("sandbox_meta", __name__)


@bp.get("/meta")
def meta() -> Response:
    # The readiness probe of the contract; GitHub Enterprise Server answers much the same.
    return respond(
        {
            "verifiable_password_authentication": False,
            "installed_version": "3.14.0-sandbox",
            "hooks": [],
            "git": [],
            "web": [],
            "api": [],
        }
    )


@bp.get("/rate_limit")
def rate_limit() -> Response:
    limit, remaining, reset, used = rate_status(state(), actor())
    core = {"limit": limit, "used": used, "remaining": remaining, "reset": reset}
    idle = {"limit": 5000, "used": 0, "remaining": 5000, "reset": reset}
    return respond(
        {
            "resources": {
                "core": core,
                "search": dict(idle, limit=30, remaining=30),
                "graphql": idle,
                "integration_manifest": idle,
            },
            "rate": core,
        }
    )


# Profile fields the sandbox has nothing for, shared by users and organizations.
_EMPTY_PROFILE: dict[str, object] = {
    "blog": "",
    "twitter_username": None,
    "public_gists": 0,
    "followers": 0,
    "following": 0,
}


@bp.get("/users/<login>")
def get_user(login: str) -> Response:
    st = state()
    with st.lock:
        acc = found(st.account(login))
        body = serializers.user(st, acc.login) or {}
        body.update(
            {
                **_EMPTY_PROFILE,
                "name": acc.name,
                "company": None,
                "location": None,
                "email": acc.email,
                "hireable": None,
                "bio": None,
                "public_repos": 0,
                "created_at": iso(acc.created_at),
                "updated_at": iso(acc.created_at),
                # GitHub's spec tells public from private profiles by this discriminator
                "user_view_type": "public",
            }
        )
    return respond(body)


@bp.get("/orgs/<org>")
def get_org(org: str) -> Response:
    st = state()
    with st.lock:
        o = found(st.org(org))
        body = serializers.organization(o)
        body.update(
            {
                **_EMPTY_PROFILE,
                "name": o.login,
                "is_verified": False,
                "has_organization_projects": True,
                "has_repository_projects": True,
                "public_repos": sum(
                    1 for r in st.repos.values() if r.owner.lower() == o.login.lower() and not r.private
                ),
                "html_url": serializers.html_url(f"/{o.login}"),
                "created_at": iso(st.now()),
                "updated_at": iso(st.now()),
                "type": "Organization",
                "archived_at": None,
            }
        )
    return respond(body)
