"""The release's part in fact-ticked checklist items (``bot.core.checklist_facts``), pure.

``known_facts`` turns the release facts into ``KnownFacts`` (plain values); ``fact_edits`` finds
the stage comments whose fact lines disagree with them. A stage comment that was not listed this
time (the listing is ``?since=`` the last read) is read once, by id, only when the record shows a
fact item of it still unticked while its fact now holds, or when a new candidate withdrew a UAT
sign-off: ``comments_to_read`` names those, and a steady release reads nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.core.checklist_facts import FactTick, KnownFacts, apply_fact_ticks
from bot.core.checklists import StageChecklist
from bot.core.release_types import Comment, ReleaseFacts, local_date
from bot.core.stages import (
    BUILD_TEST,
    DEPLOY,
    MONITOR,
    UAT,
    UAT_SIGNED_OFF,
    StageFacts,
    StageRecord,
    uat_signed_off,
)
from bot.core.tracking import ChecklistRecord
from bot.core.versions import rc_tag


def known_facts(
    facts: ReleaseFacts, record: StageRecord, deployed: bool, tz: ZoneInfo, today: str
) -> KnownFacts:
    """What the bot knows now. "When" is the day a stage the fact started began, else today: a line
    the bot ticked keeps its text afterwards, so the day is the one it was first seen."""
    began = record.began
    version = facts.version_obj
    latest = max(facts.candidates) if facts.candidates else None
    signed = record.uat if uat_signed_off(record, StageFacts(candidates=facts.candidates)) else None
    published = facts.published_release()
    milestone = facts.milestone
    return KnownFacts(
        branch=facts.branch_name if facts.branch_exists else None,
        branch_on=began.get(BUILD_TEST, today),
        candidate_tag=rc_tag(version, latest, facts.conventions.rc_tag_pattern)
        if version and latest
        else None,
        candidate_on=began.get(UAT, today),
        signed_off_by=signed.by if signed else None,
        signed_off_on=signed.date if signed else "",
        final_tag=facts.final_tag_name if facts.final_tag_exists else None,
        final_on=began.get(DEPLOY, today),
        published_by=published.author if published is not None else None,
        published_on=(local_date(published.published_at, tz) or "") if published is not None else "",
        deployed=deployed,
        deployed_on=began.get(MONITOR, today),
        closed_on=(
            (local_date(milestone.closed_at, tz) or today)
            if milestone is not None and not facts.milestone_open
            else None
        ),
    )


@dataclass(frozen=True)
class FactEdit:
    comment_id: int
    body: str  # the stage comment with its fact lines brought up to the facts


def _needs_read(
    checklist: StageChecklist, recorded: ChecklistRecord, ticks: Mapping[str, FactTick], withdrawn_uat: bool
) -> bool:
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


def comments_to_read(
    checklists: Mapping[str, StageChecklist],
    listed: Mapping[str, Comment],
    recorded: Mapping[str, ChecklistRecord],
    ticks: Mapping[str, FactTick],
    withdrawn_uat: bool,
) -> dict[str, int]:
    """Stage → comment id of the unlisted stage comments whose fact lines may need an edit."""
    wanted: dict[str, int] = {}
    for stage, record in recorded.items():
        if stage in listed or not record.comment_id or stage not in checklists:
            continue
        if _needs_read(checklists[stage], record, ticks, withdrawn_uat):
            wanted[stage] = record.comment_id
    return wanted


def fact_edits(comments: Mapping[str, Comment], ticks: Mapping[str, FactTick]) -> dict[str, FactEdit]:
    """The stage comments to rewrite, by stage (the listed ones and those read by id)."""
    edits: dict[str, FactEdit] = {}
    for stage, comment in comments.items():
        new = apply_fact_ticks(comment.body, ticks)
        if new != comment.body:
            edits[stage] = FactEdit(comment.id, new)
    return edits
