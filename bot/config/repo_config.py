"""One repository's configuration, typed: ``RepoConfig`` with ``.roles``, ``.releases``, ``.stages``,
``.gate`` and ``.notes``.

Parsed once per job (``JobContext.repo_config``) from the effective configuration mapping
(``bot.config.loader``: the repository's file over the org's, over the schema's defaults). The
schema (``schema.json``) is the only place a default is written: a mapping that lacks a key (a
test's partial configuration) gets it from ``default_config()`` here, never from a literal in code.
``RepoConfig.mapping`` keeps the mapping for code that still reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.config.announce_config import AnnounceConfig, announce_config
from bot.config.defaults import STAGE_IDS, default_config, defaults_of_def
from bot.config.merge import deep_merge
from bot.core.deploy import DeploySettings, EnvironmentRule
from bot.core.freeze import FreezeSettings, freeze_settings
from bot.core.gate import GateSettings
from bot.core.permissions import RoleRule, role_rules
from bot.core.release_view import ReleaseSettings
from bot.core.versions import ReleaseConventions


@dataclass(frozen=True)
class ReleasesConfig:
    """``releases:``: naming conventions, the tracking issue, the time zone and the feedback rule."""

    conventions: ReleaseConventions  # milestone, branch and tag patterns
    tracking_issue_title: str
    tracking_label: str
    timezone: str
    mode: str  # agile | strict
    monitor_environment: str
    feedback_labels: tuple[str, ...]
    freeze: FreezeSettings | None = None  # ``releases.freeze``; None: no code freeze (the default)


@dataclass(frozen=True)
class StageConfig:
    """One entry of ``stages:`` (unset keys keep the built-in stage definitions: None / empty)."""

    title: str | None
    owners: tuple[str, ...]
    checklist: tuple[Any, ...]  # items: text, or {item, fact} for an item the bot ticks


@dataclass(frozen=True)
class NotesConfig:
    """``notes:``: how the release notes are drafted and published."""

    categories: tuple[Mapping[str, Any], ...] | None  # None: the built-in categories
    exclude_labels: tuple[str, ...]
    exclude_authors: tuple[str, ...]
    change_template: str
    header: str
    footer: str
    no_changes_template: str
    name_template: str
    tag_template: str
    prereleases: bool
    include_issues: bool
    escape_mentions: bool
    released_label: str
    comment_on_released: bool
    format: str = "auto"  # auto | release-bot | release-drafter | github (bot.core.notes.sources)


@dataclass(frozen=True)
class RepoConfig:
    roles: Mapping[str, RoleRule]  # role -> how it is decided on this repository
    releases: ReleasesConfig
    stages: Mapping[str, StageConfig]  # stage id -> its configured title, owners, checklist
    gate: GateSettings
    notes: NotesConfig
    mapping: Mapping[str, Any]  # the schema-defaulted mapping it was parsed from

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None, repo_owner: str) -> RepoConfig:
        """Parse the effective configuration of a repository owned by ``repo_owner`` (the
        organization team names default to)."""
        full = deep_merge(default_config(), config or {})
        releases, gate, notes = full["releases"], full["gate"], full["notes"]
        return cls(
            roles=MappingProxyType(role_rules(full, repo_owner)),
            releases=ReleasesConfig(
                conventions=ReleaseConventions(
                    milestone_pattern=str(releases["milestone_pattern"]),
                    branch_pattern=str(releases["branch_pattern"]),
                    rc_tag_pattern=str(releases["rc_tag_pattern"]),
                    final_tag_pattern=str(releases["final_tag_pattern"]),
                ),
                tracking_issue_title=str(releases["tracking_issue_title"]),
                tracking_label=str(releases["tracking_label"]),
                timezone=str(releases["timezone"]),
                mode=str(releases["mode"]),
                monitor_environment=str(releases["monitor_environment"]),
                feedback_labels=tuple(str(label) for label in releases["feedback_labels"]),
                freeze=freeze_settings(releases.get("freeze")),
            ),
            stages=MappingProxyType({stage: _stage(full["stages"].get(stage) or {}) for stage in STAGE_IDS}),
            gate=gate_settings(gate),
            notes=NotesConfig(
                categories=tuple(notes["categories"]) if notes.get("categories") is not None else None,
                exclude_labels=tuple(notes["exclude_labels"]),
                exclude_authors=tuple(notes["exclude_authors"]),
                change_template=str(notes["change_template"]),
                header=str(notes["header"]),
                footer=str(notes["footer"]),
                no_changes_template=str(notes["no_changes_template"]),
                name_template=str(notes["name_template"]),
                tag_template=str(notes["tag_template"]),
                prereleases=bool(notes["prereleases"]),
                include_issues=bool(notes["include_issues"]),
                escape_mentions=bool(notes["escape_mentions"]),
                released_label=str(notes["released_label"]),
                comment_on_released=bool(notes["comment_on_released"]),
                format=str(notes.get("format", "auto")),
            ),
            mapping=MappingProxyType(full),
        )

    def release_settings(self) -> ReleaseSettings:
        """What the release plan reads (``bot.core.release_plan``), from this configuration."""
        releases = self.releases
        return ReleaseSettings.create(
            self.mapping,
            timezone=releases.timezone,
            mode=releases.mode,
            monitor_environment=releases.monitor_environment,
            feedback_labels=releases.feedback_labels,
            tracking_label=releases.tracking_label,
            title_template=releases.tracking_issue_title,
            roles=self.roles,
        ).with_freeze(releases.freeze)

    @property
    def announce(self) -> AnnounceConfig:
        """``announce:`` typed: the channels releases are announced to (``bot.config.announce_config``)."""
        return announce_config(self.mapping)

    def deploy_settings(self) -> DeploySettings:
        """``deploy:`` typed: what each protected environment waits for (docs/deployments.md)."""
        return deploy_settings(self.mapping.get("deploy") or {}, self.gate.hold_label)


def deploy_settings(deploy: Mapping[str, Any], hold_label: str) -> DeploySettings:
    """``deploy:`` of a schema-defaulted configuration, typed; an environment entry lacking a key
    gets the schema's default (``$defs/deploy_environment``)."""
    defaults = defaults_of_def("deploy_environment")
    environments: dict[str, EnvironmentRule] = {}
    for name, entry in (deploy.get("environments") or {}).items():
        full = deep_merge(defaults, entry if isinstance(entry, Mapping) else {})
        environments[str(name)] = EnvironmentRule(
            name=str(name),
            requires=tuple(str(stage) for stage in full["requires"]),
            # Unset: an environment that requires nothing takes candidates (a staging that gets every
            # candidate), one that requires a stage only the final tag (docs/deployments.md).
            candidates=bool(full["candidates"]) if "candidates" in full else not full["requires"],
        )
    return DeploySettings(environments=MappingProxyType(environments), hold_label=hold_label)


def gate_settings(gate: Mapping[str, Any]) -> GateSettings:
    """``gate:`` of a schema-defaulted configuration, typed."""
    return GateSettings(
        check_name=str(gate["check_name"]),
        release_branches=tuple(gate["release_branches"]),
        uat_label=str(gate["uat_label"]),
        approval_label=str(gate["approval_label"]),
        hold_label=str(gate["hold_label"]),
        require_milestone=bool(gate["require_milestone"]),
        allow_self_approval=bool(gate["allow_self_approval"]),
        reset_on_push=bool(gate["reset_on_push"]),
        approval_from_reviews=bool(gate["approval_from_reviews"]),
        protect_release_branches=bool(gate["protect_release_branches"]),
    )


def default_gate_settings() -> GateSettings:
    """The gate's settings when nothing is configured (the schema's defaults)."""
    return gate_settings(default_config()["gate"])


def _stage(entry: Mapping[str, Any]) -> StageConfig:
    return StageConfig(
        title=entry.get("title"),
        owners=tuple(entry.get("owners") or ()),
        checklist=tuple(entry.get("checklist") or ()),
    )
