"""Checklist items that are facts: the bot ticks them in its stage comments, with who and when.

A fact item's line carries a hidden marker naming its fact (``<!-- release-bot:fact:branch_cut -->``),
so the bot finds it again whatever people did to the rest of the comment. On each reconcile:

- a fact that holds ticks its line: ``- [x] Release branch created … — ✔ `release/1.4`, on 2026-11-30``;
  a line the bot ticked earlier is kept as it is, so the "when" is the day the bot first saw it and
  re-rendering changes nothing;
- a fact that no longer holds (a newer candidate supersedes the signed-off one) unticks the line the
  bot ticked;
- a line ticked by a person (no ``✔`` from the bot) is left alone: a person may know what the bot
  cannot see (a deployment made without GitHub's deployments API), and progress is advice — stage
  triggers read the facts themselves (``bot.core.stages``), never a checkbox.

Pure: the facts come in as plain values (``KnownFacts``); no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.checklists import FACT_PENDING_SUFFIX, StageChecklist
from bot.core.stages import (
    BRANCH_CUT,
    CANDIDATE_TAGGED,
    DEPLOYED,
    FACTS,
    FINAL_TAGGED,
    MILESTONE_CLOSED,
    RELEASE_PUBLISHED,
    UAT_SIGNED_OFF,
)
from bot.core.tracking import neutralize

_BOT_TICK = "✔"
_FACT_LINE = re.compile(
    r"^(?P<lead>\s*[-*+]\s+)\[(?P<mark>[ xX])\]\s+(?P<text>.*?)"
    r"(?P<suffix>\s+—\s+(?:" + _BOT_TICK + r"|_ticked by the bot).*?)?"
    r"\s*<!--\s*release-bot:fact:(?P<fact>[a-z_]+)\s*-->\s*$"
)


def fact_marker(fact: str) -> str:
    return f"<!-- release-bot:fact:{fact} -->"


@dataclass(frozen=True)
class FactTick:
    """A fact that holds: when (ISO date), who when GitHub says (a login), and what (a tag, a branch)."""

    on: str = ""
    by: str = ""
    detail: str = ""


@dataclass(frozen=True)
class KnownFacts:
    """What the release reconciler read, as plain values (None / False: the fact does not hold)."""

    branch: str | None = None  # the release branch, when it exists
    branch_on: str = ""  # the day Build & Test began (the branch's existence started it)
    candidate_tag: str | None = None  # the latest candidate tag
    candidate_on: str = ""
    signed_off_by: str | None = None  # UAT passed on the latest candidate: by whom
    signed_off_on: str = ""
    final_tag: str | None = None
    final_on: str = ""
    published_by: str | None = None  # the published GitHub Release's author
    published_on: str = ""
    deployed: bool = False
    deployed_on: str = ""
    closed_on: str | None = None  # the day the milestone was closed


def ticks_of(known: KnownFacts) -> dict[str, FactTick]:
    """The facts that hold now, each with who and when."""
    ticks: dict[str, FactTick] = {}
    if known.branch:
        ticks[BRANCH_CUT] = FactTick(on=known.branch_on, detail=f"`{known.branch}`")
    if known.candidate_tag:
        ticks[CANDIDATE_TAGGED] = FactTick(on=known.candidate_on, detail=f"`{known.candidate_tag}`")
    if known.signed_off_by is not None:
        ticks[UAT_SIGNED_OFF] = FactTick(on=known.signed_off_on, by=known.signed_off_by)
    if known.final_tag:
        ticks[FINAL_TAGGED] = FactTick(on=known.final_on, detail=f"`{known.final_tag}`")
    if known.published_by is not None:
        ticks[RELEASE_PUBLISHED] = FactTick(on=known.published_on, by=known.published_by)
    if known.deployed:
        ticks[DEPLOYED] = FactTick(on=known.deployed_on)
    if known.closed_on is not None:
        ticks[MILESTONE_CLOSED] = FactTick(on=known.closed_on)
    return ticks


def _tick_text(tick: FactTick) -> str:
    parts = [neutralize(tick.detail, 100) if tick.detail else ""]
    if tick.by:
        parts.append(f"by @\u200b{neutralize(tick.by, 60)}")
    if tick.on:
        parts.append(f"on {neutralize(tick.on, 20)}")
    return f"{_BOT_TICK} " + ", ".join(p for p in parts if p) if any(parts) else _BOT_TICK


def fact_line(text: str, fact: str, tick: FactTick | None, lead: str = "- ") -> str:
    """One fact item's task-list line: ticked by the bot with who and when, or waiting for the fact."""
    if tick is None:
        return f"{lead}[ ] {text}{FACT_PENDING_SUFFIX} {fact_marker(fact)}"
    return f"{lead}[x] {text} — {_tick_text(tick)} {fact_marker(fact)}"


def checklist_lines(checklist: StageChecklist, ticks: Mapping[str, FactTick]) -> list[str]:
    """The task list of a new stage comment: fact items as the facts stand, the rest unticked."""
    lines = []
    for index, item in enumerate(checklist.items):
        fact = checklist.fact_of(index)
        lines.append(fact_line(item, fact, ticks.get(fact)) if fact else f"- [ ] {item}")
    return lines


def apply_fact_ticks(body: str, ticks: Mapping[str, FactTick]) -> str:
    """The stage comment with its fact lines brought up to the facts; every other line untouched."""
    out: list[str] = []
    in_fence = False
    for line in body.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _FACT_LINE.match(line)
        if match is None or match.group("fact") not in FACTS:
            out.append(line)
            continue
        fact, ticked = match.group("fact"), match.group("mark") in "xX"
        by_bot = ticked and _BOT_TICK in (match.group("suffix") or "")
        tick = ticks.get(fact)
        if tick is not None and not by_bot:
            line = fact_line(match.group("text"), fact, tick, match.group("lead"))
        elif tick is None and by_bot:
            line = fact_line(match.group("text"), fact, None, match.group("lead"))
        out.append(line)
    return "\n".join(out)
