"""The gate's settings (``gate:`` configuration) and which branches it gates."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.command_registry import GATE, PULL_REQUEST, names_for
from bot.core.permissions import (
    ROLE_QA,
    ROLE_RELEASE_MANAGERS,
)

Conclusion = Literal["success", "failure", "neutral"]


REQ_UAT = "uat"


REQ_APPROVAL = "approval"


GATE_REQUIREMENTS = (REQ_UAT, REQ_APPROVAL)


# The pull-request commands the gate handles, as declared in the one registry.
GATE_COMMANDS = names_for(PULL_REQUEST, GATE)


@dataclass(frozen=True)
class GateSettings:
    check_name: str = "release-bot/gate"
    release_branches: tuple[str, ...] = ("release/*",)
    uat_label: str = "uat-passed"
    approval_label: str = "release-approved"
    hold_label: str = "hold"
    require_milestone: bool = True
    allow_self_approval: bool = False
    reset_on_push: bool = True
    approval_from_reviews: bool = False
    protect_release_branches: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> GateSettings:
        gate = dict((config or {}).get("gate") or {})
        defaults = cls()
        branches = gate.get("release_branches")
        return cls(
            check_name=str(gate.get("check_name") or defaults.check_name),
            release_branches=tuple(branches) if branches is not None else defaults.release_branches,
            uat_label=str(gate.get("uat_label") or defaults.uat_label),
            approval_label=str(gate.get("approval_label") or defaults.approval_label),
            hold_label=str(gate.get("hold_label") or defaults.hold_label),
            require_milestone=bool(gate.get("require_milestone", defaults.require_milestone)),
            allow_self_approval=bool(gate.get("allow_self_approval", defaults.allow_self_approval)),
            reset_on_push=bool(gate.get("reset_on_push", defaults.reset_on_push)),
            approval_from_reviews=bool(gate.get("approval_from_reviews", defaults.approval_from_reviews)),
            protect_release_branches=bool(
                gate.get("protect_release_branches", defaults.protect_release_branches)
            ),
        )

    def label_for(self, requirement: str) -> str:
        return self.uat_label if requirement == REQ_UAT else self.approval_label

    def role_for(self, requirement: str) -> str:
        return ROLE_QA if requirement == REQ_UAT else ROLE_RELEASE_MANAGERS


@functools.lru_cache(maxsize=256)  # a handful of patterns, matched against every pull request's base
def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    # GitHub's branch patterns (fnmatch with File::FNM_PATHNAME): '*' stops at '/', '**' does not.
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def is_release_branch(branch: str, patterns: Iterable[str]) -> bool:
    """Whether ``branch`` matches one of ``gate.release_branches``: the one matcher for the gate,
    the repo fan-out and branch protection, so they never disagree about which branch is gated."""
    return any(_glob_to_regex(pattern).match(branch) for pattern in patterns)
