"""The gate's settings (``gate:`` configuration) and which branches it gates."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

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
    """``gate:`` of one repository's configuration, typed. Built by ``bot.config.repo_config``
    from the schema-defaulted mapping: the schema is where the defaults are written."""

    check_name: str
    release_branches: tuple[str, ...]
    uat_label: str
    approval_label: str
    hold_label: str
    require_milestone: bool
    allow_self_approval: bool
    reset_on_push: bool
    approval_from_reviews: bool
    protect_release_branches: bool

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
