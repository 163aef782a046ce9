"""``deploy.environments``: typed with the schema's defaults, bad values named with their line."""

from __future__ import annotations

from bot.config.repo_config import RepoConfig
from bot.config.validate import validate_text


def test_environments_typed_with_defaults() -> None:
    config = RepoConfig.from_mapping(
        {
            "deploy": {
                "environments": {
                    "production": {"requires": ["uat", "prepare"]},
                    "staging": {"candidates": True},
                }
            },
            "gate": {"hold_label": "on-hold"},
        },
        "acme",
    )
    settings = config.deploy_settings()
    production = settings.rule_for("Production")
    assert production is not None and production.requires == ("uat", "prepare") and not production.candidates
    assert production.needs_sign_off and production.checklists == ("prepare",)
    staging = settings.rule_for("staging")
    assert staging is not None and staging.requires == () and staging.candidates
    assert settings.rule_for("qa") is None
    assert settings.hold_label == "on-hold"


def test_candidates_default_to_what_the_environment_requires() -> None:
    """The issue's own example: ``staging: {requires: []}`` lets candidates deploy freely, while an
    environment that requires a stage takes the final tag only, unless ``candidates`` says so."""
    environments = {
        "staging": {"requires": []},
        "preview": {},
        "production": {"requires": ["uat"]},
        "canary": {"requires": ["uat"], "candidates": True},
        "qa": {"requires": [], "candidates": False},
    }
    config = RepoConfig.from_mapping({"deploy": {"environments": environments}}, "acme")
    rules = config.deploy_settings()
    taken = {name: rules.rule_for(name).candidates for name in environments}  # type: ignore[union-attr]
    assert taken == {"staging": True, "preview": True, "production": False, "canary": True, "qa": False}


def test_nothing_configured_protects_nothing() -> None:
    assert dict(RepoConfig.from_mapping({}, "acme").deploy_settings().environments) == {}


def test_bad_values_are_named() -> None:
    text = (
        "deploy:\n  environments:\n    production: {requires: [uat, prepre], candidates: 'yes'}\n"
        "    'a/b': {}\n    staging: {require: []}\n"
    )
    _, problems = validate_text(text)
    messages = {p.pointer(): (p.line, p.message) for p in problems}
    assert messages["/deploy/environments/production/requires/1"][0] == 3
    assert "'prepre' is not one of" in messages["/deploy/environments/production/requires/1"][1]
    assert "not of type 'boolean'" in messages["/deploy/environments/production/candidates"][1]
    assert any("is not an environment name" in m for _, m in messages.values())
    assert "unknown key 'require'" in messages["/deploy/environments/staging/require"][1]
