"""The ``release:{repo_id}@{milestone}`` reconciler: tracking issue, stage comments, retrospective.

Read the facts once (``bot.github.release_facts`` → frozen ``ReleaseFacts``), decide with the pure
plan (``bot.core.release_plan.plan_release``), sync the notes (``bot.reconcilers.release_notes``),
apply only the difference (``bot.reconcilers.release_apply``, in the documented write order). What
the bot remembers (stage, dates, UAT verdict, command watermark) lives in the release record, a
check run only the App can write (``bot.core.release_record``), found again from an empty store
through the pointer in the tracking issue body (verified); the body is only a view of record and
facts, so anyone's edit of it is rendered away, and a reconcile that finds nothing new writes nothing.

Commands (``bot.core.release_commands``): every comment on the tracking issue newer than the
record's watermark is read for `/stage`, `/uat`, `/help` (intake's ``comment_ids`` hints only wake
the job; the watermark, not the hint, decides what is new, so a missed event is caught up and an
edited old comment never replays). A comment edited before the bot read it runs nothing: GitHub
does not say who edited it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.core.freeze.state import FreezeState
from bot.core.release_plan import ReleasePlan, RunInputs, plan_deleted, plan_release
from bot.core.release_types import ReleaseFacts, Wants
from bot.core.release_view import NotesSummary, config_error_warning
from bot.core.tracking import TrackingState, reply_marker
from bot.core.versions import PatternError
from bot.github.errors import GithubException
from bot.github.notes_facts import NotesInputs
from bot.github.release_facts import read_release_facts, read_wanted, with_deployment
from bot.jobs import JobSpec, comment_digests, comment_was_edited, parse_key, release_key
from bot.reconcilers.audit import audit_entries
from bot.reconcilers.context import JobContext
from bot.reconcilers.freeze import reported, sync_release_freeze
from bot.reconcilers.release_announce import Announcer, announce_urls, channel_warnings
from bot.reconcilers.release_apply import ReleaseApply, apply_deleted, record_hint_key, tracking_hint_key
from bot.reconcilers.release_discovery import stages_key
from bot.reconcilers.release_notes import sync_release_notes

__all__ = ["config_error_warning", "reconcile", "record_hint_key", "reply_marker", "tracking_hint_key"]

MAX_PLAN_ROUNDS = 4  # roles, then the stage-dependent reads, then the plan: three in the worst case


def utc_now() -> datetime:
    """The clock, read once per run for the dates the bot records (a stage began, a due date passed)."""
    return datetime.now(UTC)


def reconcile(ctx: JobContext) -> None:
    _kind, repo_id, number = parse_key(ctx.job.key)
    assert number is not None
    known = ctx.store.get_state(tracking_hint_key(repo_id, number)) if ctx.store is not None else None
    known_record = ctx.store.get_state(record_hint_key(repo_id, number)) if ctx.store is not None else None
    try:
        facts = read_release_facts(
            ctx.gh,
            ctx.repo_full_name,
            number,
            ctx.bot_login,
            ctx.repo_config.releases,
            known_tracking_number=known if isinstance(known, int) else None,
            app_id=ctx.app_id,
            known_record_id=known_record if isinstance(known_record, int) else None,
        )
    except PatternError as exc:
        ctx.log.error("release %s: unusable release pattern: %s", ctx.job.key, exc)
        return
    if facts.milestone is None:
        # An abandoned release (milestone deleted) freezes nothing any more.
        sync_release_freeze(ctx, repo_id, number, None, None, _recorded_freeze(facts))
        deleted = plan_deleted(facts)
        if deleted is not None:
            apply_deleted(ctx, deleted)
            stage = facts.record.state.stages.current if facts.record is not None else None
            ctx.log.info(
                "release %s: milestone deleted; tracking issue #%s closed (stage was %s)",
                ctx.job.key,
                deleted.issue,
                stage,
            )
        return
    if facts.version_obj is None:
        # Renamed to something that is not a version: no longer a release, so it freezes nothing.
        sync_release_freeze(ctx, repo_id, number, None, None, _recorded_freeze(facts))
        ctx.log.info(
            "release %s: milestone %r is not a version; nothing to track", ctx.job.key, facts.milestone_title
        )
        return
    if facts.tracking_issue is None and not facts.milestone_open:
        # Past releases are left alone: no tracking issue, no retrospective after the fact.
        ctx.log.info("release %s: closed milestone without a tracking issue; left alone", ctx.job.key)
        return
    ReleaseRun(ctx, facts, repo_id).run()


def _recorded_freeze(facts: ReleaseFacts) -> FreezeState | None:
    """The release's freeze as its record held it before this reconcile."""
    return facts.record.state.freeze if facts.record is not None else None


