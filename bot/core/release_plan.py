"""The release plan: from the facts and the recorded state to every write one reconcile makes, pure.

``plan_release(facts, state, config, today, run)`` returns either the ``ReleasePlan`` — the state to
record, the tracking issue (create or patch), the stage comments due, the fact ticks, the
retrospective and carry-over moves, the answers to commands, the publish decision for the notes —
or the ``Wants`` it needs read first (the roles of command authors, then feedback issues, stage
comments by id, open pull requests into the branch). The reconciler reads those and plans again;
a steady release wants nothing. The apply step (``bot.reconcilers.release_apply``) performs a plan
in the documented write order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.core.checklist_facts import ticks_of
from bot.core.checklists import Progress, parse_progress
from bot.core.freeze import FreezeException, FreezeState, WindowFacts, decide_freeze, next_window_day
from bot.core.freeze.state import LIFTED_UNCONFIGURED
from bot.core.freeze.window import FreezeRequest
from bot.core.next_change import earliest_day, start_of_day
from bot.core.release_commands import Answer, roles_needed, run_commands
from bot.core.release_ticks import FactEdit, comments_to_read, fact_edits, known_facts
from bot.core.release_types import Comment, ReleaseFacts, Wants, github_time, local_date
from bot.core.release_view import (
    CarryOverMove,
    NotesSummary,
    ReleaseSettings,
    ViewInputs,
    config_error_warning,
    due_date,
    duplicate_warning,
    next_overdue_day,
    overdue,
    release_view,
    retrospective,
)
from bot.core.stages import (
    DEPLOY,
    FUTURE_PLANNING,
    MONITOR,
    STAGES,
    STRICT,
    StageFacts,
    StageRecord,
    advance,
    index_of,
)
from bot.core.tracking import (
    MAX_PAST_GATE,
    ChecklistRecord,
    TrackingState,
    closed_marker,
    render_deleted_note,
    render_retrospective,
    render_stage_comment,
    render_tracking_body,
    retro_marker,
    stage_of_comment,
)
from bot.core.versions import duplicate_versions, parse_tag, rc_tag, version_text


@dataclass(frozen=True)
class RunInputs:
    """What one run knows besides GitHub's facts."""

    bot_login: str
    config_error: str | None = None
    config_valid: bool = True
    edited_comments: frozenset[int] = frozenset()  # changed since posted (bot.jobs.comment_was_edited)
    past_gate: tuple[str, ...] = ()  # the gate's audit of the release branch ("#12" or a commit sha)
    # Freeze exceptions read back from pull requests' freeze checks (bot.reconcilers.freeze).
    freeze_reports: tuple[FreezeException, ...] = ()
    calendar_url: str | None = None  # the repository's release calendar feed (linked from the body)
    announce_warnings: tuple[str, ...] = ()  # announcement channels that cannot be used (no URL set)


