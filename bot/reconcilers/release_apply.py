"""The release plan performed (``bot.core.release_plan.ReleasePlan``): every write of one reconcile.

Order of writes, chosen so a crash at any point is repaired by the next run without duplicates:
record (create, before anything points at it) → tracking issue (create) → stage comments (found by
marker) → fact ticks → retrospective (marker) → carry-over moves → reactions and replies (reply
marker) → announcements (``bot.reconcilers.release_announce``: sent, then recorded at once by) →
record update (marks the commands handled) → body/title update (the view).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.release_plan import DeletedPlan, ReleasePlan, record_json, with_posted_comment
from bot.core.release_record import render_record
from bot.core.release_types import ReleaseFacts
from bot.core.release_view import NotesSummary
from bot.core.stages import STAGE_TITLES
from bot.core.tracking import TrackingState, render_reply
from bot.github import accounting
from bot.github import release_writes as writes
from bot.github.release_record_io import default_head_sha, write_record
from bot.reconcilers.context import JobContext
from bot.reconcilers.reply_throttle import may_reply

# Sends the announcements due and returns the state with them recorded (bot.reconcilers.release_announce).
Announce = Callable[[TrackingState, int], TrackingState]


def tracking_hint_key(repo_id: int, milestone_number: int) -> str:
    """Store key of the tracking issue number the bot created (a cache against listing lag)."""
    return f"release:tracking:{repo_id}@{milestone_number}"


def record_hint_key(repo_id: int, milestone_number: int) -> str:
    """Store key of the release record's check run id (the body's pointer is the fallback)."""
    return f"release:record:{repo_id}@{milestone_number}"


@dataclass
class Applied:
    writes: int = 0
    record_id: int | None = None
    changed_body: bool = False


class ReleaseApply:
    """Performs one plan; counts its writes and keeps the record's id as it is created."""

    def __init__(self, ctx: JobContext, facts: ReleaseFacts, plan: ReleasePlan, repo_id: int) -> None:
        self.ctx, self.facts, self.plan, self.repo_id = ctx, facts, plan, repo_id
        self.done = Applied(record_id=facts.record.check_run_id if facts.record is not None else None)

    def run(self, notes: NotesSummary | None, announce: Announce | None = None) -> Applied:
        ctx, facts, plan = self.ctx, self.facts, self.plan
        gh, repo = ctx.gh, ctx.repo_full_name
        state, written = plan.state, plan.written
        if plan.initial_record is not None:
            # The record first, before anything points at it. It does not claim the stage comments
            # not posted yet (a crash right after would then never post them).
            self._write_record(plan.initial_record, None)
            written = record_json(plan.initial_record)
        tracking = facts.tracking_issue
        if tracking is None:
            created = writes.open_issue(gh, repo, plan.title, plan.body(state, notes, self.done.record_id),
                                        [plan.label], plan.milestone_number)
            self._count()
            ctx.store.set_state(tracking_hint_key(self.repo_id, plan.milestone_number), created.number)
            number, current_body = created.number, None
            self.done.changed_body = True
        else:
            number, current_body = tracking.number, tracking.body
            if plan.add_label:
                writes.add_labels(gh, repo, number, [plan.label])
                self._count()
        for stage, body in plan.stage_comments:
            comment = writes.post_comment(gh, repo, number, body)
            self._count()
            if comment is not None:
                state = with_posted_comment(
                    state,
                    stage,
                    comment.id,
                    plan.progress[stage],
                    comment.updated_at,
                    new_issue=tracking is None,
                )
        for edit in plan.edits:  # before the body, which shows their progress
            writes.update_comment(gh, repo, edit.comment_id, edit.body)
            self._count()
        if plan.retrospective is not None:
            writes.create_comment(gh, repo, number, plan.retrospective)
            self._count()
        if plan.moves:
            # The body below is rendered from the items before the moves: the echo of a move
            # (its ``issues`` webhook) must reconcile once more (bot.reconcilers.echoes).
            accounting.needs_second_look()
        for move in plan.moves:
            if move.to_milestone is not None:
                writes.update_issue(gh, repo, move.item, {"milestone": move.to_milestone})
                self._count()
        self._answer(number)
        if announce is not None:  # sent right before the record that remembers them
            state = announce(state, number)
        if record_json(state) != written:
            self._write_record(state, self.done.record_id)
        # The body last: only a view (of the record and the facts), whoever last edited it.
        if current_body is not None:
            body = plan.body(state, notes, self.done.record_id)
            patch = plan.issue_patch.fields()
            self.done.changed_body = current_body != body
            if self.done.changed_body:
                patch["body"] = body
            if patch:
                writes.update_issue(gh, repo, number, patch)
                self._count()
        return self.done

    def _answer(self, number: int) -> None:
        """Answers before the record: its watermark marks the commands as handled, so a crash in
        between re-runs them (a 👍 is idempotent on GitHub; a reply is found by its marker)."""
        gh, repo = self.ctx.gh, self.ctx.repo_full_name
        for answer in self.plan.answers:
            if answer.accepted:
                writes.react(gh, repo, answer.comment_id, "+1")
                self._count()
            if answer.reply and may_reply(self.ctx.store, repo, number, answer.author):
                writes.create_comment(
                    gh, repo, number, render_reply(answer.comment_id, answer.author, answer.reply)
                )
                self._count()
            elif answer.reply:
                # Throttled (bot.reconcilers.reply_throttle): seen, not answered again.
                writes.react(gh, repo, answer.comment_id, "eyes")
                self._count()

    def _write_record(self, state: TrackingState, existing_id: int | None) -> None:
        """Create or update the release record (the App's check run) and remember its id."""
        output = render_record(
            self.plan.milestone_number,
            self.plan.version,
            state.to_json(),
            STAGE_TITLES.get(state.stages.current or "", "not started"),
        )
        head = None
        if existing_id is None:
            head = self.facts.branch_sha or default_head_sha(self.ctx.gh, self.ctx.repo_full_name)
        self.done.record_id = write_record(
            self.ctx.gh, self.ctx.repo_full_name, self.plan.milestone_number, output, existing_id, head
        )
        self._count()
        if existing_id is None:
            self.ctx.store.set_state(
                record_hint_key(self.repo_id, self.plan.milestone_number), self.done.record_id
            )

    def _count(self) -> None:
        self.done.writes += 1


def apply_deleted(ctx: JobContext, plan: DeletedPlan) -> None:
    """The milestone is gone: say so once on the tracking issue, then close it."""
    if plan.note is not None:
        writes.create_comment(ctx.gh, ctx.repo_full_name, plan.issue, plan.note)
    writes.update_issue(
        ctx.gh, ctx.repo_full_name, plan.issue, {"state": "closed", "state_reason": "not_planned"}
    )