class ReleaseRun:
    """One reconcile of one release: read, plan, notes, apply."""

    def __init__(self, ctx: JobContext, facts: ReleaseFacts, repo_id: int) -> None:
        self.ctx = ctx
        self.facts = facts
        self.repo_id = repo_id
        self.settings = ctx.repo_config.release_settings()
        if not self.settings.timezone_known:
            ctx.log.warning("releases.timezone %r is unknown; using UTC", self.settings.timezone_name)
        self.today = utc_now().astimezone(self.settings.tz).date().isoformat()
        self.notes_error: GithubException | None = None
        self.plan: ReleasePlan | None = None

    def run(self) -> None:
        self.facts = with_deployment(self.ctx.gh, self.facts, self.settings.monitor_environment)
        plan = self.plan = self._plan()
        # Of milestones naming the same version, the oldest keeps the release notes: two drafts
        # for one tag would fight (GitHub refuses the second release of a tag).
        notes = self._sync_notes() if plan.notes_owner else None
        was_frozen = _recorded_freeze(self.facts)
        # Of milestones naming one version, the one that keeps the notes announces too.
        announcer = Announcer(self.ctx, self.facts, self.settings, notes) if plan.notes_owner else None
        applied = ReleaseApply(self.ctx, self.facts, plan, self.repo_id).run(notes, announcer)
        sync_release_freeze(
            self.ctx, self.repo_id, plan.milestone_number, plan.state.freeze, applied.record_id, was_frozen
        )
        self._wake_at(plan.next_change)
        if applied.changed_body:
            self._wake_duplicates(plan)
        self._remember_stage(plan.stage)
        if self.notes_error is not None:
            raise self.notes_error
        if announcer is not None and announcer.error is not None:
            raise announcer.error
        self.ctx.log.info(
            "release %s v%s: stage %s, %d write(s)",
            self.ctx.job.key,
            plan.version,
            plan.stage,
            applied.writes,
        )

    def _plan(self) -> ReleasePlan:
        """Plan; when the plan needs more facts (roles, stage-dependent reads), read them and plan again."""
        run = self._run_inputs()
        state = self.facts.record.state if self.facts.record is not None else TrackingState()
        for _round in range(MAX_PLAN_ROUNDS):
            planned = plan_release(self.facts, state, self.settings, self.today, run)
            if not isinstance(planned, Wants):
                return planned
            self.facts = read_wanted(self.ctx.gh, self.facts, planned, self.ctx.roles.holds)
        raise RuntimeError(
            f"release {self.ctx.job.key}: the plan still wants facts after {MAX_PLAN_ROUNDS} reads"
        )

    def _run_inputs(self) -> RunInputs:
        digests = comment_digests(self.ctx.job.hints or {})
        edited = frozenset(
            c.id
            for c in self.facts.tracking_comments
            if comment_was_edited(c.created_at_text, c.updated_at_text, c.body, digests.get(c.id))
        )
        return RunInputs(
            bot_login=self.ctx.bot_login,
            config_error=str(self.ctx.config_error) if self.ctx.config_error else None,
            config_valid=self.ctx.config_valid,
            edited_comments=edited,
            past_gate=self._past_gate(),
            freeze_reports=reported(self.ctx),
            calendar_url=self._calendar_url(),
            announce_warnings=channel_warnings(
                self.ctx.repo_config.announce.channels, announce_urls(self.ctx)
            ),
        )

    def _calendar_url(self) -> str | None:
        """The repository's release calendar feed, linked from the body (None without Services)."""
        link = getattr(self.ctx.services, "calendar_link", None)
        return link(self.ctx.repo_full_name) if callable(link) else None

    def _past_gate(self) -> tuple[str, ...]:
        """The gate's audit of the release branch (bypass merges, direct pushes), from the bot's store."""
        branch = self.facts.branch_name
        if not branch or not self.facts.branch_exists:
            return ()
        texts: list[str] = []
        for entry in audit_entries(self.ctx.store, self.ctx.repo_full_name, branch):
            if entry.get("kind") == "bypass_merge" and isinstance(entry.get("number"), int):
                texts.append(f"#{entry['number']}")
            elif entry.get("sha"):
                texts.append(str(entry["sha"])[:40])
        return tuple(texts)

    def _sync_notes(self) -> NotesSummary | None:
        facts, plan = self.facts, self.plan
        assert plan is not None and facts.version_obj is not None
        inputs = NotesInputs(
            milestone_number=facts.milestone_number,
            version=facts.version_obj,
            branch=facts.release_branch,
            tag_names=facts.tag_names,
            items=facts.milestone_items,
            releases=facts.releases if facts.releases_complete else None,
        )
        try:
            return sync_release_notes(self.ctx, inputs, publish_allowed=plan.publish_allowed).summary()
        except GithubException as exc:
            # The tracking issue must not wait for the notes: apply it, then let the job fail with
            # this error (``run`` re-raises it) so the queue retries or ends it as it decides.
            self.ctx.log.warning("release %s: release notes failed: %s", self.ctx.job.key, exc)
            self.notes_error = exc
            return None

    def _wake_at(self, moment: datetime | None) -> None:
        """Ask the queue to run this release again when its facts change by time alone (the plan's
        ``next_change``: a freeze's first day, the day after the due date), so the freeze, 'late' and
        the late announcement come on time rather than with the next event. The moment is measured
        from the clock the plan read, so it lands on the queue's clock as 'that many seconds from
        now'. Scheduled after the writes: a run that fails before them is retried and asks again."""
        ctx = self.ctx
        if moment is None or ctx.schedule is None:
            return
        delay = (moment - utc_now()).total_seconds()
        spec = JobSpec(ctx.job.key, ctx.job.installation_id, ctx.repo_full_name, "wakeup.timed")
        outcome = ctx.schedule(spec, time.time() + delay)
        ctx.log.info(
            "release %s: facts change by time at %s (in %.0f s): wake-up %s",
            ctx.job.key,
            moment.isoformat(),
            delay,
            outcome,
        )

    def _remember_stage(self, stage: str | None) -> None:
        """Keep the wake-up map milestone -> stage (events routed to ``repo:`` wake releases by stage)."""
        key = stages_key(self.repo_id)
        current = self.ctx.store.get_state(key)
        stages = dict(current) if isinstance(current, dict) else {}
        name = str(self.facts.milestone_number)
        if stages.get(name) == stage:
            return
        stages[name] = stage
        self.ctx.store.set_state(key, stages)

    def _wake_duplicates(self, plan: ReleasePlan) -> None:
        """A duplicate version milestone must show the warning too: reconcile it (only after we wrote,
        so two duplicates cannot wake each other forever)."""
        if plan.duplicates:
            self.ctx.enqueue(
                [
                    JobSpec(
                        release_key(self.repo_id, n),
                        self.ctx.job.installation_id,
                        self.ctx.repo_full_name,
                        "release.duplicate_version",
                    )
                    for n in plan.duplicates
                ]
            )
