"""``releases.freeze``, typed: which branches a release freezes, when the freeze starts and ends. Pure.

Off unless ``releases.freeze.starts`` is set (the schema gives ``ends`` a default, so an empty
``freeze:`` block configures nothing): a repository without a freeze pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from bot.core.stages import DEPLOY, STAGES, index_of

FREEZE_CHECK_NAME = "release-bot/freeze"


@dataclass(frozen=True)
class FreezeSettings:
    # fnmatch patterns of the frozen base branches; empty: the repository's default branch.
    branches: tuple[str, ...] = ()
    starts_stage: str | None = None  # a stage id: the freeze starts when the release reaches it
    days_before_due: int | None = None  # or: this many days before the milestone's due date
    ends: str = DEPLOY  # the stage that lifts it
    check_name: str = FREEZE_CHECK_NAME

    def patterns(self, default_branch: str) -> tuple[str, ...]:
        return self.branches or ((default_branch,) if default_branch else ())

    def covers(self, branch: str, default_branch: str) -> bool:
        """Whether pull requests into ``branch`` are frozen while a release is."""
        return any(fnmatchcase(branch, pattern) for pattern in self.patterns(default_branch))

    def describe_start(self) -> str:
        if self.starts_stage is not None:
            from bot.core.stages import STAGE_TITLES

            return f"when {STAGE_TITLES[self.starts_stage]} begins"
        return f"{self.days_before_due} day{'s' if self.days_before_due != 1 else ''} before the due date"


def freeze_settings(freeze: Mapping[str, Any] | None) -> FreezeSettings | None:
    """``releases.freeze`` of a schema-valid, defaulted configuration; None when no freeze is set."""
    if not isinstance(freeze, Mapping):
        return None
    starts = freeze.get("starts")
    stage: str | None = None
    days: int | None = None
    if isinstance(starts, str) and starts in STAGES:
        stage = starts
    elif isinstance(starts, Mapping) and isinstance(starts.get("days_before_due"), int):
        days = max(0, int(starts["days_before_due"]))
    else:
        return None
    ends = freeze.get("ends")
    ends = ends if isinstance(ends, str) and ends in STAGES else DEPLOY
    if stage is not None and index_of(ends) <= index_of(stage):
        return None  # check-config reports it; a freeze that ends before it starts never holds
    branches = tuple(str(b) for b in freeze.get("branches") or () if isinstance(b, str) and b)
    return FreezeSettings(branches=branches, starts_stage=stage, days_before_due=days, ends=ends)
