"""Pure renderers of the release's artifacts: tracking issue body, stage comments, retrospective, replies.

Deterministic: everything shown comes from the arguments (facts and the recorded stage state);
there is no "now" here, so rendering twice gives the same text and an unchanged release makes no
write. The body is a view, never read back: what the bot remembers (``TrackingState``) lives in the
release record, a check run only the App can write (``bot.core.release_record``); the body only
points at it. A body anyone edited is rendered again from the record and the facts.

Markers (ARCHITECTURE.md, trusted only in artifacts the bot's login wrote):
    <!-- release-bot:tracking:{milestone} -->            the tracking issue
    <!-- release-bot:record:{check_run_id} -->           the release record it shows (a verified hint)
    <!-- release-bot:stage:{milestone}:{stage} -->       one checklist comment per stage
    <!-- release-bot:retro:{milestone} -->               the retrospective comment
    <!-- release-bot:reply:{comment_id} -->              the answer to one command comment
    <!-- release-bot:closed:{milestone} -->              the note left when the milestone is deleted
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.core.checklists import Progress, StageChecklist
from bot.core.freeze.state import FreezeState
from bot.core.record_fields import announced_of as _announced
from bot.core.record_fields import tag_days_of as _tag_days
from bot.core.release_record import record_pointer
from bot.core.stages import CURRENT, DONE, PENDING, SKIPPED, STAGE_TITLES, STAGES, ReleaseHold, StageRecord

if TYPE_CHECKING:
    from bot.core.checklist_facts import FactTick

MAX_BODY_CHARS = 65_000  # GitHub holds ~65,535; keep a margin for the markers
MAX_LISTED = 50  # items per list before "and N more"
STATE_VERSION = 1
MAX_PAST_GATE = 100  # entries kept in the hidden state

_STATE_ICONS = {DONE: "✅ done", CURRENT: "▶️ current", SKIPPED: "⏭️ skipped", PENDING: "⏳ pending"}


def tracking_marker(milestone_number: int) -> str:
    return f"<!-- release-bot:tracking:{milestone_number} -->"


def stage_marker(milestone_number: int, stage: str) -> str:
    return f"<!-- release-bot:stage:{milestone_number}:{stage} -->"


def retro_marker(milestone_number: int) -> str:
    return f"<!-- release-bot:retro:{milestone_number} -->"


def reply_marker(comment_id: int) -> str:
    return f"<!-- release-bot:reply:{comment_id} -->"


def closed_marker(milestone_number: int) -> str:
    return f"<!-- release-bot:closed:{milestone_number} -->"


_STAGE_MARKER_RE = re.compile(r"<!--\s*release-bot:stage:(?P<m>\d+):(?P<stage>[a-z_]+)\s*-->")
_TRACKING_MARKER_RE = re.compile(r"<!--\s*release-bot:tracking:(?P<m>\d+)\s*-->")


def tracking_milestone_of(body: str | None) -> int | None:
    """The milestone number a tracking issue body is for, from its marker."""
    match = _TRACKING_MARKER_RE.search(body or "")
    return int(match.group("m")) if match else None


def stage_of_comment(body: str | None, milestone_number: int) -> str | None:
    match = _STAGE_MARKER_RE.search(body or "")
    if not match or int(match.group("m")) != milestone_number or match.group("stage") not in STAGES:
        return None
    return match.group("stage")


# --------------------------------------------------------------------------------------------
# what the bot remembers (kept in the release record, bot.core.release_record)


# Unticked item texts kept per stage in the hidden state, and their length: bounded so the state stays
# a few kilobytes whatever people write into a checklist (the body holds ~65,535 characters). The
# outstanding list shows the same bounded texts whether a comment was read now or recorded earlier.
MAX_RECORDED_UNTICKED = 8
MAX_RECORDED_TEXT = 72  # x 8 items x 8 stages, JSON-escaped, keeps the state marker under 30k


def _clip(text: str) -> str:
    """Checklist text kept in the hidden state (bounded so the body stays small), cut visibly."""
    return text if len(text) <= MAX_RECORDED_TEXT else text[: MAX_RECORDED_TEXT - 1].rstrip() + "…"


_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ChecklistRecord:
    """One stage comment as last read: its id and its progress (unticked texts bounded)."""

    comment_id: int
    progress: Progress

    def to_json(self) -> list[Any]:
        return [self.comment_id, self.progress.ticked, self.progress.total, list(self.progress.unticked)]

    @classmethod
    def from_json(cls, data: Any) -> ChecklistRecord | None:
        if not isinstance(data, list) or len(data) != 4:
            return None
        cid, ticked, total, unticked = data
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in (cid, ticked, total)):
            return None
        if ticked > total or not isinstance(unticked, list):
            return None
        texts = tuple(_clip(str(t)) for t in unticked if isinstance(t, str))[:MAX_RECORDED_UNTICKED]
        return cls(cid, Progress(ticked, total, texts))

    @classmethod
    def of(cls, comment_id: int, progress: Progress) -> ChecklistRecord:
        return cls(
            comment_id,
            Progress(
                progress.ticked,
                progress.total,
                tuple(_clip(t) for t in progress.unticked[:MAX_RECORDED_UNTICKED]),
            ),
        )


def _checklist_records(data: Any) -> dict[str, ChecklistRecord]:
    if not isinstance(data, Mapping):
        return {}
    records = {s: ChecklistRecord.from_json(data.get(s)) for s in STAGES if s in data}
    return {s: r for s, r in records.items() if r is not None}


def _timestamp(value: Any) -> str | None:
    """GitHub's ``2026-11-26T05:00:00Z`` only: the value goes back to GitHub as a query parameter."""
    return value if isinstance(value, str) and _TIMESTAMP_RE.match(value) else None


