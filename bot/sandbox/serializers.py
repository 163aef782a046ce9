"""Shared JSON shapes: users, organizations, repositories, installations and the App.

Shapes follow GitHub's OpenAPI description (``simple-user``, ``full-repository``, ``installation``,
``integration``) and, with ``webhook=True``, the stricter webhook schemas (which forbid REST-only
fields). Call these while holding ``state.lock``.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.http import api_url, html_url
from bot.sandbox.state import App, Installation, Org, Repo, SandboxState, iso, role_at_least


def user(st: SandboxState, login: str | None) -> dict[str, Any] | None:
    """``simple-user`` for any account (user, bot or organization); unknown logins become ghosts."""
    if login is None:
        return None
    acc = st.account(login)
    if acc is None:
        acc = st.account("ghost") or st.add_user("ghost")
    lg = acc.login
    u = api_url(f"/users/{lg}")
    return {
        "login": lg,
        "id": acc.id,
        "node_id": acc.node_id,
        "avatar_url": html_url(f"/avatars/u/{acc.id}"),
        "gravatar_id": "",
        "url": u,
        "html_url": html_url(f"/apps/{lg[:-5]}" if acc.type == "Bot" else f"/{lg}"),
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": acc.type,
        "site_admin": acc.site_admin,
    }


def organization(org: Org) -> dict[str, Any]:
    """``organization-simple`` (also the webhook ``organization``)."""
    u = api_url(f"/orgs/{org.login}")
    return {
        "login": org.login,
        "id": org.id,
        "node_id": org.node_id,
        "url": u,
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events",
        "hooks_url": f"{u}/hooks",
        "issues_url": f"{u}/issues",
        "members_url": f"{u}/members{{/member}}",
        "public_members_url": f"{u}/public_members{{/member}}",
        "avatar_url": html_url(f"/avatars/u/{org.id}"),
        "description": org.description,
    }


def repository(
    st: SandboxState, repo: Repo, *, webhook: bool = False, full: bool = True, viewer: str | None = None
) -> dict[str, Any]:
    """The repository: ``full-repository`` for REST, the webhook ``repository`` with ``webhook=True``."""
    u = api_url(f"/repos/{repo.full_name}")
    h = html_url(f"/{repo.full_name}")
    open_count = repo.issues.open_count
    out: dict[str, Any] = {
        "id": repo.id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": user(st, repo.owner),
        "html_url": h,
        "description": repo.description,
        "fork": False,
        "url": u,
        "forks_url": f"{u}/forks",
        "keys_url": f"{u}/keys{{/key_id}}",
        "collaborators_url": f"{u}/collaborators{{/collaborator}}",
        "teams_url": f"{u}/teams",
        "hooks_url": f"{u}/hooks",
        "issue_events_url": f"{u}/issues/events{{/number}}",
        "events_url": f"{u}/events",
        "assignees_url": f"{u}/assignees{{/user}}",
        "branches_url": f"{u}/branches{{/branch}}",
        "tags_url": f"{u}/tags",
        "blobs_url": f"{u}/git/blobs{{/sha}}",
        "git_tags_url": f"{u}/git/tags{{/sha}}",
        "git_refs_url": f"{u}/git/refs{{/sha}}",
        "trees_url": f"{u}/git/trees{{/sha}}",
        "statuses_url": f"{u}/statuses/{{sha}}",
        "languages_url": f"{u}/languages",
        "stargazers_url": f"{u}/stargazers",
        "contributors_url": f"{u}/contributors",
        "subscribers_url": f"{u}/subscribers",
        "subscription_url": f"{u}/subscription",
        "commits_url": f"{u}/commits{{/sha}}",
        "git_commits_url": f"{u}/git/commits{{/sha}}",
        "comments_url": f"{u}/comments{{/number}}",
        "issue_comment_url": f"{u}/issues/comments{{/number}}",
        "contents_url": f"{u}/contents/{{+path}}",
        "compare_url": f"{u}/compare/{{base}}...{{head}}",
        "merges_url": f"{u}/merges",
        "archive_url": f"{u}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{u}/downloads",
        "issues_url": f"{u}/issues{{/number}}",
        "pulls_url": f"{u}/pulls{{/number}}",
        "milestones_url": f"{u}/milestones{{/number}}",
        "notifications_url": f"{u}/notifications{{?since,all,participating}}",
        "labels_url": f"{u}/labels{{/name}}",
        "releases_url": f"{u}/releases{{/id}}",
        "deployments_url": f"{u}/deployments",
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.updated_at),
        "pushed_at": iso(repo.pushed_at),
        "git_url": f"git://{h.split('://', 1)[1]}.git",
        "ssh_url": f"git@sandbox:{repo.full_name}.git",
        "clone_url": f"{h}.git",
        "svn_url": h,
        "homepage": None,
        "size": repo.commits[repo.branch_sha(repo.default_branch) or ""].tree_size // 1024
        if repo.branch_sha(repo.default_branch) in repo.commits
        else 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": None,
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": open_count,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if repo.private else "public",
        "forks": 0,
        "open_issues": open_count,
        "watchers": 0,
        "default_branch": repo.default_branch,
    }
    if webhook:
        out["custom_properties"] = {}
        return out
    if viewer is not None:
        role = st.role(repo, viewer)
        out["permissions"] = {
            "admin": role_at_least(role, "admin"),
            "maintain": role_at_least(role, "maintain"),
            "push": role_at_least(role, "write"),
            "triage": role_at_least(role, "triage"),
            "pull": role_at_least(role, "read"),
        }
    if full:
        org = st.org(repo.owner)
        out["organization"] = user(st, org.login) if org else None
        out["network_count"] = 0
        out["subscribers_count"] = 0
        out["allow_merge_commit"] = True
        out["allow_squash_merge"] = True
        out["allow_rebase_merge"] = True
        out["allow_auto_merge"] = False
        out["delete_branch_on_merge"] = False
    return out


def app(st: SandboxState, a: App) -> dict[str, Any]:
    """``integration`` (GET /app, ``installation.app`` ...)."""
    return {
        "id": a.id,
        "slug": a.slug,
        "node_id": a.node_id,
        "client_id": a.client_id,
        "owner": user(st, a.owner),
        "name": a.name,
        "description": a.description,
        "external_url": a.external_url or html_url("/"),
        "html_url": html_url(f"/apps/{a.slug}"),
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "permissions": dict(a.permissions),
        "events": list(a.events),
        "installations_count": sum(
            1 for i in st.installations.values() if i.app_id == a.id and not i.deleted
        ),
    }


def installation(st: SandboxState, inst: Installation) -> dict[str, Any]:
    """``installation`` (REST and the ``installation`` webhook's object)."""
    a = st.apps[inst.app_id]
    account = st.account(inst.account)
    return {
        "id": inst.id,
        "account": user(st, inst.account),
        "repository_selection": inst.repository_selection,
        "access_tokens_url": api_url(f"/app/installations/{inst.id}/access_tokens"),
        "repositories_url": api_url("/installation/repositories"),
        "html_url": html_url(f"/organizations/{inst.account}/settings/installations/{inst.id}"),
        "app_id": inst.app_id,
        "app_slug": a.slug,
        "target_id": account.id if account else 0,
        "target_type": account.type if account else "Organization",
        "permissions": dict(a.permissions),
        "events": list(a.events),
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.updated_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": user(st, inst.suspended_by) if inst.suspended_by else None,
        "suspended_at": iso(inst.suspended_at),
    }


def installation_lite(inst: Installation) -> dict[str, Any]:
    return {"id": inst.id, "node_id": inst.node_id}
