"""Role rules: who counts as QA or as a release manager, and the self-approval rule. Pure.

Configuration (`roles:`), DESIGN.md's trust rules:
- a role with teams configured is held by members of those teams only;
- otherwise by anyone whose repository permission reaches the role's threshold, read from the
  ``user.permissions`` booleans of ``GET …/collaborators/{u}/permission`` (custom roles fill those
  booleans too, which ``role_name`` alone would not reveal);
- ``author_association`` is never consulted: it describes a relationship, not a permission, and
  is absent from events anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ROLE_QA = "qa"
ROLE_RELEASE_MANAGERS = "release_managers"
ROLES = (ROLE_QA, ROLE_RELEASE_MANAGERS)

# Thresholds, lowest to highest, and the ``user.permissions`` boolean each one corresponds to.
PERMISSION_LEVELS = ("read", "triage", "write", "maintain", "admin")
_BOOLEAN_FOR_LEVEL = {
    "read": "pull",
    "triage": "triage",
    "write": "push",
    "maintain": "maintain",
    "admin": "admin",
}
# Names GitHub also uses for the same levels (classic API names, role_name values).
_LEVEL_ALIASES = {"pull": "read", "push": "write", "none": "none"}

DEFAULT_ROLE_PERMISSIONS = {ROLE_QA: "write", ROLE_RELEASE_MANAGERS: "maintain"}
ROLE_TITLES = {ROLE_QA: "QA", ROLE_RELEASE_MANAGERS: "release managers"}


@dataclass(frozen=True)
class TeamRef:
    org: str
    slug: str

    def __str__(self) -> str:
        return f"@{self.org}/{self.slug}"


@dataclass(frozen=True)
class RoleRule:
    """How one role is decided for one repository."""

    role: str
    teams: tuple[TeamRef, ...]
    permission: str  # threshold used when no team is configured

    def describe(self) -> str:
        """Who holds the role, in words for replies and check summaries."""
        if self.teams:
            return "members of " + ", ".join(str(team) for team in self.teams)
        if self.permission == "admin":
            return "people with admin permission on the repository"
        return f"people with {self.permission} permission or above on the repository"


@dataclass(frozen=True)
class UserAccess:
    """What GitHub says about one user: permission booleans and membership of the teams asked about."""

    login: str
    permissions: Mapping[str, bool]  # admin / maintain / push / triage / pull
    teams: frozenset[TeamRef] = frozenset()  # teams (among those asked) the user is an active member of


def normalize_level(level: str) -> str:
    value = level.strip().lower()
    value = _LEVEL_ALIASES.get(value, value)
    if value not in PERMISSION_LEVELS:
        raise ValueError(
            f"unknown permission level {level!r}; expected one of {', '.join(PERMISSION_LEVELS)}"
        )
    return value


def parse_team(name: str, default_org: str) -> TeamRef:
    """'qa', '@qa', 'acme/qa' and '@acme/qa' all name a team; the organization defaults to the repo owner."""
    text = name.strip().lstrip("@")
    if not text:
        raise ValueError("empty team name")
    org, sep, slug = text.partition("/")
    if not sep:
        org, slug = default_org, org
    if not org or not slug or "/" in slug:
        raise ValueError(f"bad team name {name!r}; expected 'slug' or 'org/slug'")
    return TeamRef(org=org.lower(), slug=slug.lower())


def role_rules(config: Mapping[str, Any], repo_owner: str) -> dict[str, RoleRule]:
    """The rule for each role from the effective configuration's ``roles:`` section."""
    section = config.get("roles") or {}
    rules: dict[str, RoleRule] = {}
    for role in ROLES:
        entry = section.get(role) or {}
        teams = tuple(parse_team(team, repo_owner) for team in entry.get("teams") or [])
        permission = normalize_level(str(entry.get("permission") or DEFAULT_ROLE_PERMISSIONS[role]))
        rules[role] = RoleRule(role=role, teams=teams, permission=permission)
    return rules


def permission_level(permissions: Mapping[str, bool]) -> str:
    """The highest level the booleans grant, or 'none'."""
    for level in reversed(PERMISSION_LEVELS):
        if permissions.get(_BOOLEAN_FOR_LEVEL[level]):
            return level
    return "none"


def meets_threshold(permissions: Mapping[str, bool], threshold: str) -> bool:
    level = permission_level(permissions)
    if level == "none":
        return False
    return PERMISSION_LEVELS.index(level) >= PERMISSION_LEVELS.index(normalize_level(threshold))


def holds_role(rule: RoleRule, access: UserAccess) -> bool:
    if rule.teams:
        return any(team in access.teams for team in rule.teams)
    return meets_threshold(access.permissions, rule.permission)


def roles_of(rules: Mapping[str, RoleRule], access: UserAccess) -> frozenset[str]:
    return frozenset(role for role, rule in rules.items() if holds_role(rule, access))


def teams_to_ask(rules: Iterable[RoleRule]) -> tuple[TeamRef, ...]:
    """Every team any rule depends on, each once, in a stable order."""
    seen: dict[TeamRef, None] = {}
    for rule in rules:
        for team in rule.teams:
            seen.setdefault(team, None)
    return tuple(seen)


def needs_permission_lookup(rules: Iterable[RoleRule]) -> bool:
    return any(not rule.teams for rule in rules)


def is_self_approval(actor: str, pr_author: str, allow_self_approval: bool) -> bool:
    """True when ``actor`` may not give UAT or approval because they wrote the pull request."""
    return not allow_self_approval and actor.lower() == pr_author.lower()