@dataclass(frozen=True)
class TrackingState:
    """Everything the bot remembers about a release between reconciles (in the release record)."""

    stages: StageRecord = field(default_factory=StageRecord)
    comment_watermark: int = 0  # the highest tracking-issue comment id whose commands were handled
    feedback: tuple[int, ...] = ()  # issues listed as post-release feedback (kept after Monitor)
    retro_done: bool = False  # the retrospective and carry-over ran (they happen once)
    # Changes that reached the release branch past the gate (admin bypass merges, direct pushes), as
    # the gate recorded them: copied here so they outlive the bot's store. "#12" or a commit sha.
    past_gate: tuple[str, ...] = ()
    posted: tuple[str, ...] = ()  # stages whose checklist comment the bot posted (never posted twice)
    # The stage comments as last read: id and progress. With ``comments_seen`` (the newest
    # ``updated_at`` among the comments read) a steady reconcile lists only the comments changed
    # since then (``?since=``) instead of every comment of the issue: a tick edits a comment, which
    # moves its ``updated_at``, so it is listed again; an unchanged stage comment keeps this record.
    checklists: Mapping[str, ChecklistRecord] = field(default_factory=dict)
    comments_seen: str | None = None
    # The due date (ISO) a reconcile found passed with the release not shipped: recorded, like the
    # date a stage began, so the body is rendered from the record and never from the clock. It
    # counts only while the milestone keeps that due date (moving the date clears the verdict).
    overdue: str | None = None
    # The code freeze (``releases.freeze``): None where none is configured (bot.core.freeze.state).
    freeze: FreezeState | None = None
    # The day (ISO, configured zone) the bot first saw each tag of the release (candidates, final):
    # the release calendar's tag dates (bot.core.calendar), recorded since Git keeps no tag date.
    tag_days: Mapping[str, str] = field(default_factory=dict)
    # The announcements made ("{channel}/{moment}", bot.core.announce): a replay or a wiped store
    # announces nothing twice.
    announced: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": STATE_VERSION,
            "stages": self.stages.to_json(),
            "watermark": self.comment_watermark,
            "feedback": sorted(set(self.feedback)),
            "retro": self.retro_done,
        }
        if self.past_gate:
            data["past_gate"] = list(self.past_gate)
        if self.posted:
            data["posted"] = list(self.posted)
        if self.checklists:
            data["lists"] = {s: self.checklists[s].to_json() for s in STAGES if s in self.checklists}
        if self.comments_seen:
            data["seen"] = self.comments_seen
        if self.overdue:
            data["overdue"] = self.overdue
        if self.freeze is not None:
            data["freeze"] = self.freeze.to_json()
        if self.tag_days:
            data["tag_days"] = dict(sorted(self.tag_days.items()))
        if self.announced:
            data["announced"] = sorted(set(self.announced))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TrackingState:
        if not isinstance(data, Mapping):
            return cls()
        watermark = data.get("watermark")
        feedback = data.get("feedback") or ()
        return cls(
            stages=StageRecord.from_json(data.get("stages")),
            comment_watermark=watermark if isinstance(watermark, int) else 0,
            feedback=tuple(sorted({n for n in feedback if isinstance(n, int)})),
            retro_done=bool(data.get("retro")),
            past_gate=tuple(str(x)[:80] for x in (data.get("past_gate") or ()) if isinstance(x, str))[
                :MAX_PAST_GATE
            ],
            posted=tuple(s for s in STAGES if s in (data.get("posted") or ())),
            checklists=_checklist_records(data.get("lists")),
            comments_seen=_timestamp(data.get("seen")),
            overdue=data["overdue"]
            if isinstance(data.get("overdue"), str) and _DATE_RE.match(data["overdue"])
            else None,
            freeze=FreezeState.from_json(data.get("freeze")),
            tag_days=_tag_days(data.get("tag_days")),
            announced=_announced(data.get("announced")),
        )


