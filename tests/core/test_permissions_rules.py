"""Role rules: teams when configured, else the permission booleans; never author_association."""

from __future__ import annotations

import pytest

from bot.core.permissions import (
    ROLE_QA,
    ROLE_RELEASE_MANAGERS,
    TeamRef,
    UserAccess,
    holds_role,
    is_self_approval,
    meets_threshold,
    normalize_level,
    parse_team,
    permission_level,
    role_rules,
    roles_of,
    teams_to_ask,
)

ADMIN = {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}
MAINTAIN = {"admin": False, "maintain": True, "push": True, "triage": True, "pull": True}
WRITE = {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}
TRIAGE = {"admin": False, "maintain": False, "push": False, "triage": True, "pull": True}
READ = {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True}
NONE: dict[str, bool] = {}


@pytest.mark.parametrize(
    ("booleans", "level"),
    [
        (ADMIN, "admin"),
        (MAINTAIN, "maintain"),
        (WRITE, "write"),
        (TRIAGE, "triage"),
        (READ, "read"),
        (NONE, "none"),
    ],
)
def test_permission_level(booleans: dict[str, bool], level: str) -> None:
    assert permission_level(booleans) == level


@pytest.mark.parametrize(
    ("booleans", "threshold", "ok"),
    [
        (WRITE, "write", True),
        (WRITE, "push", True),
        (TRIAGE, "write", False),
        (MAINTAIN, "write", True),
        (WRITE, "maintain", False),
        (ADMIN, "maintain", True),
        (NONE, "read", False),
        # a custom role that grants maintain-level booleans counts as maintain
        ({"maintain": True, "push": True}, "maintain", True),
    ],
)
def test_meets_threshold(booleans: dict[str, bool], threshold: str, ok: bool) -> None:
    assert meets_threshold(booleans, threshold) is ok


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown permission level 'superuser'"):
        normalize_level("superuser")


@pytest.mark.parametrize(
    ("name", "team"),
    [
        ("qa", TeamRef("acme", "qa")),
        ("@qa", TeamRef("acme", "qa")),
        ("other/QA", TeamRef("other", "qa")),
        ("@acme/release-managers", TeamRef("acme", "release-managers")),
    ],
)
def test_parse_team(name: str, team: TeamRef) -> None:
    assert parse_team(name, "acme") == team


@pytest.mark.parametrize("bad", ["", "@", "a/b/c", "/x"])
def test_bad_team(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_team(bad, "acme")


def test_defaults_are_permission_thresholds() -> None:
    rules = role_rules({}, "acme")
    assert rules[ROLE_QA].permission == "write" and not rules[ROLE_QA].teams
    assert rules[ROLE_RELEASE_MANAGERS].permission == "maintain"
    assert rules[ROLE_QA].describe() == "people with write permission or above on the repository"
    assert roles_of(rules, UserAccess("qa", WRITE)) == {ROLE_QA}
    assert roles_of(rules, UserAccess("releaser", MAINTAIN)) == {ROLE_QA, ROLE_RELEASE_MANAGERS}
    assert roles_of(rules, UserAccess("triager", TRIAGE)) == frozenset()


def test_teams_replace_the_permission_threshold() -> None:
    config = {
        "roles": {"qa": {"teams": ["qa"], "permission": "write"}, "release_managers": {"teams": ["@acme/rm"]}}
    }
    rules = role_rules(config, "acme")
    assert teams_to_ask(rules.values()) == (TeamRef("acme", "qa"), TeamRef("acme", "rm"))
    # an admin outside the teams holds neither role: the teams are the rule
    assert not holds_role(rules[ROLE_QA], UserAccess("admin", ADMIN))
    assert holds_role(rules[ROLE_QA], UserAccess("q", READ, frozenset({TeamRef("acme", "qa")})))
    assert rules[ROLE_RELEASE_MANAGERS].describe() == "members of @acme/rm"


@pytest.mark.parametrize(
    ("actor", "author", "allow", "refused"),
    [
        ("dev", "dev", False, True),
        ("Dev", "dev", False, True),
        ("dev", "dev", True, False),
        ("qa", "dev", False, False),
    ],
)
def test_self_approval(actor: str, author: str, allow: bool, refused: bool) -> None:
    assert is_self_approval(actor, author, allow) is refused
