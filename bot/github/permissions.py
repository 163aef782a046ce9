"""Who holds which role on a repository, from GitHub, cached for at most five minutes.

Reads ``GET /repos/{o}/{r}/collaborators/{u}/permission`` (its ``user.permissions`` booleans,
which custom repository roles fill too) and ``GET /orgs/{org}/teams/{slug}/memberships/{u}``;
never ``author_association`` (DESIGN.md, Trust). Decisions are made by the pure rules in
``bot.core.permissions``. The caches are process-wide: a permission changed on GitHub is seen
within ``CACHE_TTL_SECONDS`` (DESIGN.md allows permissions, and only them among facts, to be
cached "for minutes"); five minutes bounds how long a revoked person keeps a role here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from cachetools import TTLCache
from github import Github, GithubException

from bot.core.command_registry import CommandSpec
from bot.core.permissions import (
    ROLES,
    RoleRule,
    TeamRef,
    UserAccess,
    needs_permission_lookup,
    role_rules,
    roles_of,
    teams_to_ask,
)
from bot.github.paths import repo_path

CACHE_TTL_SECONDS = 300
CACHE_SIZE = 8192

_lock = threading.Lock()
# (api base, repo lower, login lower) -> the permission booleans
_permission_cache: TTLCache[tuple[str, str, str], dict[str, bool]] = TTLCache(CACHE_SIZE, CACHE_TTL_SECONDS)
# (api base, org, slug, login lower) -> active member?
_team_cache: TTLCache[tuple[str, str, str, str], bool] = TTLCache(CACHE_SIZE, CACHE_TTL_SECONDS)

# What the classic ``permission`` field implies when ``user.permissions`` is absent (older GHES).
_BOOLEANS_FOR_PERMISSION = {
    "admin": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
    "maintain": {"maintain": True, "push": True, "triage": True, "pull": True},
    "write": {"push": True, "triage": True, "pull": True},
    "triage": {"triage": True, "pull": True},
    "read": {"pull": True},
}


def clear_caches() -> None:
    """Forget every cached look-up (tests; an operator who just changed a team)."""
    with _lock:
        _permission_cache.clear()
        _team_cache.clear()


def _base(gh: Github) -> str:
    requester = gh.requester
    return str(getattr(requester, "base_url", "") or "")


def permission_booleans(gh: Github, repo: str, login: str) -> dict[str, bool]:
    """The ``user.permissions`` booleans of ``login`` on ``repo``; all false for an unknown user."""
    key = (_base(gh), repo.lower(), login.lower())
    with _lock:
        cached = _permission_cache.get(key)
    if cached is not None:
        return cached
    try:
        _, data = gh.requester.requestJsonAndCheck(
            "GET", f"{repo_path(repo)}/collaborators/{quote(login, safe='')}/permission"
        )
        booleans = _booleans_from(data)
    except GithubException as exc:
        if exc.status != 404:  # PyGithub names only 'Not Found' 404s; GitHub has others
            raise
        booleans = {}  # not a user GitHub knows, or no access at all: no permission
    with _lock:
        _permission_cache[key] = booleans
    return booleans


def _booleans_from(data: Mapping[str, Any]) -> dict[str, bool]:
    user = data.get("user") if isinstance(data, Mapping) else None
    booleans = user.get("permissions") if isinstance(user, Mapping) else None
    if isinstance(booleans, Mapping):
        return {str(k): v is True for k, v in booleans.items()}
    return dict(_BOOLEANS_FOR_PERMISSION.get(str(data.get("permission", "none")), {}))


def is_team_member(gh: Github, team: TeamRef, login: str) -> bool:
    """Active membership of ``team`` (a pending invitation is not membership)."""
    key = (_base(gh), team.org, team.slug, login.lower())
    with _lock:
        cached = _team_cache.get(key)
    if cached is not None:
        return cached
    try:
        _, data = gh.requester.requestJsonAndCheck(
            "GET",
            f"/orgs/{quote(team.org, safe='')}/teams/{quote(team.slug, safe='')}"
            f"/memberships/{quote(login, safe='')}",
        )
        member = isinstance(data, Mapping) and data.get("state") == "active"
    except GithubException as exc:
        if exc.status != 404:  # PyGithub names only 'Not Found' 404s; GitHub has others
            raise
        member = False
    with _lock:
        _team_cache[key] = member
    return member


def user_access(gh: Github, repo: str, login: str, rules: Iterable[RoleRule]) -> UserAccess:
    """Only the look-ups the rules need: booleans if some role uses a threshold, teams if named."""
    rules = list(rules)
    booleans = permission_booleans(gh, repo, login) if needs_permission_lookup(rules) else {}
    teams = frozenset(team for team in teams_to_ask(rules) if is_team_member(gh, team, login))
    return UserAccess(login=login, permissions=booleans, teams=teams)


class Roles:
    """The one answer to "may this person do X here": who holds which role on one repository.

    Every feature asks it (the gate's labels and commands, ``/release-note``, the tracking issue's
    commands): ``roles_of`` for the roles of several people at once, ``holds`` for one role,
    ``may_run`` for a declared command (``bot.core.command_registry``), ``describe`` for the rule
    in words for a refusal. Look-ups are cached process-wide (see the module's docstring).
    """

    def __init__(self, gh: Github, repo: str, rules: Mapping[str, RoleRule], bot_login: str = "") -> None:
        self.gh = gh
        self.repo = repo
        self.rules = rules
        self.bot_login = bot_login

    def roles_of(self, logins: Iterable[str]) -> dict[str, frozenset[str]]:
        """login (lower-cased) -> the roles it holds. The bot itself (and any App) holds none."""
        return _roles_for(self.gh, self.repo, self.rules, logins, self.bot_login)

    def holds(self, login: str, role: str) -> bool:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        return role in self.roles_of([login]).get(login.lower(), frozenset())

    def may_run(self, command: CommandSpec, login: str, is_author: bool) -> bool:
        """Whether ``login`` may run ``command`` here (roles are looked up only when they matter)."""
        if command.anyone or (command.author_may and is_author):
            return True
        return command.may_run(self.roles_of([login]).get(login.lower(), frozenset()), is_author)

    def describe(self, role: str) -> str:
        """Who holds ``role``, in words (``members of @acme/qa``)."""
        return self.rules[role].describe()


def roles_for_logins(
    gh: Github, repo: str, config: Mapping[str, Any], logins: Iterable[str], bot_login: str = ""
) -> dict[str, frozenset[str]]:
    """login (lower-cased) -> the roles it holds on ``repo``. The bot itself holds none."""
    return _roles_for(gh, repo, role_rules(config, repo.split("/", 1)[0]), logins, bot_login)


def _roles_for(
    gh: Github, repo: str, rules: Mapping[str, RoleRule], logins: Iterable[str], bot_login: str
) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for login in logins:
        key = login.lower()
        if not login or key in out:
            continue
        if key == bot_login.lower() or key.endswith("[bot]"):
            out[key] = frozenset()  # apps act through the bot's records, never through roles
            continue
        out[key] = roles_of(rules, user_access(gh, repo, login, rules.values()))
    return out
