"""The release reconcile's part in fact-ticked checklist items (``bot.core.checklist_facts``).

Turns what ``ReleaseFacts`` read into ``KnownFacts`` (plain values), and finds the stage comments
whose fact lines disagree with them. A stage comment that was not listed this time (the listing
is ``?since=`` the last read) is read once, by id, only when the state shows a fact item of it
still unticked while its fact now holds, or when a new candidate withdrew a UAT sign-off: a
steady release reads nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from github import GithubException

from bot.core.checklist_facts import FactTick, KnownFacts, apply_fact_ticks
from bot.core.checklists import StageChecklist
from bot.core.stages import BUILD_TEST, DEPLOY, MONITOR, UAT, UAT_SIGNED_OFF, StageRecord, uat_signed_off
from bot.core.tracking import ChecklistRecord
from bot.core.versions import rc_tag
from bot.github.release_facts import ReleaseFacts, api_get, parse_time, repo_path


def _local_date(value: Any, tz: ZoneInfo) -> str:
    parsed = parse_time(str(value)) if value else None
    return parsed.astimezone(tz).date().isoformat() if parsed else ""


def known_facts(facts: ReleaseFacts, record: StageRecord, deployed: bool, tz: ZoneInfo, today: str) -> KnownFacts:
    """What the bot knows now. "When" is the day a stage the fact started began, else today: a line
    the bot ticked keeps its text afterwards, so the day is the one it was first seen."""
    from bot.core.stages import StageFacts

    began = record.began
    version = facts.version_obj
    latest = max(facts.candidates) if facts.candidates else None
    signed = record.uat if uat_signed_off(record, StageFacts(candidates=facts.candidates)) else None
    published = facts.published_release()
    closed_at = (facts.milestone or {}).get("closed_at")
    return KnownFacts(
        branch=facts.branch_name if facts.branch_exists else None,
        branch_on=began.get(BUILD_TEST, today),
        candidate_tag=rc_tag(version, latest, facts.conventions.rc_tag_pattern) if version and latest else None,
        candidate_on=began.get(UAT, today),
        signed_off_by=signed.by if signed else None,
        signed_off_on=signed.date if signed else "",
        final_tag=facts.final_tag_name if facts.final_tag_exists else None,
        final_on=began.get(DEPLOY, today),
        published_by=str(((published or {}).get("author") or {}).get("login") or "") if published else None,
        published_on=_local_date((published or {}).get("published_at"), tz) if published else "",
        deployed=deployed,
        deployed_on=began.get(MONITOR, today),
        closed_on=(_local_date(closed_at, tz) or today) if not facts.milestone_open and facts.milestone else None,
    )


@dataclass(frozen=True)
class FactEdit:
    comment_id: int
    body: str  # the stage comment with its fact lines brought up to the facts


def _needs_read(checklist: StageChecklist, recorded: ChecklistRecord, ticks: Mapping[str, FactTick],
                withdrawn_uat: bool) -> bool:
    unticked = set(recorded.progress.unticked)
    for index, item in enumerate(checklist.items):
        fact = checklist.fact_of(index)
        if fact is None:
            continue
        if fact in ticks and any(text.startswith(item[:60]) for text in unticked):
            return True
        if fact == UAT_SIGNED_OFF and withdrawn_uat and fact not in ticks:
            return True
    return False


def fact_edits(gh: Any, repo: str, checklists: Mapping[str, StageChecklist], listed: Mapping[str, dict[str, Any]],
               recorded: Mapping[str, ChecklistRecord], ticks: Mapping[str, FactTick],
               withdrawn_uat: bool) -> dict[str, FactEdit]:
    """The stage comments to rewrite, by stage (listed ones as read; unlisted ones read when needed)."""
    comments: dict[str, dict[str, Any]] = dict(listed)
    for stage, record in recorded.items():
        if stage in comments or not record.comment_id or stage not in checklists:
            continue
        if not _needs_read(checklists[stage], record, ticks, withdrawn_uat):
            continue
        try:
            comments[stage] = api_get(gh, f"{repo_path(repo)}/issues/comments/{record.comment_id}")
        except GithubException as exc:
            if exc.status != 404:  # deleted by someone: the next full listing sorts it out
                raise
    edits: dict[str, FactEdit] = {}
    for stage, comment in comments.items():
        body = str(comment.get("body") or "")
        new = apply_fact_ticks(body, ticks)
        if new != body:
            edits[stage] = FactEdit(int(comment["id"]), new)
    return edits
