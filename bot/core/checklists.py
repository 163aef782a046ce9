"""Stage checklists: the defaults, the ``stages:`` configuration over them, and reading ticked boxes.

Defaults are drawn from the release management life cycle (scope → plan → build and test →
user acceptance → preparation → deployment → monitoring → retrospective). A repository replaces
any stage's title, owners or items in ``.github/release-bot.yml`` (lists replace, maps merge).

Some items are facts the bot reads from GitHub (``FACT_ITEMS``; the names are ``bot.core.stages.FACTS``):
the bot ticks them, with who and when (``bot.core.checklist_facts``); people tick the rest. A configured
item names a fact as ``{item: "Release branch cut", fact: branch_cut}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.commands import strip_html_comments
from bot.core.stages import (
    BRANCH_CUT,
    CANDIDATE_TAGGED,
    DEPLOYED,
    FACTS,
    FINAL_TAGGED,
    RELEASE_PUBLISHED,
    STAGE_TITLES,
    STAGES,
    UAT_SIGNED_OFF,
)

DEFAULT_CHECKLISTS: dict[str, tuple[str, ...]] = {
    "identify_needs": (
        "Issues and pull requests in scope are triaged into the milestone",
        "Goals of the release are written in the milestone description",
        "Out-of-scope requests are moved to a later milestone or the backlog",
        "Stakeholders agree on the scope",
    ),
    "plan": (
        "Due date set on the milestone and agreed",
        "Owners named for build, UAT, deploy and monitoring",
        "Risks and dependencies listed",
        "Rollback plan written",
        "Release branch and freeze dates announced",
    ),
    "build_test": (
        "Release branch created from the agreed commit",
        "CI is green on the release branch",
        "Only gated pull requests are merged into the release branch (freeze rules)",
        "Automated and regression tests pass",
        "Release candidate tagged",
    ),
    "uat": (
        "Candidate deployed to the acceptance environment",
        "Acceptance tests run by QA/product on the latest candidate",
        "Defects found are filed and triaged (fix now or carry over)",
        "Sign-off given with `/uat passed` on this issue",
    ),
    "prepare": (
        "Release notes reviewed",
        "Approvals collected from release managers",
        "Announcement and customer communication drafted",
        "Deployment runbook and rollback steps checked",
        "Support team briefed",
    ),
    "deploy": (
        "Final tag created on the accepted commit",
        "GitHub Release published",
        "Deployed to production",
        "Smoke tests pass in production; announcement sent",
    ),
    "monitor": (
        "Error rates and latency watched against the baseline",
        "Support load and user feedback reviewed",
        "Regressions triaged; hotfix decision made",
        "Monitoring period closed",
    ),
    "future_planning": (
        "Retrospective held and notes linked here",
        "Carried-over items reviewed in their new milestone",
        "Figures of the release reviewed (scope, slip, timing)",
        "Improvements for the next release filed as issues",
    ),
}

# The default items that are facts, per stage: item text -> fact name.
FACT_ITEMS: dict[str, dict[str, str]] = {
    "build_test": {
        "Release branch created from the agreed commit": BRANCH_CUT,
        "Release candidate tagged": CANDIDATE_TAGGED,
    },
    "uat": {"Sign-off given with `/uat passed` on this issue": UAT_SIGNED_OFF},
    "deploy": {
        "Final tag created on the accepted commit": FINAL_TAGGED,
        "GitHub Release published": RELEASE_PUBLISHED,
        "Deployed to production": DEPLOYED,
    },
}

# What an unticked fact item says after its text (the outstanding list shows the text without it).
FACT_PENDING_SUFFIX = " — _ticked by the bot when it happens_"

# `- [ ] item`, `* [x] item`, `1. [X] item`: GitHub's task-list syntax.
_TASK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[(?P<mark>[ xX])\]\s+(?P<text>.*\S)\s*$")


@dataclass(frozen=True)
class StageChecklist:
    stage: str
    title: str
    owners: tuple[str, ...]
    items: tuple[str, ...]
    # Aligned with ``items``: the fact an item is (ticked by the bot), or None (ticked by people).
    facts: tuple[str | None, ...] = ()

    def fact_of(self, index: int) -> str | None:
        return self.facts[index] if index < len(self.facts) else None


@dataclass(frozen=True)
class Progress:
    ticked: int
    total: int
    unticked: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Fully ticked. An empty checklist is complete: there is nothing to wait for."""
        return self.ticked == self.total


def _clean_owner(owner: Any) -> str | None:
    text = str(owner).strip()
    if not text:
        return None
    # A mention needs the @; teams are @org/slug, users @login. Whitespace would break the mention.
    if any(ch.isspace() for ch in text):
        return None
    return text if text.startswith("@") else "@" + text


def checklist_for(stage: str, config: Mapping[str, Any] | None) -> StageChecklist:
    """The effective checklist of one stage: the ``stages.<id>`` entry over the defaults."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    entry = ((config or {}).get("stages") or {}).get(stage) or {}
    title = str(entry.get("title") or STAGE_TITLES[stage]).strip() or STAGE_TITLES[stage]
    owners = tuple(o for o in (_clean_owner(x) for x in entry.get("owners") or ()) if o)
    raw_items = entry.get("checklist")
    if raw_items is None:
        items = DEFAULT_CHECKLISTS[stage]
        facts = tuple(FACT_ITEMS.get(stage, {}).get(item) for item in items)
    else:
        pairs = [pair for pair in (_configured_item(raw) for raw in raw_items) if pair is not None]
        items = tuple(text for text, _fact in pairs)
        facts = tuple(fact for _text, fact in pairs)
    return StageChecklist(stage=stage, title=title, owners=owners, items=items, facts=facts)


def _configured_item(raw: Any) -> tuple[str, str | None] | None:
    """A configured item: a string (people tick it) or ``{item, fact}`` (the bot ticks it).

    An unknown fact name makes a plain item (the schema reports it; the last valid config is used)."""
    if isinstance(raw, Mapping):
        text = str(raw.get("item") or "").strip()
        fact = raw.get("fact")
        return (text, fact if fact in FACTS else None) if text else None
    text = str(raw).strip()
    return (text, None) if text else None


def all_checklists(config: Mapping[str, Any] | None) -> dict[str, StageChecklist]:
    return {stage: checklist_for(stage, config) for stage in STAGES}


def parse_progress(comment_body: str | None) -> Progress:
    """Ticked and total task-list items of a stage comment (HTML comments ignored, as GitHub does)."""
    if not comment_body:
        return Progress(0, 0)
    ticked = total = 0
    unticked: list[str] = []
    in_fence = False
    for line in strip_html_comments(comment_body).splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = _TASK.match(line)
        if not match:
            continue
        total += 1
        if match.group("mark") in "xX":
            ticked += 1
        else:
            unticked.append(match.group("text").removesuffix(FACT_PENDING_SUFFIX).rstrip())
    return Progress(ticked, total, tuple(unticked))
