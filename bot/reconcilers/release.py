"""The ``release:{repo_id}@{milestone}`` reconciler: tracking issue, stage comments, retrospective.

Read the facts once (``bot.github.release_facts``), decide with the pure core (stages, checklists,
tracking renderers), apply only the difference. What the bot remembers (stage, dates, UAT verdict,
command watermark) lives in the release record, a check run only the App can write
(``bot.core.release_record``), found again from an empty store through the pointer in the tracking
issue body (verified); the body is only a view of record and facts, so anyone's edit of it is
rendered away, and a reconcile that finds nothing new writes nothing.

Commands: every comment on the tracking issue newer than the record's watermark is read for
`/stage`, `/uat`, `/help` (intake's ``comment_ids`` hints only wake the job; the watermark, not the
hint, decides what is new, so a missed event is caught up and an edited old comment never
replays). A comment edited before the bot read it (``updated_at`` after ``created_at``) is no
command: GitHub does not say who edited it. A comment already answered (reply marker) is not
answered again.

Order of writes, chosen so a crash at any point is repaired by the next run without duplicates:
record (create, before anything points at it) → tracking issue (create) → stage comments (found by
marker) → retrospective (marker) → carry-over moves → reactions and replies (reply marker) →
record update (marks the commands handled) → body/title update (the view).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from github import GithubException

from bot.core.checklist_facts import ticks_of
from bot.core.checklists import Progress, all_checklists, parse_progress
from bot.core.commands import parse_commands
from bot.core.due_dates import github_due_day
from bot.core.release_record import render_record
from bot.core.stages import (
    DEPLOY,
    FUTURE_PLANNING,
    MONITOR,
    STAGE_TITLES,
    STAGES,
    STRICT,
    StageFacts,
    StageRecord,
    advance,
    index_of,
    record_uat,
    request_stage,
)
from bot.core.tracking import (
    HELP_TEXT,
    MAX_PAST_GATE,
    CarryOver,
    ChecklistRecord,
    ItemRef,
    RetroFigures,
    Scope,
    TrackingState,
    TrackingView,
    closed_marker,
    neutralize,
    render_deleted_note,
    render_reply,
    render_retrospective,
    render_stage_comment,
    render_tracking_body,
    reply_marker,
    retro_marker,
    stage_of_comment,
)
from bot.core.versions import (
    PatternError,
    duplicate_versions,
    next_on_line,
    next_release,
    rc_tag,
    version_text,
)
from bot.github import release_writes as writes
from bot.github.paging import list_all
from bot.github.release_facts import ReleaseFacts, api_get, parse_time, read_release_facts, repo_path
from bot.github.release_record_io import default_head_sha, write_record
from bot.jobs import JobSpec, comment_digests, comment_was_edited, parse_key, release_key
from bot.reconcilers.context import JobContext
from bot.reconcilers.release_fact_items import fact_edits, known_facts
from bot.reconcilers.release_roles import roles_for
from bot.reconcilers.reply_throttle import may_reply

COMMANDS = ("stage", "uat", "help")


class _Milestone:
    """Adapter so the version helpers (which want .number/.title) accept raw milestone dicts."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.number = int(raw["number"])
        self.title = str(raw.get("title") or "")


def utc_now() -> datetime:
    """The clock, read once per run for the dates the bot records (a stage began, a due date passed)."""
    return datetime.now(UTC)


def _timezone(name: str, ctx: JobContext) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.log.warning("releases.timezone %r is unknown; using UTC", name)
        return ZoneInfo("UTC")


def _local_date(value: str | None, tz: ZoneInfo) -> str | None:
    moment = parse_time(value)
    return moment.astimezone(tz).date().isoformat() if moment else None


def _due_date(milestone: dict[str, Any]) -> str | None:
    """The calendar day GitHub shows for the milestone (a US Pacific day: bot.core.due_dates)."""
    return github_due_day(milestone.get("due_on"))


_PROBLEM_RE = re.compile(r"^(?P<where>\S+?):(?P<line>\d+): (?P<message>.+)$")
MAX_CONFIG_PROBLEMS = 10


