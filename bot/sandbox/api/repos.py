"""Repositories and branches: ``GET /repos/{o}/{r}``, ``/branches``, ``/branches/{branch}``."""

from __future__ import annotations

from flask import Blueprint, Response, request

from bot.sandbox import serializers
from bot.sandbox import serializers_git as gshapes
from bot.sandbox.http import ApiError, actor, api_url, get_repo, html_url, paginate, quote_ref, respond, state

bp = Blueprint("sandbox_repos", __name__)


@bp.get("/repos/<owner>/<name>")
def get_repository(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        a = actor()
        viewer = a.login if a.kind == "user" else None
        body = serializers.repository(st, repo, viewer=viewer)
        if a.kind == "installation":
            body["permissions"] = {
                "admin": False,
                "maintain": False,
                "push": False,
                "triage": False,
                "pull": True,
            }
    return respond(body)


@bp.get("/repos/<owner>/<name>/branches")
def list_branches(owner: str, name: str) -> Response:
    st = state()
    protected_only = request.args.get("protected") in ("true", "1")
    with st.lock:
        repo = get_repo(owner, name)
        rows = [
            gshapes.short_branch(repo, b, sha)
            for b, sha in repo.branches()
            if not protected_only or b in repo.protection
        ]
    return paginate(rows)


@bp.get("/repos/<owner>/<name>/branches/<path:branch>")
def get_branch(owner: str, name: str, branch: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        sha = repo.branch_sha(branch)
        if sha is None:
            raise ApiError(404, "Branch not found")
        c = repo.commits[sha]
        base = api_url(f"/repos/{repo.full_name}/branches/{quote_ref(branch)}")
        prot = repo.protection.get(branch)
        body = {
            "name": branch,
            "commit": gshapes.commit(st, repo, c),
            "_links": {"self": base, "html": html_url(f"/{repo.full_name}/tree/{quote_ref(branch)}")},
            "protected": prot is not None,
            "protection": {
                "enabled": prot is not None,
                "required_status_checks": gshapes._checks_summary(repo, branch),
            },
            "protection_url": f"{base}/protection",
        }
    return respond(body)