@dataclass(frozen=True)
class IssuePatch:
    title: str | None = None
    milestone: int | None = None  # moved out by someone: the tracking issue belongs here
    close: bool = False  # the Future Planning checklist is fully ticked

    def fields(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.title is not None:
            out["title"] = self.title
        if self.milestone is not None:
            out["milestone"] = self.milestone
        if self.close:
            out.update({"state": "closed", "state_reason": "completed"})
        return out


@dataclass(frozen=True)
class ReleasePlan:
    milestone_number: int
    version: str
    stage: str | None
    state: TrackingState  # to record once the writes before it are done
    initial_record: TrackingState | None  # no record yet: written first, before anything points at it
    written: str | None  # the record as it is (canonical JSON); None without one
    title: str
    label: str
    create_issue: bool
    issue_patch: IssuePatch
    add_label: bool
    stage_comments: tuple[tuple[str, str], ...]  # (stage, body) to post
    progress: Mapping[str, Progress]
    edits: tuple[FactEdit, ...]
    retrospective: str | None  # to post (None: not due, or posted already)
    moves: tuple[CarryOverMove, ...]
    answers: tuple[Answer, ...]
    publish_allowed: bool  # strict mode: not before Deploy
    notes_owner: bool  # of milestones naming one version the oldest keeps the notes
    duplicates: tuple[int, ...]  # other milestones of this version (woken when the body changed)
    view: ViewInputs = field(repr=False)
    # When the facts next change by time alone (a freeze's first day, the day after the due date),
    # as an instant (UTC); None: nothing is due by time. The reconciler asks the queue to run the
    # key again then (``JobQueue.schedule``), so nothing waits for the next event.
    next_change: datetime | None = None

    def body(self, state: TrackingState, notes: NotesSummary | None, record_id: int | None) -> str:
        return render_tracking_body(release_view(self.view, state, self.progress, notes, record_id))


def record_json(state: TrackingState) -> str:
    """The state as the record's canonical JSON (``bot.github.release_record_io.canonical_state``)."""
    return json.dumps(state.to_json(), sort_keys=True, separators=(",", ":"))


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _stage_comments(bot_comments: list[Comment], milestone_number: int) -> dict[str, Comment]:
    found: dict[str, Comment] = {}
    for comment in sorted(bot_comments, key=lambda c: c.id):
        stage = stage_of_comment(comment.body, milestone_number)
        if stage and stage not in found:
            found[stage] = comment
    return found


def _feedback(facts: ReleaseFacts, settings: ReleaseSettings, began: str, known: tuple[int, ...],
              version: str) -> tuple[int, ...]:
    """Issues opened since Monitor began that name the version or carry a feedback label."""
    since = datetime.fromisoformat(f"{began}T00:00:00+00:00")
    # '1.4.0' or 'v1.4.0' as a whole version: not '11.4.0', '1.4.01' or '1.4.0.1'.
    names_version = re.compile(rf"(?<![\d.]){re.escape(version)}(?!\d|\.\d)")
    tracking = facts.tracking_issue.number if facts.tracking_issue is not None else None
    found = set(known)
    for issue in facts.feedback_issues or ():
        if issue.is_pull_request or issue.number == tracking or issue.author == facts.bot_login:
            continue
        if issue.created_at is None or issue.created_at < since:
            continue
        if {label.lower() for label in issue.labels} & settings.feedback_labels or \
                names_version.search(f"{issue.title}\n{issue.body}"):
            found.add(issue.number)
    return tuple(sorted(found))


def _past_gate(facts: ReleaseFacts, known: tuple[str, ...], audit: tuple[str, ...]) -> tuple[str, ...]:
    """The gate's audit of the release branch merged into what the record already holds: the audit
    lives in the bot's store, the record outlives it."""
    if not facts.branch_name or not facts.branch_exists:
        return known
    entries = list(known)
    for text in audit:
        if text not in entries:
            entries.append(text)
    return tuple(entries[:MAX_PAST_GATE])


def _tag_days(facts: ReleaseFacts, known: Mapping[str, str], today: str) -> Mapping[str, str]:
    """The day each release tag was first seen (the calendar's tag dates): recorded once, kept."""
    version = facts.version_obj
    ours = [t.name for t in facts.tags if version is not None
            and (info := parse_tag(t.name, facts.conventions)) is not None and info.version == version]
    seen = {name: known.get(name, today) for name in ours}
    return known if seen.items() <= known.items() else {**known, **seen}


def _notes_owner(facts: ReleaseFacts) -> bool:
    version = facts.version_obj
    group = duplicate_versions(facts.open_milestones, facts.conventions.milestone_pattern).get(version) \
        if version is not None else None
    numbers = [m.number for m in group or []]
    return facts.milestone_number not in numbers or min(numbers) == facts.milestone_number


def _duplicates(facts: ReleaseFacts) -> tuple[int, ...]:
    dups = duplicate_versions(facts.open_milestones, facts.conventions.milestone_pattern)
    number = facts.milestone_number
    return tuple(m.number for group in dups.values() for m in group
                 if m.number != number and any(x.number == number for x in group))


def _comments_seen(facts: ReleaseFacts, previous: str | None) -> str | None:
    """The newest ``updated_at`` among the comments read (the next partial listing starts there)."""
    stamps = [c.updated_at for c in facts.tracking_comments]
    known = [t for t in (*stamps, _parse(previous)) if t is not None]
    return github_time(max(known)) if known else None


def _latest_candidate_sha(facts: ReleaseFacts) -> str:
    """The latest candidate tag's ref target, recorded with a UAT verdict (deployments check it)."""
    version = facts.version_obj
    if version is None or not facts.candidates:
        return ""
    name = rc_tag(version, max(facts.candidates), facts.conventions.rc_tag_pattern)
    return next((t.sha for t in facts.tags if t.name == name), "")


def _freeze(
    facts: ReleaseFacts,
    known: FreezeState | None,
    config: ReleaseSettings,
    record: StageRecord,
    today: str,
    requests: tuple[FreezeRequest, ...],
    run: RunInputs,
) -> FreezeState | None:
    """The release's code freeze (bot.core.freeze.window); None where none was ever configured, so
    the record of such a release is unchanged. A freeze whose configuration was removed is lifted."""
    if config.freeze is None:
        if known is None or not known.active:
            return known
        return replace(known, active=False, since="", lifted=today, lifted_why=LIFTED_UNCONFIGURED)
    return decide_freeze(config.freeze, known, _window(facts, record, today), requests, run.freeze_reports)


def _window(facts: ReleaseFacts, record: StageRecord, today: str) -> WindowFacts:
    version = facts.version_obj
    assert version is not None
    return WindowFacts(
        version=version_text(version),
        stage=record.current,
        began=record.began,
        milestone_open=facts.milestone_open,
        due_date=due_date(facts.milestone),
        today=today,
    )


def next_change(
    facts: ReleaseFacts, state: TrackingState, config: ReleaseSettings, today: str
) -> datetime | None:
    """The first instant after ``today`` at which this release's facts change with time alone, from
    the state about to be recorded: the earliest of the freeze's ``days_before_due`` start and the
    day after the due date (``overdue``, the tracking issue's 'late', the ``late`` announcement) —
    of those that exist. The days are the configured zone's, as ``today`` is; the instant is when
    that day begins there."""
    record = state.stages
    freeze_day = (
        next_window_day(config.freeze, state.freeze, _window(facts, record, today))
        if config.freeze is not None
        else None
    )
    late_day = next_overdue_day(facts, state.overdue, record, config.tz, today)
    day = earliest_day((freeze_day, late_day), today)
    return start_of_day(day, config.tz) if day is not None else None


def plan_release(
    facts: ReleaseFacts, state: TrackingState, config: ReleaseSettings, today: str, run: RunInputs
) -> ReleasePlan | Wants:
    """One reconcile of one release, decided. ``state``: what the release record holds (empty
    without one); ``today``: the date in the configured zone (the date a stage begins)."""
    version = facts.version_obj
    milestone = facts.milestone
    assert version is not None and milestone is not None
    tz, number = config.tz, facts.milestone_number
    tracking = facts.tracking_issue
    if facts.record is None and tracking is not None:
        # A tracking issue without its record (written by a version that kept the state in the
        # body, or its pointer edited away while the store was empty): start from the facts, as
        # a release seen for the first time does, and replay no old command — a sign-off given
        # long ago must not be applied to today's candidate.
        state = replace(state, comment_watermark=max((c.id for c in facts.tracking_comments), default=0))
    roles = roles_needed(facts, state.comment_watermark, run.edited_comments)
    if roles:
        return Wants(roles=roles)

    # Stage comments: those listed now (new or edited since the last read), and — when only the
    # changed comments were listed — the unchanged ones as recorded in the state.
    bot_comments = [c for c in facts.tracking_comments if c.author == run.bot_login]
    listed = _stage_comments(bot_comments, number)
    checklists: dict[str, ChecklistRecord] = {
        s: ChecklistRecord.of(c.id, parse_progress(c.body)) for s, c in listed.items()
    }
    if not facts.comments_complete:
        for stage, known in state.checklists.items():
            checklists.setdefault(stage, known)
    posted_comments = set(checklists)
    progress: dict[str, Progress] = {s: r.progress for s, r in checklists.items()}
    record = state.stages
    deployed = record.deployed or (facts.newest_deployment is not None and facts.newest_deployment.succeeded)
    stage_facts = StageFacts(
        milestone_open=facts.milestone_open,
        has_due_date=bool(milestone.due_on_text),
        branch_exists=facts.branch_exists,
        candidates=facts.candidates,
        final_tag=facts.final_tag_exists,
        deployed=deployed,
        complete_checklists=frozenset(s for s, p in progress.items() if p.complete),
        mode=config.mode,
        milestone_created=local_date(milestone.created_at, tz),
        latest_candidate_sha=_latest_candidate_sha(facts),
    )
    first = advance(record, stage_facts, today)
    commands = run_commands(
        facts,
        first.record,
        stage_facts,
        state.comment_watermark,
        bot_comments=bot_comments,
        edited=run.edited_comments,
        tz=tz,
        today=today,
        roles=config.roles,
        freeze=state.freeze,
        freeze_configured=config.freeze is not None,
    )
    outcome = advance(commands.record, stage_facts, today)
    record = outcome.record
    held = outcome.held or first.held
    freeze = _freeze(facts, state.freeze, config, record, today, commands.freeze_requests, run)

    # What is still to be read: stage comments by id (a fact tick), feedback, pull requests.
    ticks = ticks_of(known_facts(facts, record, stage_facts.deployed, tz, today))
    to_read = comments_to_read(
        config.checklists, listed, checklists, ticks, first.returned_to_uat or outcome.returned_to_uat
    )
    monitor_began = record.began.get(MONITOR) if record.current == MONITOR else None
    retro_due = record.current == FUTURE_PLANNING and not facts.milestone_open and not state.retro_done
    milestone_items = facts.milestone_items
    wants = Wants(
        comment_ids=frozenset(to_read.values()) - facts.comments_read_by_id,
        feedback_since=(
            datetime.fromisoformat(f"{monitor_began}T00:00:00+00:00").astimezone(UTC)
            if monitor_began and facts.feedback_issues is None
            else None
        ),
        branch_pulls=(
            retro_due
            and facts.branch_pulls is None
            and any(i.is_pull_request and i.state == "open" for i in milestone_items)
        ),
    )
    if wants:
        return wants

    by_id = {c.id: c for c in facts.comments_by_id}
    to_edit: dict[str, Comment] = dict(listed)
    to_edit.update({stage: by_id[cid] for stage, cid in to_read.items() if cid in by_id})
    edits = fact_edits(to_edit, ticks)
    for stage, edit in edits.items():
        checklists[stage] = ChecklistRecord.of(edit.comment_id, parse_progress(edit.body))
        progress[stage] = checklists[stage].progress
    feedback = (
        _feedback(facts, config, monitor_began, state.feedback, version_text(version))
        if monitor_began
        else state.feedback
    )
    new_state = TrackingState(
        stages=record,
        comment_watermark=commands.watermark,
        feedback=feedback,
        retro_done=state.retro_done,
        past_gate=_past_gate(facts, state.past_gate, run.past_gate),
        checklists=checklists,
        comments_seen=state.comments_seen,
        overdue=overdue(facts, state.overdue, record, tz, today),
        freeze=freeze,
        tag_days=_tag_days(facts, state.tag_days, today),
        announced=state.announced,
    )

    # Stage comments due: every stage that began (not skipped) and has none yet. ``posted`` (in
    # the record) also guards against a comments listing that lags our own write.
    to_post = [s for s in STAGES if s in record.began and s not in posted_comments and s not in state.posted]
    new_state = replace(
        new_state,
        posted=tuple(s for s in STAGES if s in state.posted or s in posted_comments or s in to_post),
    )
    rendered = {
        s: render_stage_comment(number, version_text(version), config.checklists[s], ticks) for s in to_post
    }
    for stage, body in rendered.items():
        progress[stage] = ChecklistRecord.of(0, parse_progress(body)).progress  # bounded as recorded

    retro_body: str | None = None
    moves: tuple[CarryOverMove, ...] = ()
    if retro_due:
        figures, carried, moves = retrospective(
            facts, version, record, config, today, facts.branch_pulls or frozenset()
        )
        if not any(retro_marker(number) in c.body for c in bot_comments):
            retro_body = render_retrospective(number, figures, carried)
        new_state = replace(new_state, retro_done=True)

    written = facts.record.written if facts.record is not None else None
    seen = _comments_seen(facts, state.comments_seen)
    if seen != state.comments_seen and (
        written is None or state.comments_seen is None or record_json(new_state) != written
    ):
        # The read mark moves only with a change that rewrites the record anyway (or to record a
        # first one): a comment that changes nothing (a bot reply) is listed again next time
        # rather than costing a write.
        new_state = replace(new_state, comments_seen=seen)
    fp_progress = progress.get(FUTURE_PLANNING)
    close = (
        record.current == FUTURE_PLANNING
        and fp_progress is not None
        and fp_progress.complete
        and FUTURE_PLANNING in posted_comments
    )

    title = config.title(version)
    patch = IssuePatch()
    if tracking is not None:
        patch = IssuePatch(
            title=title if tracking.title != title else None,
            milestone=number
            if (tracking.milestone.number if tracking.milestone else None) != number
            else None,
            close=close and tracking.state == "open",
        )
    warnings = [config_error_warning(run.config_error, run.config_valid)] if run.config_error else []
    duplicate = duplicate_warning(facts, version)
    warnings += [w for w in (duplicate, held) if w]
    warnings += run.announce_warnings
    return ReleasePlan(
        milestone_number=number,
        version=version_text(version),
        stage=record.current,
        state=new_state,
        initial_record=(
            replace(new_state, posted=tuple(s for s in new_state.posted if s not in rendered))
            if facts.record is None
            else None
        ),
        written=written,
        title=title,
        label=config.tracking_label,
        create_issue=tracking is None,
        issue_patch=patch,
        add_label=tracking is not None and config.tracking_label not in tracking.labels,
        stage_comments=tuple(rendered.items()),
        progress=progress,
        edits=tuple(edits.values()),
        retrospective=retro_body,
        moves=moves,
        answers=commands.answers,
        publish_allowed=config.mode != STRICT or index_of(record.current or STAGES[0]) >= index_of(DEPLOY),
        notes_owner=_notes_owner(facts),
        duplicates=_duplicates(facts),
        view=ViewInputs(facts, version, config, tuple(warnings),
                        (("Release calendar (iCalendar)", run.calendar_url),) if run.calendar_url else ()),
        next_change=next_change(facts, new_state, config, today),
    )


def with_posted_comment(
    state: TrackingState,
    stage: str,
    comment_id: int,
    progress: Progress,
    updated_at: datetime | None,
    new_issue: bool,
) -> TrackingState:
    """The state once a stage comment is posted: recorded with its id (the next read need not list
    it again). On a new issue the read mark starts at the bot's own comments (a new issue has no
    comment but ours, and any posted within the listing margin of them)."""
    state = replace(state, checklists={**state.checklists, stage: ChecklistRecord.of(comment_id, progress)})
    if new_issue and updated_at is not None:
        mark = github_time(updated_at)
        assert mark is not None
        state = replace(state, comments_seen=max(state.comments_seen or mark, mark))
    return state


@dataclass(frozen=True)
class DeletedPlan:
    """The milestone is gone: a note on the tracking issue (once) and the issue closed."""

    issue: int
    note: str | None


def plan_deleted(facts: ReleaseFacts) -> DeletedPlan | None:
    tracking = facts.tracking_issue
    if tracking is None or tracking.state != "open":
        return None
    marker = closed_marker(facts.milestone_number)
    already = any(c.author == facts.bot_login and marker in c.body for c in facts.tracking_comments)
    match = re.search(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?", tracking.title)
    version = match.group(0) if match else "?"
    return DeletedPlan(
        tracking.number, None if already else render_deleted_note(facts.milestone_number, version)
    )
