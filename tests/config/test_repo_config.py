"""RepoConfig: the effective configuration typed once, its defaults only from the schema."""

from __future__ import annotations

from memory_store import MemoryStore

from bot.config.defaults import default_config
from bot.config.repo_config import RepoConfig
from bot.core.permissions import ROLE_QA, ROLE_RELEASE_MANAGERS, TeamRef
from bot.jobs import JobSpec
from bot.reconcilers.context import JobContext


def test_every_section_is_typed_from_the_schema_defaults() -> None:
    schema = default_config()
    config = RepoConfig.from_mapping(schema, "acme")
    assert config.gate.check_name == schema["gate"]["check_name"] == "release-bot/gate"
    assert config.gate.release_branches == tuple(schema["gate"]["release_branches"])
    assert config.releases.timezone == schema["releases"]["timezone"] == "UTC"
    assert config.releases.feedback_labels == ("regression",)
    assert config.releases.conventions.branch_pattern == schema["releases"]["branch_pattern"]
    assert config.notes.released_label == schema["notes"]["released_label"]
    assert (
        config.roles[ROLE_QA].permission == "write"
        and config.roles[ROLE_RELEASE_MANAGERS].permission == "maintain"
    )
    assert set(config.stages) == {
        "identify_needs",
        "plan",
        "build_test",
        "uat",
        "prepare",
        "deploy",
        "monitor",
        "future_planning",
    }


def test_a_partial_mapping_gets_the_rest_from_the_schema() -> None:
    config = RepoConfig.from_mapping(
        {
            "gate": {"hold_label": "wait"},
            "roles": {"qa": {"teams": ["testers"]}},
            "releases": {"feedback_labels": ["bug", "regression"], "timezone": "Europe/Paris"},
        },
        "acme",
    )
    full = RepoConfig.from_mapping(None, "acme")
    assert config.gate.hold_label == "wait"
    assert config.gate.uat_label == full.gate.uat_label == "uat-passed"
    assert config.roles[ROLE_QA].teams == (TeamRef("acme", "testers"),)
    assert config.releases.feedback_labels == ("bug", "regression")
    assert config.releases.timezone == "Europe/Paris"
    assert config.mapping["notes"] == full.mapping["notes"]


def test_the_job_context_parses_once_and_again_after_a_reload() -> None:
    ctx = JobContext(
        job=JobSpec("repo:1", 1, "acme/rocket", "test"),
        gh=None,
        repo_full_name="acme/rocket",  # type: ignore[arg-type]
        bot_login="release-bot[bot]",
        app_id=1,
        config=default_config(),
        config_error=None,
        store=MemoryStore(),
        enqueue=lambda jobs: None,
    )
    first = ctx.repo_config
    assert ctx.repo_config is first  # parsed once
    reloaded = default_config()
    reloaded["gate"]["hold_label"] = "stop"
    ctx.config = reloaded  # what the repo: reconciler does when the configuration changed
    assert ctx.repo_config is not first and ctx.repo_config.gate.hold_label == "stop"
    assert ctx.roles.rules is ctx.repo_config.roles


def test_one_roles_service_answers_may_this_person_run_it_here(sandbox_world, sandbox_app) -> None:
    """Against the sandbox's permissions: qa has write, releaser maintain, outsider read."""
    from bot.core.command_registry import PULL_REQUEST, TRACKING_ISSUE, spec
    from bot.github import permissions

    permissions.clear_caches()
    repo = sandbox_world.repo()
    roles = permissions.Roles(
        sandbox_app.client_for(1),
        repo.full_name,
        RepoConfig.from_mapping(None, "acme").roles,
        "release-bot[bot]",
    )
    approve, hold = spec(PULL_REQUEST, "approve"), spec(PULL_REQUEST, "hold")
    assert roles.may_run(approve, "releaser", is_author=False)
    assert not roles.may_run(approve, "qa", is_author=False)
    assert roles.may_run(hold, "outsider", is_author=True) and not roles.may_run(
        hold, "outsider", is_author=False
    )
    assert roles.may_run(spec(TRACKING_ISSUE, "uat"), "qa", is_author=False)
    assert roles.holds("qa", ROLE_QA) and not roles.holds("outsider", ROLE_QA)
    assert roles.roles_of(["release-bot[bot]"]) == {"release-bot[bot]": frozenset()}
    assert (
        roles.describe(ROLE_RELEASE_MANAGERS) == "people with maintain permission or above on the repository"
    )


def test_the_release_settings_come_from_the_typed_configuration() -> None:
    """The release plan's settings are RepoConfig's (no default of its own), and the conventions
    core falls back to when handed no configuration are the schema's (core cannot read it)."""
    from bot.core.versions import ReleaseConventions

    mapping = default_config()
    mapping["releases"].update(timezone="Europe/Berlin", feedback_labels=["Regression", "crash"])
    mapping["roles"]["qa"] = {"teams": ["qa"]}
    settings = RepoConfig.from_mapping(mapping, "acme").release_settings()
    assert (settings.timezone_name, settings.timezone_known, str(settings.tz)) == (
        "Europe/Berlin",
        True,
        "Europe/Berlin",
    )
    assert settings.feedback_labels == frozenset({"regression", "crash"})
    assert settings.monitor_environment == "production" and settings.tracking_label == "release-tracking"
    assert settings.roles[ROLE_QA].teams == (TeamRef("acme", "qa"),)
    unknown = RepoConfig.from_mapping({"releases": {"timezone": "Mars/Olympus"}}, "acme").release_settings()
    assert (unknown.timezone_known, str(unknown.tz)) == (False, "UTC")
    assert ReleaseConventions() == RepoConfig.from_mapping({}, "acme").releases.conventions
