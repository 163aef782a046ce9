"""When a release is frozen: the window from the stage or the due date, and ``/freeze`` ``/thaw``. Pure.

``decide_freeze(settings, previous, facts, requests, reported)`` gives the release's new
``FreezeState`` from what the record held before, the release's stage (after this reconcile's
advance), its due date and today's date (passed in, never read here), the hand requests of this
run's tracking-issue comments, and the exceptions read back from pull requests.

Rules (docs/code-freeze.md):
- the automatic window is open from ``starts`` (the day that stage began, or ``days_before_due``
  days before the due date) until the release reaches ``ends``;
- ``/freeze`` freezes, ``/thaw`` lifts, whatever the window says; a hand request given before
  ``ends`` is forgotten when the release reaches ``ends`` (so the freeze lifts there by itself),
  one given at or after ``ends`` holds until the opposite command;
- a closed milestone is never frozen (an abandoned release — the milestone deleted — is handled
  by the reconciler: the release is no longer tracked at all);
- ``since`` is recorded once, the day the freeze began, and kept while it lasts.

``next_window_day`` names the day the window next changes with time alone: only a
``days_before_due`` start is a day; the end is always a stage (an event), so it has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.core.freeze.settings import FreezeSettings
from bot.core.freeze.state import (
    CAUSE_DUE,
    CAUSE_MANUAL,
    CAUSE_STAGE,
    LIFTED_CLOSED,
    LIFTED_ENDS,
    LIFTED_THAWED,
    LIFTED_WINDOW,
    MANUAL_FROZEN,
    MANUAL_THAWED,
    FreezeException,
    FreezeState,
    merge_exceptions,
)
from bot.core.stages import STAGES, index_of

FREEZE = "freeze"
THAW = "thaw"


@dataclass(frozen=True)
class FreezeRequest:
    """A release manager's ``/freeze`` or ``/thaw`` on the tracking issue (already permitted)."""

    kind: str  # FREEZE | THAW
    by: str
    date: str  # the comment's day, in the configured zone


@dataclass(frozen=True)
class WindowFacts:
    version: str
    stage: str | None  # the release's stage after this reconcile's advance
    began: Mapping[str, str] = field(default_factory=dict)  # stage -> ISO date it began
    milestone_open: bool = True
    due_date: str | None = None  # GitHub's due day (bot.core.due_dates)
    today: str = ""


def _stage_index(stage: str | None) -> int:
    return index_of(stage) if stage in STAGES else -1


def automatic_start(settings: FreezeSettings, facts: WindowFacts) -> str | None:
    """The day the automatic window opened, or None when the release is outside it."""
    at = _stage_index(facts.stage)
    if at >= index_of(settings.ends):
        return None
    if settings.starts_stage is not None:
        first = index_of(settings.starts_stage)
        if at < first:
            return None
        began = [facts.began[s] for s in STAGES[first : at + 1] if facts.began.get(s)]
        return min(began) if began else facts.today
    if settings.days_before_due is None or not facts.due_date:
        return None
    try:
        start = (date.fromisoformat(facts.due_date) - timedelta(days=settings.days_before_due)).isoformat()
    except ValueError:
        return None
    return start if facts.today >= start else None


def decide_freeze(
    settings: FreezeSettings,
    previous: FreezeState | None,
    facts: WindowFacts,
    requests: Sequence[FreezeRequest] = (),
    reported: Sequence[FreezeException] = (),
) -> FreezeState:
    prev = previous or FreezeState()
    manual, manual_stage, by, manual_date = prev.manual, prev.manual_stage, prev.by, ""
    for request in requests:
        manual = MANUAL_FROZEN if request.kind == FREEZE else MANUAL_THAWED
        manual_stage, by, manual_date = facts.stage or "", request.by, request.date
    at, ends = _stage_index(facts.stage), index_of(settings.ends)
    if manual and _stage_index(manual_stage) < ends <= at:
        manual, manual_stage = "", ""  # asked for before `ends`: the freeze lifts there by itself

    start = automatic_start(settings, facts)
    active, cause, begins, why = False, "", "", ""
    if not facts.milestone_open:
        why = LIFTED_CLOSED
    elif manual == MANUAL_FROZEN:
        active, cause, begins = True, CAUSE_MANUAL, manual_date or facts.today
    elif manual == MANUAL_THAWED:
        why = LIFTED_THAWED
    elif start is not None:
        active, cause, begins = True, (CAUSE_STAGE if settings.starts_stage else CAUSE_DUE), start
    else:
        why = LIFTED_ENDS if at >= ends else LIFTED_WINDOW

    detail = ""
    if cause == CAUSE_STAGE:
        detail = settings.starts_stage or ""
    elif cause == CAUSE_DUE:
        detail = str(settings.days_before_due)
    if active and prev.active:
        # One freeze, however it goes on: its start and what started it are kept.
        if prev.cause:
            cause, detail = prev.cause, prev.detail
        since = prev.since or begins
    elif active:
        since = begins
    else:
        since, cause, detail = "", "", ""
    if active:
        lifted, lifted_why = "", ""
    elif prev.active:
        lifted, lifted_why = facts.today, why
    else:
        lifted, lifted_why = prev.lifted, prev.lifted_why
    return FreezeState(
        version=facts.version,
        active=active,
        since=since,
        cause=cause,
        by=by,
        manual=manual,
        manual_stage=manual_stage if manual else "",
        lifted=lifted,
        lifted_why=lifted_why,
        branches=settings.branches,
        detail=detail,
        exceptions=merge_exceptions(prev.exceptions, tuple(reported)),
    )


def next_window_day(settings: FreezeSettings, state: FreezeState | None, facts: WindowFacts) -> str | None:
    """The day, after ``facts.today``, on which the automatic window opens with no event: the
    ``days_before_due`` start of a release not yet past ``ends``. None where nothing is due by time
    alone — a stage start, no due date, a closed milestone, a hand ``/freeze`` or ``/thaw`` in force
    (it holds whatever the window says), or a start already passed."""
    if settings.days_before_due is None or not facts.due_date or not facts.milestone_open:
        return None
    if state is not None and state.manual:
        return None
    if _stage_index(facts.stage) >= index_of(settings.ends):
        return None
    try:
        start = (date.fromisoformat(facts.due_date) - timedelta(days=settings.days_before_due)).isoformat()
    except ValueError:
        return None
    return start if start > facts.today else None