# --------------------------------------------------------------------------------------------
# text helpers


def neutralize(text: str, limit: int = 200) -> str:
    """User text shown in the bot's artifacts: one line, no mentions that would ping, bounded."""
    one_line = " ".join(str(text).split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    # A zero-width joiner after '@' keeps the text readable but stops GitHub from notifying.
    one_line = one_line.replace("@", "@\u200b")
    # No HTML from users in the bot's artifacts (GitHub renders some tags; a comment could hide the
    # rest of the body), and no '|' breaking a table cell.
    return one_line.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _bounded(lines: list[str], limit: int = MAX_LISTED) -> list[str]:
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [f"- … and {len(lines) - limit} more"]


# --------------------------------------------------------------------------------------------
# the tracking issue


@dataclass(frozen=True)
class ItemRef:
    """An issue or pull request as listed in the bot's artifacts."""

    number: int
    title: str
    is_pr: bool = False
    author: str = ""


@dataclass(frozen=True)
class Scope:
    open_issues: int = 0
    closed_issues: int = 0
    merged_prs: int = 0
    open_prs: int = 0
    closed_unmerged_prs: int = 0


@dataclass(frozen=True)
class TrackingView:
    """The release at a glance: what the body shows."""

    milestone_number: int
    milestone_title: str
    milestone_url: str
    milestone_open: bool
    version: str
    due_date: str | None  # the calendar day GitHub shows (a US Pacific day: bot.core.due_dates)
    timezone: str  # the configured zone: ship dates and "late" are decided in it
    shipped_date: str | None  # date of the published release (else the final tag was seen), same zone
    branch: str
    branch_url: str | None  # None while the branch does not exist
    candidate_tags: tuple[str, ...]
    final_tag: str
    final_tag_exists: bool
    release_state: str | None  # "draft" | "published" | None
    release_url: str | None
    mode: str
    state: TrackingState
    checklists: Mapping[str, StageChecklist]
    progress: Mapping[str, Progress]  # for stages with a posted comment
    scope: Scope
    off_milestone: tuple[ItemRef, ...] = ()  # merged into the branch from outside the milestone
    not_on_branch: tuple[ItemRef, ...] = ()  # merged pull requests of the milestone missing from the branch
    feedback: tuple[ItemRef, ...] = ()
    warnings: tuple[str, ...] = ()  # duplicates, configuration errors, notes problems, strict holds
    links: tuple[tuple[str, str], ...] = ()  # (label, url)
    record_id: int | None = None  # the release record's check run, pointed at from the body


def due_text(due_date: str | None, shipped_date: str | None, timezone: str, overdue: bool = False) -> str:
    """'2026-12-01 (UTC) · shipped on time (…)' — decided from facts and the record, never from the clock.

    Shipped: on time (on or before the due date) or late by N days, from the ship date. Not shipped:
    late once a reconcile has recorded the due date as passed (``overdue``), else 'not shipped yet'.
    """
    if not due_date:
        return "no due date"
    from bot.core.due_dates import GITHUB_DUE_ZONE_NAME

    # The due day is GitHub's (a Pacific day), labelled so; the ship date is in the configured zone.
    base = f"{due_date} ({GITHUB_DUE_ZONE_NAME})"
    if not shipped_date:
        return f"{base} · late: not shipped by the due date" if overdue else f"{base} · not shipped yet"
    from datetime import date

    days = (date.fromisoformat(shipped_date) - date.fromisoformat(due_date)).days
    shipped = shipped_date if timezone == GITHUB_DUE_ZONE_NAME else f"{shipped_date}, {timezone}"
    if days <= 0:
        return f"{base} · shipped on time ({shipped})"
    return f"{base} · shipped late by {days} day{'s' if days != 1 else ''} ({shipped})"


def _stage_rows(view: TrackingView) -> list[str]:
    from bot.core.stages import stage_states

    states = stage_states(view.state.stages)
    rows = ["| Stage | State | Began | Checklist |", "|---|---|---|---|"]
    for stage in STAGES:
        title = view.checklists[stage].title if stage in view.checklists else STAGE_TITLES[stage]
        progress = view.progress.get(stage)
        ticked = f"{progress.ticked}/{progress.total}" if progress is not None else "—"
        began = view.state.stages.began.get(stage, "—") if states[stage] in (DONE, CURRENT) else "—"
        rows.append(f"| {neutralize(title, 80)} | {_STATE_ICONS[states[stage]]} | {began} | {ticked} |")
    return rows


def _item_lines(items: Sequence[ItemRef]) -> list[str]:
    lines = []
    for item in sorted(items, key=lambda i: i.number):
        author = f" by @\u200b{item.author}" if item.author else ""
        lines.append(f"- #{item.number} {neutralize(item.title)}{author}".rstrip())
    return _bounded(lines)


def render_tracking_body(view: TrackingView) -> str:
    lines: list[str] = [tracking_marker(view.milestone_number), f"## Release v{view.version}", ""]
    for warning in view.warnings:
        lines.append(f"> [!WARNING]\n> {warning}")
        lines.append("")
    branch = (
        f"[`{view.branch}`]({view.branch_url})" if view.branch_url else f"`{view.branch}` (not created yet)"
    )
    if view.candidate_tags:
        candidates = ", ".join(f"`{t}`" for t in view.candidate_tags)
    else:
        candidates = "none yet"
    verdict = view.state.stages.uat
    if verdict is None:
        uat = "not given"
    else:
        on = f"rc.{verdict.rc}" if verdict.rc is not None else "no candidate"
        word = "passed" if verdict.passed else "failed"
        reason = f": {neutralize(verdict.reason)}" if verdict.reason else ""
        uat = f"{word} on {on} by @\u200b{verdict.by} ({verdict.date}){reason}"
    final = f"`{view.final_tag}`" if view.final_tag_exists else f"`{view.final_tag}` (not tagged yet)"
    if view.release_state and view.release_url:
        release = f"[{view.release_state}]({view.release_url})"
    else:
        release = "none yet"
    milestone = (
        f"[{neutralize(view.milestone_title, 100)}]({view.milestone_url})"
        f" · {'open' if view.milestone_open else 'closed'}"
    )
    due = due_text(view.due_date, view.shipped_date, view.timezone, view.state.overdue == view.due_date)
    lines += [
        "| | |",
        "|---|---|",
        f"| Version | `{view.version}` |",
        f"| Milestone | {milestone} |",
        f"| Due | {due} |",
        f"| Release branch | {branch} |",
        f"| Candidates | {candidates} |",
        f"| UAT | {uat} |",
        f"| Final tag | {final} |",
        f"| GitHub Release | {release} |",
        f"| Mode | {view.mode} |",
        *_hold_rows(view.state.stages.hold),
        *_freeze_rows(view.state.freeze),
        "",
        "### Stages",
        "",
        *_stage_rows(view),
        "",
        "### Scope",
        "",
        f"- Issues: {view.scope.open_issues} open, {view.scope.closed_issues} closed",
        f"- Pull requests: {view.scope.merged_prs} merged, {view.scope.open_prs} open, "
        f"{view.scope.closed_unmerged_prs} closed without merging",
        "",
    ]
    outstanding = _outstanding(view)
    if outstanding:
        lines += ["### Outstanding checklist items", "", *outstanding, ""]
    if view.off_milestone:
        lines += [
            f"### Merged into `{view.branch}` from outside the milestone",
            "",
            *_item_lines(view.off_milestone),
            "",
        ]
    if view.not_on_branch:
        lines += [
            "### In the milestone but not on the release branch",
            "",
            *_item_lines(view.not_on_branch),
            "",
        ]
    if view.state.past_gate:
        gate_lines = [
            f"- {entry}" if entry.startswith("#") else f"- commit `{entry[:12]}` pushed directly"
            for entry in view.state.past_gate
        ]
        lines += [f"### Reached `{view.branch}` past the gate", "", *_bounded(gate_lines), ""]
    if view.state.freeze is not None:
        from bot.core.freeze.rendering import exceptions_section

        lines += exceptions_section(view.state.freeze)
    if view.feedback:
        lines += ["### Post-release feedback", "", *_item_lines(view.feedback), ""]
    if view.links:
        lines += ["### Links", "", *[f"- [{label}]({url})" for label, url in view.links], ""]
    freeze_commands = ", `/freeze`, `/thaw`" if view.state.freeze is not None else ""
    lines += [
        f"Commands (on this issue): `/stage <name>`, `/uat passed`, `/uat failed <reason>`{freeze_commands}, "
        "`/help`.",
        "",
    ]
    pointer = record_pointer(view.record_id) if view.record_id is not None else ""
    lines.append(pointer)
    body = "\n".join(lines)
    if len(body) > MAX_BODY_CHARS:
        # Keep the head (the summary) and the record's pointer; cut the lists in the middle.
        body = body[: MAX_BODY_CHARS - len(pointer) - 40] + "\n\n… (truncated)\n\n" + pointer
    return body


def _freeze_rows(freeze: FreezeState | None) -> list[str]:
    if freeze is None:
        return []
    from bot.core.freeze.rendering import freeze_rows

    return freeze_rows(freeze)


def _outstanding(view: TrackingView) -> list[str]:
    """Unticked items of stages already done (agile lets the release move on without them)."""
    from bot.core.stages import stage_states

    states = stage_states(view.state.stages)
    lines: list[str] = []
    for stage in STAGES:
        progress = view.progress.get(stage)
        if states[stage] != DONE or progress is None or not progress.unticked:
            continue
        title = view.checklists[stage].title if stage in view.checklists else STAGE_TITLES[stage]
        for item in progress.unticked:
            lines.append(f"- {neutralize(title, 80)}: {neutralize(item)}")
        more = progress.total - progress.ticked - len(progress.unticked)
        if more > 0:  # the state keeps a bounded number of texts per stage
            lines.append(f"- {neutralize(title, 80)}: and {more} more unticked")
    return _bounded(lines)


# --------------------------------------------------------------------------------------------
# comments


def render_stage_comment(
    milestone_number: int,
    version: str,
    checklist: StageChecklist,
    ticks: Mapping[str, FactTick] | None = None,
) -> str:
    """A new stage comment; its fact items (bot.core.checklist_facts) ticked as ``ticks`` stand."""
    from bot.core.checklist_facts import checklist_lines

    lines = [stage_marker(milestone_number, checklist.stage), f"### {checklist.title} — v{version}", ""]
    if checklist.owners:
        lines += ["Owners: " + " ".join(checklist.owners), ""]
    if checklist.items:
        lines += checklist_lines(checklist, ticks or {})
    else:
        lines.append("_No checklist for this stage._")
    lines += ["", "_Tick the boxes as the work is done; progress shows in the issue description._"]
    return "\n".join(lines)


def render_reply(comment_id: int, author: str, text: str) -> str:
    return f"{reply_marker(comment_id)}\n@{author} {text}"


@dataclass(frozen=True)
class CarryOver:
    item: ItemRef
    to_title: str | None  # None: nowhere to go (needs a home)


@dataclass(frozen=True)
class RetroFigures:
    version: str
    planned: int  # items in the milestone when it closed (the tracking issue excluded)
    delivered: int  # closed issues + merged pull requests
    slipped: int  # open items at close
    merged_prs: int
    contributors: tuple[str, ...]
    created_date: str | None
    shipped_date: str | None
    due_date: str | None
    timezone: str
    overdue: bool = False  # not shipped, and the due date was recorded as passed


def render_retrospective(milestone_number: int, figures: RetroFigures, moves: Sequence[CarryOver]) -> str:
    from datetime import date

    if figures.created_date and figures.shipped_date:
        days = (date.fromisoformat(figures.shipped_date) - date.fromisoformat(figures.created_date)).days
        lead = (
            f"{days} day{'s' if days != 1 else ''}"
            f" (milestone created {figures.created_date}, released {figures.shipped_date})"
        )
    else:
        lead = "not released yet"
    contributors = ", ".join(f"@\u200b{c}" for c in figures.contributors) or "none"
    lines = [
        retro_marker(milestone_number),
        f"## Retrospective — v{figures.version}",
        "",
        "| | |",
        "|---|---|",
        f"| Planned items | {figures.planned} |",
        f"| Delivered items | {figures.delivered} |",
        f"| Slipped items | {figures.slipped} |",
        f"| Merged pull requests | {figures.merged_prs} |",
        f"| Contributors | {contributors} |",
        f"| Milestone to release | {lead} |",
        f"| Due | {due_text(figures.due_date, figures.shipped_date, figures.timezone, figures.overdue)} |",
        "",
        "### Carry-over",
        "",
    ]
    if not moves:
        lines.append("Nothing was left open.")
    for move in sorted(moves, key=lambda m: m.item.number):
        kind = "pull request" if move.item.is_pr else "issue"
        where = (
            f"→ {neutralize(move.to_title, 80)}"
            if move.to_title
            else "→ **needs a home** (no later open version milestone)"
        )
        lines.append(f"- {kind} #{move.item.number} {neutralize(move.item.title)} {where}")
    return "\n".join(lines)


def render_deleted_note(milestone_number: int, version: str) -> str:
    return (
        f"{closed_marker(milestone_number)}\n"
        f"The milestone of v{version} was deleted, so this release is no longer tracked. Closing this issue."
    )


def _hold_rows(hold: ReleaseHold | None) -> list[str]:
    """The ``/hold`` row of the summary table; none while the release is not held."""
    if hold is None:
        return []
    reason = f": {neutralize(hold.reason)}" if hold.reason else ""
    return [f"| On hold | ⏸️ since {hold.date} by @\u200b{hold.by}{reason} (`/unhold` lifts it) |"]