def config_error_warning(error: str, last_valid_in_use: bool) -> str:
    """The configuration problems as people read them on the tracking issue: file, line, message.

    The loader renders one problem per line as ``owner/repo:path:LINE: dotted.path: message``.
    The messages quote values from the file (user text): neutralized, bounded.
    """
    problems: list[str] = []
    for raw in error.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _PROBLEM_RE.match(line)
        if match:
            problems.append(f"`{neutralize(match['where'], 200)}` line {match['line']}: {neutralize(match['message'], 300)}")
        else:
            problems.append(neutralize(line, 300))
    shown = problems[:MAX_CONFIG_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(f"and {len(problems) - len(shown)} more (run `release-bot check-config`)")
    in_use = ("the last valid configuration is in use" if last_valid_in_use
              else "no valid configuration was ever seen: the defaults are in use and the merge gate fails closed")
    return f"Configuration error in `.github/release-bot.yml` ({in_use}): " + "; ".join(shown or ["unreadable"])


EDITED_REPLY = ("This comment was edited before release-bot read it, so its commands were not run: GitHub does "
                "not say who edits a comment. Post the command again in a new comment.")


def _edited(comment: dict[str, Any], digests: dict[int, str]) -> bool:
    """Changed since it was posted (``bot.jobs.comment_was_edited``)."""
    return comment_was_edited(str(comment.get("created_at") or ""), str(comment.get("updated_at") or ""),
                              str(comment.get("body") or ""), digests.get(int(comment["id"])))


def _author(raw: dict[str, Any]) -> str:
    return str((raw.get("user") or {}).get("login") or "")


def _item_ref(raw: dict[str, Any]) -> ItemRef:
    return ItemRef(int(raw["number"]), str(raw.get("title") or ""), bool(raw.get("pull_request")), _author(raw))


def _is_merged(raw: dict[str, Any]) -> bool:
    return bool((raw.get("pull_request") or {}).get("merged_at"))


def _scope(items: list[dict[str, Any]]) -> Scope:
    issues = [i for i in items if not i.get("pull_request")]
    prs = [i for i in items if i.get("pull_request")]
    return Scope(
        open_issues=sum(1 for i in issues if i.get("state") == "open"),
        closed_issues=sum(1 for i in issues if i.get("state") != "open"),
        merged_prs=sum(1 for p in prs if _is_merged(p)),
        open_prs=sum(1 for p in prs if p.get("state") == "open"),
        closed_unmerged_prs=sum(1 for p in prs if p.get("state") != "open" and not _is_merged(p)),
    )


# ---------------------------------------------------------------------------------------------


def reconcile(ctx: JobContext) -> None:
    _kind, repo_id, number = parse_key(ctx.job.key)
    assert number is not None
    known = ctx.store.get_state(tracking_hint_key(repo_id, number)) if ctx.store is not None else None
    known_record = ctx.store.get_state(record_hint_key(repo_id, number)) if ctx.store is not None else None
    try:
        facts = read_release_facts(ctx.gh, ctx.repo_full_name, number, ctx.bot_login, ctx.config,
                                   known_tracking_number=known if isinstance(known, int) else None,
                                   app_id=ctx.app_id,
                                   known_record_id=known_record if isinstance(known_record, int) else None)
    except PatternError as exc:
        ctx.log.error("release %s: unusable release pattern: %s", ctx.job.key, exc)
        return
    if facts.milestone is None:
        _milestone_deleted(ctx, facts)
        return
    if facts.version_obj is None:
        ctx.log.info("release %s: milestone %r is not a version; nothing to track", ctx.job.key, facts.milestone_title)
        return
    if facts.tracking_issue is None and not facts.milestone_open:
        # Past releases are left alone: no tracking issue, no retrospective after the fact.
        ctx.log.info("release %s: closed milestone without a tracking issue; left alone", ctx.job.key)
        return
    ReleaseRun(ctx, facts, repo_id).run()


def tracking_hint_key(repo_id: int, milestone_number: int) -> str:
    """Store key of the tracking issue number the bot created (a cache against listing lag)."""
    return f"release:tracking:{repo_id}@{milestone_number}"


def record_hint_key(repo_id: int, milestone_number: int) -> str:
    """Store key of the release record's check run id (the body's pointer is the fallback)."""
    return f"release:record:{repo_id}@{milestone_number}"


def _milestone_deleted(ctx: JobContext, facts: ReleaseFacts) -> None:
    tracking = facts.tracking_issue
    if tracking is None or tracking.get("state") != "open":
        return
    marker = closed_marker(facts.milestone_number)
    already = any(
        _author(c) == ctx.bot_login and marker in (c.get("body") or "") for c in facts.tracking_comments
    )
    state = TrackingState.from_json(facts.record.state) if facts.record else TrackingState()
    version = _version_from_title(tracking.get("title") or "") or "?"
    if not already:
        writes.create_comment(ctx.gh, ctx.repo_full_name, tracking["number"], render_deleted_note(facts.milestone_number, version))
    writes.update_issue(ctx.gh, ctx.repo_full_name, tracking["number"], {"state": "closed", "state_reason": "not_planned"})
    ctx.log.info("release %s: milestone deleted; tracking issue #%s closed (stage was %s)", ctx.job.key,
                 tracking["number"], state.stages.current)


def _version_from_title(title: str) -> str | None:
    match = re.search(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?", title)
    return match.group(0) if match else None


class ReleaseRun:
    """One reconcile of one release (holds the facts and the decisions while they are applied)."""

    def __init__(self, ctx: JobContext, facts: ReleaseFacts, repo_id: int) -> None:
        self.ctx = ctx
        self.facts = facts
        self.repo_id = repo_id
        self.config = ctx.config or {}
        self.releases_cfg: dict[str, Any] = self.config.get("releases") or {}
        self.tz_name = str(self.releases_cfg.get("timezone") or "UTC")
        self.tz = _timezone(self.tz_name, ctx)
        self.today = utc_now().astimezone(self.tz).date().isoformat()
        self.mode = STRICT if self.releases_cfg.get("mode") == STRICT else "agile"
        self.version = facts.version_obj
        assert self.version is not None
        self.checklists = all_checklists(self.config)
        self.bot = ctx.bot_login
        self.writes = 0
        self.notes_error: GithubException | None = None
        self.record_id: int | None = facts.record.check_run_id if facts.record is not None else None

    # -- facts -----------------------------------------------------------------------------
    def _recorded(self) -> TrackingState:
        """What the release record holds (empty without one): never the tracking issue body."""
        record = self.facts.record
        return TrackingState.from_json(record.state) if record is not None else TrackingState()

    def _bot_comments(self) -> list[dict[str, Any]]:
        return [c for c in self.facts.tracking_comments if _author(c) == self.bot]

    def _comments_seen(self) -> str | None:
        """The newest ``updated_at`` among the comments read (the next partial listing starts there)."""
        stamps = [parse_time(str(c.get("updated_at"))) for c in self.facts.tracking_comments]
        previous = parse_time(self._recorded().comments_seen)
        known = [t for t in (*stamps, previous) if t is not None]
        return max(known).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if known else None

    def _stage_comments(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for comment in sorted(self._bot_comments(), key=lambda c: c["id"]):
            stage = stage_of_comment(comment.get("body"), self.facts.milestone_number)
            if stage and stage not in found:
                found[stage] = comment
        return found

    def _deployed(self, record: StageRecord) -> bool:
        """A successful deployment of the final tag to the monitor environment (read only while it matters)."""
        if record.deployed or not self.facts.final_tag_exists:
            return record.deployed
        if record.current is not None and index_of(record.current) >= index_of(MONITOR):
            return False
        environment = str(self.releases_cfg.get("monitor_environment") or "production")
        base = repo_path(self.ctx.repo_full_name)
        try:
            deployments = api_get(
                self.ctx.gh,
                f"{base}/deployments",
                {"ref": self.facts.final_tag_name, "environment": environment, "per_page": 10},
            ) or []
        except GithubException as exc:
            if exc.status != 404:  # no deployments API here (the repository itself answered): none
                raise
            deployments = []
        if not deployments:
            return False
        newest = max(deployments, key=lambda d: d.get("id", 0))
        statuses = api_get(self.ctx.gh, f"{base}/deployments/{newest['id']}/statuses", {"per_page": 10}) or []
        return any(s.get("state") == "success" for s in statuses)

    def _feedback(self, record: StageRecord, known: tuple[int, ...]) -> tuple[int, ...]:
        """Issues opened since Monitor began that name the version or carry a feedback label."""
        began = record.began.get(MONITOR)
        if record.current != MONITOR or not began:
            return known
        labels = {str(x).lower() for x in self.releases_cfg.get("feedback_labels") or ["regression"]}
        base = repo_path(self.ctx.repo_full_name)
        since = f"{began}T00:00:00Z"
        recent = api_get(
            self.ctx.gh,
            f"{base}/issues",
            {"state": "all", "since": since, "sort": "created", "direction": "desc", "per_page": 100},
        ) or []
        text = version_text(self.version)
        # '1.4.0' or 'v1.4.0' as a whole version: not '11.4.0', '1.4.01' or '1.4.0.1'.
        names_version = re.compile(rf"(?<![\d.]){re.escape(text)}(?!\d|\.\d)")
        tracking = (self.facts.tracking_issue or {}).get("number")
        found = set(known)
        for issue in recent:
            if issue.get("pull_request") or issue.get("number") == tracking or _author(issue) == self.bot:
                continue
            if (issue.get("created_at") or "") < since:
                continue
            issue_labels = {str(lbl.get("name", "")).lower() for lbl in issue.get("labels") or []}
            if issue_labels & labels or names_version.search(f"{issue.get('title') or ''}\n{issue.get('body') or ''}"):
                found.add(int(issue["number"]))
        return tuple(sorted(found))

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> None:
        facts = self.facts
        tracking = facts.tracking_issue
        state = self._recorded()
        if facts.record is None and tracking is not None:
            # A tracking issue without its record (written by a version that kept the state in the
            # body, or its pointer edited away while the store was empty): start from the facts, as
            # a release seen for the first time does, and replay no old command — a sign-off given
            # long ago must not be applied to today's candidate.
            ids = [int(c["id"]) for c in facts.tracking_comments if isinstance(c.get("id"), int)]
            state = replace(state, comment_watermark=max(ids, default=0))
        # Stage comments: those listed now (new or edited since the last read), and — when only the
        # changed comments were listed — the unchanged ones as recorded in the state.
        listed = self._stage_comments()
        checklists: dict[str, ChecklistRecord] = {
            s: ChecklistRecord.of(int(c["id"]), parse_progress(c.get("body"))) for s, c in listed.items()
        }
        if not facts.comments_complete:
            for stage, known in state.checklists.items():
                checklists.setdefault(stage, known)
        stage_comments = set(checklists)
        progress: dict[str, Progress] = {s: r.progress for s, r in checklists.items()}
        complete = frozenset(s for s, p in progress.items() if p.complete)
        record = state.stages
        stage_facts = StageFacts(
            milestone_open=facts.milestone_open,
            has_due_date=bool((facts.milestone or {}).get("due_on")),
            branch_exists=facts.branch_exists,
            candidates=facts.candidates,
            final_tag=facts.final_tag_exists,
            deployed=self._deployed(record),
            complete_checklists=complete,
            mode=self.mode,
            milestone_created=_local_date((facts.milestone or {}).get("created_at"), self.tz),
        )
        first = advance(record, stage_facts, self.today)
        record, answers, watermark = self._commands(first.record, stage_facts, state.comment_watermark)
        outcome = advance(record, stage_facts, self.today)
        record = outcome.record
        held = outcome.held or first.held
        # Checklist items that are facts: ticked by the bot (bot.core.checklist_facts).
        ticks = ticks_of(known_facts(facts, record, stage_facts.deployed, self.tz, self.today))
        edits = fact_edits(self.ctx.gh, self.ctx.repo_full_name, self.checklists, listed, checklists, ticks,
                           first.returned_to_uat or outcome.returned_to_uat)
        for stage, edit in edits.items():
            checklists[stage] = ChecklistRecord.of(edit.comment_id, parse_progress(edit.body))
            progress[stage] = checklists[stage].progress
        feedback = self._feedback(record, state.feedback)
        new_state = TrackingState(stages=record, comment_watermark=watermark, feedback=feedback,
                                  retro_done=state.retro_done, past_gate=self._past_gate(state.past_gate),
                                  checklists=checklists, comments_seen=state.comments_seen,
                                  overdue=self._overdue(state.overdue, record))

        # Stage comments due: every stage that began (not skipped) and has none yet.
        # ``posted`` (in the body) also guards against a comments listing that lags our own write.
        to_post = [s for s in STAGES if s in record.began and s not in stage_comments and s not in state.posted]
        new_state = replace(new_state, posted=tuple(s for s in STAGES
                                                    if s in state.posted or s in stage_comments or s in to_post))
        rendered = {s: render_stage_comment(facts.milestone_number, version_text(self.version), self.checklists[s], ticks)
                    for s in to_post}
        for stage, body in rendered.items():
            progress[stage] = ChecklistRecord.of(0, parse_progress(body)).progress  # bounded as recorded

        facts.publish_allowed = self.mode != STRICT or index_of(record.current or STAGES[0]) >= index_of(DEPLOY)
        # Of milestones naming the same version, the oldest keeps the release notes: two drafts
        # for one tag would fight (GitHub refuses the second release of a tag).
        notes = self._sync_notes() if self._notes_owner() == facts.milestone_number else None

        retro_body: str | None = None
        moves: list[tuple[dict[str, Any], CarryOver, int | None]] = []
        if record.current == FUTURE_PLANNING and not facts.milestone_open and not state.retro_done:
            retro_body, moves = self._retrospective(record)
            new_state = replace(new_state, retro_done=True)

        title = self._title()
        written = dict(facts.record.state) if facts.record is not None else None
        seen = self._comments_seen()
        if seen != state.comments_seen and (written is None or state.comments_seen is None
                                            or new_state.to_json() != written):
            # The read mark moves only with a change that rewrites the record anyway (or to record a
            # first one): a comment that changes nothing (a bot reply) is listed again next time
            # rather than costing a write.
            new_state = replace(new_state, comments_seen=seen)
        fp_progress = progress.get(FUTURE_PLANNING)
        close = record.current == FUTURE_PLANNING and fp_progress is not None and fp_progress.complete \
            and FUTURE_PLANNING in stage_comments

        gh, repo = self.ctx.gh, self.ctx.repo_full_name
        label = str(self.releases_cfg.get("tracking_label") or "release-tracking")
        if facts.record is None:
            # The record first, before anything points at it. It must not claim stage comments that
            # are not posted yet (a crash right after would then never post them): the update at the
            # end of this run records them.
            initial = replace(new_state, posted=tuple(s for s in new_state.posted if s not in rendered))
            self._write_record(initial, None)
            written = initial.to_json()
        body = render_tracking_body(self._view(new_state, progress, notes, held))
        if tracking is None:
            tracking = writes.create_issue(gh, repo, title, body, [label], facts.milestone_number)
            self.writes += 1
            self.ctx.store.set_state(tracking_hint_key(self.repo_id, facts.milestone_number), int(tracking["number"]))
            changed_body = True
            patch: dict[str, Any] = {}
        else:
            patch = {}
            if tracking.get("title") != title:
                patch["title"] = title
            if ((tracking.get("milestone") or {}).get("number")) != facts.milestone_number:
                patch["milestone"] = facts.milestone_number  # moved out by someone: the tracking issue belongs here
            if close and tracking.get("state") == "open":
                patch["state"] = "closed"
                patch["state_reason"] = "completed"
            if label not in {lbl.get("name") for lbl in tracking.get("labels") or []}:
                writes.add_labels(gh, repo, tracking["number"], [label])
                self.writes += 1

        number = int(tracking["number"])
        for stage, comment_body in rendered.items():
            created = writes.create_comment(gh, repo, number, comment_body)
            self.writes += 1
            if isinstance(created, dict) and isinstance(created.get("id"), int):
                # Recorded with the record update below: the next read need not list it again.
                new_state = replace(new_state, checklists={**new_state.checklists,
                                                           stage: ChecklistRecord.of(created["id"], progress[stage])})
                stamp = parse_time(str(created.get("updated_at") or ""))
                if facts.tracking_issue is None and stamp is not None:
                    # A new issue has no comment but ours (and any posted within the listing margin of
                    # them): the read mark starts at them, so the next run need not record it.
                    mark = stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    new_state = replace(new_state, comments_seen=max(new_state.comments_seen or mark, mark))
        for edit in edits.values():  # before the body, which shows their progress
            writes.update_comment(gh, repo, edit.comment_id, edit.body)
            self.writes += 1
        if retro_body is not None and not any(retro_marker(facts.milestone_number) in (c.get("body") or "")
                                              for c in self._bot_comments()):
            writes.create_comment(gh, repo, number, retro_body)
            self.writes += 1
        for raw, _move, target in moves:
            if target is not None:
                writes.update_issue(gh, repo, int(raw["number"]), {"milestone": target})
                self.writes += 1
        # Answers before the record: its watermark marks the commands as handled, so a crash in
        # between re-runs them (a 👍 is idempotent on GitHub; a reply is found by its marker).
        for comment_id, author, accepted, reply in answers:
            if accepted:
                writes.react(gh, repo, comment_id, "+1")
                self.writes += 1
            if reply and may_reply(self.ctx.store, repo, number, author):
                writes.create_comment(gh, repo, number, render_reply(comment_id, author, reply))
                self.writes += 1
            elif reply:
                # Throttled (bot.reconcilers.reply_throttle): seen, not answered again.
                writes.react(gh, repo, comment_id, "eyes")
                self.writes += 1
        if new_state.to_json() != written:
            self._write_record(new_state, self.record_id)
        # The body last: only a view (of the record and the facts), whoever last edited it.
        if facts.tracking_issue is not None:
            body = render_tracking_body(self._view(new_state, progress, notes, held))
            changed_body = (tracking.get("body") or "") != body
            if changed_body:
                patch["body"] = body
            if patch:
                writes.update_issue(gh, repo, number, patch)
                self.writes += 1
        if changed_body:
            self._wake_duplicates()
        self._remember_stage(record.current)
        if self.notes_error is not None:
            raise self.notes_error
        self.ctx.log.info(
            "release %s v%s: stage %s, %d write(s)", self.ctx.job.key, version_text(self.version), record.current, self.writes
        )

    # -- pieces ----------------------------------------------------------------------------
    def _write_record(self, state: TrackingState, existing_id: int | None) -> None:
        """Create or update the release record (the App's check run) and remember its id."""
        stage = state.stages.current
        output = render_record(self.facts.milestone_number, version_text(self.version), state.to_json(),
                               STAGE_TITLES.get(stage or "", "not started"))
        head = None
        if existing_id is None:
            head = self.facts.branch_sha or default_head_sha(self.ctx.gh, self.ctx.repo_full_name)
        self.record_id = write_record(self.ctx.gh, self.ctx.repo_full_name, self.facts.milestone_number,
                                      output, existing_id, head)
        self.writes += 1
        if existing_id is None:
            self.ctx.store.set_state(record_hint_key(self.repo_id, self.facts.milestone_number), self.record_id)

    def _title(self) -> str:
        template = str(self.releases_cfg.get("tracking_issue_title") or "Release v{version}")
        # Plain replacement, not str.format: the template comes from the repository.
        return template.replace("{version}", version_text(self.version))[:256]

    def _commands(
        self, record: StageRecord, stage_facts: StageFacts, watermark: int
    ) -> tuple[StageRecord, list[tuple[int, str, bool, str | None]], int]:
        """Run the commands of comments newer than the watermark, oldest first (new comments only)."""
        answered = {
            int(m.group(1))
            for c in self._bot_comments()
            for m in [re.search(r"release-bot:reply:(\d+)", c.get("body") or "")]
            if m
        }
        answers: list[tuple[int, str, bool, str | None]] = []
        newest = watermark
        for comment in sorted(self.facts.tracking_comments, key=lambda c: c["id"]):
            cid = int(comment["id"])
            author = _author(comment)
            if cid <= watermark or author == self.bot or (comment.get("user") or {}).get("type") == "Bot":
                continue
            newest = max(newest, cid)
            commands = [c for c in parse_commands(comment.get("body")) if c.name in COMMANDS]
            if not commands:
                continue
            if _edited(comment, comment_digests(self.ctx.job.hints or {})):
                # Edited before the bot read it: GitHub does not say who edited a comment, so the
                # text may not be its author's. Commands are read from comments as first posted.
                reply_text = None if cid in answered else EDITED_REPLY
                answers.append((cid, author, False, reply_text))
                continue
            given = _local_date(str(comment.get("created_at") or ""), self.tz) or self.today
            replies: list[str] = []
            accepted_any = False
            for command in commands:
                record, accepted, reply = self._command(record, stage_facts, command.name, command.args, author, given)
                accepted_any = accepted_any or (accepted and not reply)
                if reply:
                    replies.append(reply)
            # 👍 when something was done; a reply for every refusal or answer (both for a mixed comment),
            # unless an earlier run already answered (it crashed before recording the watermark).
            reply_text = None if cid in answered else ("\n\n".join(replies) or None)
            answers.append((cid, author, accepted_any, reply_text))
        return record, answers, newest

    def _command(
        self, record: StageRecord, stage_facts: StageFacts, name: str, args: str, author: str, given: str
    ) -> tuple[StageRecord, bool, str | None]:
        """``given``: the comment's creation date (GitHub's, in the configured zone): the verdict's date."""
        if name == "help":
            return record, False, HELP_TEXT  # answered, not an action: no 👍
        if name == "stage":
            if not args:
                return record, False, "Usage: `/stage <name>`."
            allowed, rule = roles_for(self.ctx, author, "release_managers")
            if not allowed:
                return record, False, f"`/stage` is for release managers: {rule}."
            decision = request_stage(record, stage_facts, args)
            return decision.record, decision.accepted, decision.reply
        # /uat passed | /uat failed <reason>
        verb, _, reason = args.partition(" ")
        verb = verb.lower()
        if verb not in ("passed", "failed"):
            return record, False, "Usage: `/uat passed` or `/uat failed <reason>`."
        allowed, rule = roles_for(self.ctx, author, "qa")
        if not allowed:
            return record, False, f"`/uat` is for QA: {rule}."
        decision = record_uat(record, stage_facts, verb == "passed", author, given, reason)
        return decision.record, decision.accepted, decision.reply

    def _overdue(self, recorded: str | None, record: StageRecord) -> str | None:
        """The due date once it has passed with the release not shipped (sticky for that due date).

        Decided here, against today's date in the configured zone, and recorded in the body: the
        body shows 'late' from the record, so re-rendering never depends on the clock; the one write
        that records it happens on the first reconcile after the due date.
        """
        due = _due_date(self.facts.milestone or {})
        if due is None:
            return None
        if recorded == due:
            return due
        if self._shipped_date(record) is None and self.today > due:
            return due
        return None

    def _shipped_date(self, record: StageRecord) -> str | None:
        """When the release shipped: the published GitHub Release's date (a fact, in the configured
        zone), else the day the final tag was first seen (recorded when Deploy began)."""
        release = self.facts.published_release()
        if release is not None and release.get("published_at"):
            return _local_date(release.get("published_at"), self.tz)
        return record.began.get(DEPLOY)

    def _past_gate(self, known: tuple[str, ...]) -> tuple[str, ...]:
        """The gate's audit of the release branch (bypass merges, direct pushes), merged into what the
        body already records: the audit lives in the bot's store, the body outlives it."""
        branch = self.facts.branch_name
        if not branch or not self.facts.branch_exists:
            return known
        try:
            from bot.reconcilers.pr import audit_entries
        except ImportError:
            return known
        entries = list(known)
        for entry in audit_entries(self.ctx.store, self.ctx.repo_full_name, branch):
            if entry.get("kind") == "bypass_merge" and isinstance(entry.get("number"), int):
                text = f"#{entry['number']}"
            elif entry.get("sha"):
                text = str(entry["sha"])[:40]
            else:
                continue
            if text not in entries:
                entries.append(text)
        return tuple(entries[:MAX_PAST_GATE])

    def _notes_owner(self) -> int:
        facts = self.facts
        group = duplicate_versions([_Milestone(m) for m in facts.open_milestones],
                                   facts.conventions.milestone_pattern).get(self.version)
        numbers = [m.number for m in group or []]
        if facts.milestone_number not in numbers:
            return facts.milestone_number
        return min(numbers)

    def _sync_notes(self) -> Any:
        try:
            from bot.reconcilers.release_notes import sync_release_notes
        except ImportError:  # the notes reconciler is not installed in this build
            return None
        try:
            return sync_release_notes(self.ctx, self.facts)
        except GithubException as exc:
            # The tracking issue must not wait for the notes: apply it, then let the job fail with
            # this error (``run`` re-raises it) so the queue retries or ends it as it decides.
            self.ctx.log.warning("release %s: release notes failed: %s", self.ctx.job.key, exc)
            self.notes_error = exc
            return None

    def _retrospective(self, record: StageRecord) -> tuple[str, list[tuple[dict[str, Any], CarryOver, int | None]]]:
        facts = self.facts
        items = facts.milestone_items
        open_items = [i for i in items if i.get("state") == "open"]
        delivered = [i for i in items if (i.get("pull_request") and _is_merged(i)) or
                     (not i.get("pull_request") and i.get("state") == "closed" and i.get("state_reason") != "not_planned")]
        merged = [i for i in items if _is_merged(i)]
        contributors = tuple(sorted({_author(i) for i in merged if _author(i)}, key=str.lower))
        others = [_Milestone(m) for m in facts.open_milestones if m.get("number") != facts.milestone_number]
        line_target = next_on_line(self.version, others, self.config)
        any_target = next_release(self.version, others, self.config)
        moves: list[tuple[dict[str, Any], CarryOver, int | None]] = []
        into_branch_prs = self._open_prs_into_branch() if any(i.get("pull_request") for i in open_items) else set()
        for raw in open_items:
            into_branch = int(raw["number"]) in into_branch_prs
            target = line_target if into_branch else any_target
            moves.append((raw, CarryOver(_item_ref(raw), target.title if target else None), target.number if target else None))
        shipped = self._shipped_date(record)
        figures = RetroFigures(
            version=version_text(self.version),
            planned=len(items),
            delivered=len(delivered),
            slipped=len(open_items),
            merged_prs=len(merged),
            contributors=contributors,
            created_date=_local_date((facts.milestone or {}).get("created_at"), self.tz),
            shipped_date=shipped,
            due_date=_due_date(facts.milestone or {}),
            timezone=self.tz_name,
            overdue=shipped is None and self._overdue(None, record) is not None,
        )
        return render_retrospective(facts.milestone_number, figures, [m for _, m, _ in moves]), moves

    def _open_prs_into_branch(self) -> set[int]:
        """Numbers of open pull requests into the release branch (the issues listing has no base)."""
        if not self.facts.branch_name:
            return set()
        pulls = list_all(
            self.ctx.gh,
            f"{repo_path(self.ctx.repo_full_name)}/pulls",
            {"state": "open", "base": self.facts.branch_name},
            max_pages=20,
        )
        return {int(p["number"]) for p in pulls}

    def _view(self, state: TrackingState, progress: dict[str, Progress], notes: Any, held: str | None) -> TrackingView:
        facts = self.facts
        milestone = facts.milestone or {}
        warnings: list[str] = []
        if self.ctx.config_error:
            warnings.append(config_error_warning(str(self.ctx.config_error), self.ctx.config_valid))
        for version, group in duplicate_versions([_Milestone(m) for m in facts.open_milestones],
                                                  facts.conventions.milestone_pattern).items():
            if version == self.version and any(m.number == facts.milestone_number for m in group):
                names = ", ".join(f"#{m.number} ({neutralize(m.title, 80)})" for m in group)
                keeper = min(m.number for m in group)
                warnings.append(f"Several open milestones name version {version_text(version)}: {names}. Keep one; "
                                f"until then the release notes follow milestone #{keeper}.")
        if held:
            warnings.append(held)
        for error in getattr(notes, "errors", None) or []:
            warnings.append(f"Release notes: {' '.join(str(error).split())[:300]}")
        html_base = str(milestone.get("html_url") or "")
        repo_html = html_base.rsplit("/milestone/", 1)[0] if "/milestone/" in html_base else ""
        branch = facts.branch_name or ""
        release = facts.published_release()
        draft = facts.draft_release()
        if notes is not None and getattr(notes, "release_url", None):
            release_state = "published" if getattr(notes, "published", False) else "draft"
            release_url = str(notes.release_url)
        elif release is not None:
            release_state, release_url = "published", str(release.get("html_url") or "")
        elif draft is not None:
            release_state, release_url = "draft", str(draft.get("html_url") or "")
        else:
            release_state, release_url = None, None
        def refs(attribute: str) -> tuple[ItemRef, ...]:
            return tuple(
                ItemRef(int(getattr(p, "number", 0)), str(getattr(p, "title", "")), True, str(getattr(p, "author", "") or ""))
                for p in (getattr(notes, attribute, None) or [])
            )
        links: list[tuple[str, str]] = []
        if html_base:
            links.append(("Milestone", html_base))
        if repo_html and facts.branch_exists:
            links.append(("Release branch", f"{repo_html}/tree/{branch}"))
        if release_url:
            links.append(("GitHub Release", release_url))
        return TrackingView(
            milestone_number=facts.milestone_number,
            milestone_title=facts.milestone_title,
            milestone_url=html_base,
            milestone_open=facts.milestone_open,
            version=version_text(self.version),
            due_date=_due_date(milestone),
            timezone=self.tz_name,
            shipped_date=self._shipped_date(state.stages),
            branch=branch,
            branch_url=f"{repo_html}/tree/{branch}" if repo_html and facts.branch_exists else None,
            candidate_tags=tuple(rc_tag(self.version, n, facts.conventions.rc_tag_pattern) for n in facts.candidates),
            final_tag=facts.final_tag_name or "",
            final_tag_exists=facts.final_tag_exists,
            release_state=release_state,
            release_url=release_url,
            mode=self.mode,
            state=state,
            checklists=self.checklists,
            progress=progress,
            scope=_scope(facts.milestone_items),
            off_milestone=refs("off_milestone"),
            not_on_branch=refs("not_on_branch"),
            feedback=tuple(ItemRef(n, "") for n in state.feedback),
            warnings=tuple(warnings),
            links=tuple(links),
            record_id=self.record_id,
        )

    def _remember_stage(self, stage: str | None) -> None:
        """Keep the wake-up map milestone -> stage (events routed to ``repo:`` wake releases by stage)."""
        from bot.reconcilers.release_discovery import stages_key

        key = stages_key(self.repo_id)
        current = self.ctx.store.get_state(key)
        stages = dict(current) if isinstance(current, dict) else {}
        name = str(self.facts.milestone_number)
        if stages.get(name) == stage:
            return
        stages[name] = stage
        self.ctx.store.set_state(key, stages)

    def _wake_duplicates(self) -> None:
        """A duplicate version milestone must show the warning too: reconcile it (only after we wrote,
        so two duplicates cannot wake each other forever)."""
        facts = self.facts
        dups = duplicate_versions([_Milestone(m) for m in facts.open_milestones], facts.conventions.milestone_pattern)
        others = [m.number for group in dups.values() for m in group
                  if m.number != facts.milestone_number and any(x.number == facts.milestone_number for x in group)]
        if others:
            self.ctx.enqueue([
                JobSpec(release_key(self.repo_id, n), self.ctx.job.installation_id, self.ctx.repo_full_name,
                        "release.duplicate_version") for n in others
            ])


__all__ = ["reconcile", "reply_marker"]
