"""``deploy:`` of one repository's configuration, typed (``bot.config.repo_config`` builds it from
the schema-defaulted mapping: the schema is where the defaults are written)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.stages import UAT

# ``requires: [uat]`` means UAT signed off on the commit being deployed; any other stage id
# means that stage's checklist is fully ticked.
SIGN_OFF = UAT


@dataclass(frozen=True)
class EnvironmentRule:
    """What one environment waits for before the bot approves a deployment to it."""

    name: str
    requires: tuple[str, ...] = ()  # stage ids: `uat` = signed off on the commit, others = checklist ticked
    candidates: bool = False  # a release-candidate tag may deploy here (else only the final tag)

    @property
    def needs_sign_off(self) -> bool:
        return SIGN_OFF in self.requires

    @property
    def checklists(self) -> tuple[str, ...]:
        return tuple(stage for stage in self.requires if stage != SIGN_OFF)


@dataclass(frozen=True)
class DeploySettings:
    environments: Mapping[str, EnvironmentRule] = field(default_factory=dict)
    hold_label: str = "hold"  # gate.hold_label: on the tracking issue it holds deployments too

    def rule_for(self, environment: str) -> EnvironmentRule | None:
        """GitHub compares environment names case-insensitively; so does the bot."""
        wanted = environment.casefold()
        return next((r for n, r in self.environments.items() if n.casefold() == wanted), None)
