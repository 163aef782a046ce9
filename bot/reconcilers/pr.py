"""The ``pr:{repo_id}#{number}`` reconciler: the merge gate of one pull request.

Level-triggered (DESIGN.md): whatever event woke it, it reads the current pull request, its
timeline (who applied each label, when the head commit arrived, where hinted comments sit), the
bot's own check runs for the head commit and the open milestones, asks ``bot.core.gate`` for the
desired state, and applies only the difference. A reconcile with nothing to change costs these
four reads and no write; permission look-ups happen only for label applications and commands not
yet recorded, and are cached (``bot.github.permissions``).

Hints: ``comment_ids`` (new comments that may hold commands: fetched again, never trusted from
the payload) and ``merge_group`` (``head_sha``/``head_ref``/``base_ref`` of a merge queue group).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from github import GithubException

from bot.core.commands import parse_commands
from bot.core.gate import (
    GATE_COMMANDS,
    GATE_REQUIREMENTS,
    AuditEntry,
    CheckOutput,
    CommentFacts,
    CommitRecord,
    GateFacts,
    GatePlan,
    GateRecord,
    GateSettings,
    PullFacts,
    PullSection,
    hold_lift_to_judge,
    is_release_branch,
    latest_labeled,
    merge_group_check,
    milestone_to_judge,
    parse_commit_record,
    parse_record,
    plan_gate,
)
from bot.core.permissions import role_rules
from bot.core.versions import owning_milestone
from bot.errors import PermanentError
from bot.github import gate_io
from bot.github.permissions import roles_for
from bot.jobs import (
    JobSpec,
    comment_digests,
    comment_was_edited,
    merge_group_pull_number,
    parse_key,
    pr_key,
    release_key,
)
from bot.reconcilers.commit_lock import commit_lock
from bot.reconcilers.context import JobContext
from bot.reconcilers.reply_throttle import PER_PERSON_PER_THREAD, may_reply

log = logging.getLogger("bot.reconcile.pr")

# Replies to one person on one pull request (bot.reconcilers.reply_throttle): beyond that the bot
# only reacts, so nobody can make it flood a thread (or GitHub's limits).
REPLY_BURST = PER_PERSON_PER_THREAD.replies
MAX_HINTED_COMMENTS = 20
AUDIT_STATE_PREFIX = "gate-audit:"
AUDIT_KEEP = 200
RELEASE_NOTE_COMMAND = "release-note"  # handled by bot.reconcilers.release_notes


def reconcile(ctx: JobContext) -> None:
    _, repo_id, number = parse_key(ctx.job.key)
    assert number is not None
    check = reconcile_pull(
        ctx,
        repo_id,
        number,
        ctx.job.hints.get("comment_ids") or [],
        comment_digests(ctx.job.hints),
    )
    group = ctx.job.hints.get("merge_group")
    if isinstance(group, Mapping):
        reconcile_merge_group(ctx, repo_id, number, group, check)


def reconcile_pull(
    ctx: JobContext,
    repo_id: int,
    number: int,
    comment_ids: Sequence[int] = (),
    digests: Mapping[int, str] | None = None,
) -> CheckOutput | None:
    """Converge the gate of one pull request; returns what its own verdict says (None when not gated)."""
    gh = ctx.gh
    repo = ctx.repo_full_name
    settings = GateSettings.from_config(ctx.config)
    try:
        pull_json = gate_io.read_pull(gh, repo, number)
    except GithubException as exc:
        if exc.status in (404, 410):
            raise PermanentError(f"pull request {repo}#{number} no longer exists") from None
        raise
    pull = gate_io.pull_facts(pull_json)
    # The commit's check run is shared by every pull request at that head: one writer at a time.
    with commit_lock(ctx.store, repo, pull.head_sha):
        existing = gate_io.latest_check(
            gate_io.read_gate_checks(gh, repo, pull.head_sha, settings.check_name, ctx.app_id)
        )
        commit = parse_commit_record(existing.summary if existing else None, pull.head_sha)
        rules = role_rules(ctx.config, repo.split("/", 1)[0])
        base_facts = GateFacts(
            pull=pull,
            settings=settings,
            rules=rules,
            bot_login=ctx.bot_login,
            config=ctx.config,
            existing=existing,
            config_valid=ctx.config_valid,
            config_error=ctx.config_error,
            others=_other_pulls_at_head(ctx, repo_id, pull, commit, settings),
        )
        gated = is_release_branch(pull.base, settings.release_branches)
        comments: list[CommentFacts] = []
        hinted: list[_Hinted] = []
        if gated and pull.state == "open":
            timeline = gate_io.timeline_items(gate_io.read_timeline(gh, repo, number))
            milestones = tuple(gate_io.milestone_ref(m) for m in gate_io.read_open_milestones(gh, repo))
            hinted = _read_comments(ctx, number, comment_ids, digests or {})
            comments = [h.facts for h in hinted if h.facts.commands]
            reviews = (
                gate_io.reviews(gate_io.read_reviews(gh, repo, number)) if settings.approval_from_reviews else ()
            )
            facts = replace(base_facts, timeline=timeline, open_milestones=milestones, reviews=reviews)
            facts = replace(facts, roles=roles_for(ctx, _logins_to_judge(facts, comments)))
        else:
            facts = base_facts
            if not gated:
                hinted = _read_comments(ctx, number, comment_ids, digests or {})
                comments = [h.facts for h in hinted if h.facts.commands]
        plan = plan_gate(facts, comments)
        if plan.check is not None and plan.check.conclusion != "failure" and plan.check.differs_from(existing):
            # Before a commit is written as passing (or not gated), every open pull request into a
            # gated branch at that head must be in it: one the bot has not evaluated yet fails it.
            unknown = _unknown_pulls_at_head(ctx, repo_id, pull, facts.others, settings)
            if unknown:
                facts = replace(facts, others=(*facts.others, *unknown))
                plan = plan_gate(facts, comments)
        apply_plan(ctx, repo_id, number, facts, plan)
    _apply_release_notes(ctx, number, hinted, pull_json)
    decided: CheckOutput | None = None
    if gated and plan.own is not None:
        decided = CheckOutput(plan.own.conclusion, plan.own.title, plan.own.summary)
    elif gated:
        section = commit.section(number)
        if section is not None and section.verdict is not None and section.base == pull.base:
            verdict = section.verdict
            decided = CheckOutput(verdict.conclusion, verdict.title, verdict.summary)
    _log_decision(ctx, number, pull.base, pull.head_sha, gated, decided)
    return decided


def _other_pulls_at_head(
    ctx: JobContext, repo_id: int, pull: PullFacts, commit: CommitRecord, settings: GateSettings
) -> tuple[PullSection, ...]:
    """The other pull requests the commit's record has a section for, read back from GitHub: those
    still open at this head into a gated branch. One retargeted since counts as not evaluated (and
    is woken), so its old sign-offs count for nothing here."""
    out: list[PullSection] = []
    for section in commit.pulls:
        if section.number == pull.number or section.record.audited:
            continue
        try:
            other = gate_io.pull_facts(gate_io.read_pull(ctx.gh, ctx.repo_full_name, section.number))
        except GithubException as exc:
            if exc.status in (404, 410):
                continue
            raise
        if other.state != "open" or other.head_sha != pull.head_sha:
            continue
        if not is_release_branch(other.base, settings.release_branches):
            continue
        if other.base != section.base:
            out.append(PullSection(other.number, other.base, None, GateRecord(pull.head_sha)))
            _wake(ctx, repo_id, other.number, "gate.twin retargeted")
            continue
        out.append(section)
    return tuple(out)


def _unknown_pulls_at_head(
    ctx: JobContext, repo_id: int, pull: PullFacts, known: Sequence[PullSection], settings: GateSettings
) -> list[PullSection]:
    """Open pull requests into a gated branch at this head that the record has no section for:
    each counts as not evaluated (failing) until its own reconcile, which this wakes, has run."""
    numbers = {pull.number, *(s.number for s in known)}
    found: list[PullSection] = []
    for data in gate_io.read_commit_pulls(ctx.gh, ctx.repo_full_name, pull.head_sha):
        other = gate_io.pull_facts(data)
        if other.number in numbers or other.state != "open" or other.head_sha != pull.head_sha:
            continue
        if not is_release_branch(other.base, settings.release_branches):
            continue
        found.append(PullSection(other.number, other.base, None, GateRecord(pull.head_sha)))
        _wake(ctx, repo_id, other.number, "gate.twin found")
    return found


def _wake(ctx: JobContext, repo_id: int, number: int, reason: str) -> None:
    ctx.enqueue([JobSpec(pr_key(repo_id, number), ctx.job.installation_id, ctx.repo_full_name, reason)])


def _log_decision(ctx: JobContext, number: int, base: str, head_sha: str, gated: bool,
                  decided: CheckOutput | None) -> None:
    """One line per gate decision, as there is one per release reconcile: which pull request, the
    conclusion, and what is missing (the check's title says it: "Missing: UAT, approval")."""
    if not gated:
        ctx.log.info("gate %s#%s: not gated (base %s)", ctx.repo_full_name, number, base)
        return
    conclusion = decided.conclusion if decided else "pending"
    title = " ".join((decided.title if decided else "no check yet").split())[:200]
    ctx.log.info("gate %s#%s @%s: %s — %s", ctx.repo_full_name, number, head_sha[:7], conclusion, title)


@dataclass(frozen=True)
class _Hinted:
    """A hinted comment as read from GitHub: its JSON, the gate's view of it, a /release-note in it."""

    data: Mapping[str, Any]
    facts: CommentFacts
    release_note: bool


def _read_comments(
    ctx: JobContext, number: int, comment_ids: Iterable[Any], digests: Mapping[int, str]
) -> list[_Hinted]:
    """Hinted comments, read from GitHub (never from the payload); only those on this pull
    request, not the bot's own, and holding a gate command or a ``/release-note``."""
    out: list[_Hinted] = []
    seen: set[int] = set()
    for raw_id in list(comment_ids)[:MAX_HINTED_COMMENTS]:
        if not isinstance(raw_id, int) or raw_id in seen:
            continue
        seen.add(raw_id)
        data = gate_io.read_comment(ctx.gh, ctx.repo_full_name, raw_id)
        if data is None:
            continue
        issue_url = str(data.get("issue_url", ""))
        if not issue_url.endswith(f"/issues/{number}"):
            log.warning("comment %s hinted for #%s belongs to %s; ignored", raw_id, number, issue_url)
            continue
        author = str((data.get("user") or {}).get("login", ""))
        if author.lower() == ctx.bot_login.lower():
            continue  # the bot's own replies (the help text lists commands) never act
        parsed = parse_commands(data.get("body"))
        commands = tuple(c for c in parsed if c.name in GATE_COMMANDS)
        release_note = any(c.name == RELEASE_NOTE_COMMAND for c in parsed)
        if not commands and not release_note:
            continue
        handled = gate_io.bot_reacted(ctx.gh, ctx.repo_full_name, raw_id, ctx.bot_login)
        created_at = str(data.get("created_at", ""))
        facts = CommentFacts(
            raw_id,
            author,
            str(data.get("body") or ""),
            created_at,
            commands,
            handled,
            edited=comment_was_edited(
                created_at, str(data.get("updated_at") or ""), str(data.get("body") or ""), digests.get(raw_id)
            ),
        )
        out.append(_Hinted(data, facts, release_note))
    return out


def _apply_release_notes(
    ctx: JobContext, number: int, hinted: Sequence[_Hinted], pull_json: Mapping[str, Any]
) -> None:
    """``/release-note`` belongs to the notes engineer's module; the gate routes it and answers."""
    pending = [h for h in hinted if h.release_note and not h.facts.handled]
    if not pending:
        return
    from bot.reconcilers.release_notes import apply_release_note_command

    for item in pending:
        refusal = apply_release_note_command(ctx, number, item.data, pr=pull_json)
        if refusal and _may_reply(ctx, number, item.facts.author):
            gate_io.post_comment(ctx.gh, ctx.repo_full_name, number, refusal)
        if not item.facts.commands:  # a gate command in the same comment gets the gate's reaction
            gate_io.react(ctx.gh, ctx.repo_full_name, item.facts.id, "confused" if refusal else "+1")


def _logins_to_judge(facts: GateFacts, comments: Sequence[CommentFacts]) -> list[str]:
    """People whose roles the plan needs: unrecorded label appliers, commenters, reviewers."""

    record = parse_record(
        facts.existing.summary if facts.existing else None, facts.pull.head_sha, facts.pull.number, facts.pull.base
    )
    logins: list[str] = []
    for requirement in GATE_REQUIREMENTS:
        label = facts.settings.label_for(requirement)
        if not any(name.lower() == label.lower() for name in facts.pull.labels):
            continue
        latest = latest_labeled(facts.timeline, label)
        if latest is None:
            continue
        entry = record.get(requirement) if record else None
        if entry is not None and entry.event == latest[1].id:
            continue
        logins.append(latest[1].actor)
    lifted = hold_lift_to_judge(facts, record)
    if lifted is not None:
        logins.append(lifted.actor)
    milestoned = milestone_to_judge(facts, record)
    if milestoned is not None:
        logins.append(milestoned.actor)
    logins += [c.author for c in comments if not c.handled and not c.edited]
    logins += [
        r.author for r in facts.reviews if r.state == "APPROVED" and r.commit_id == facts.pull.head_sha
    ]
    return [login for login in logins if login and login.lower() != facts.bot_login.lower()]


# ---------------------------------------------------------------------------------------------
# applying


def apply_plan(ctx: JobContext, repo_id: int, number: int, facts: GateFacts, plan: GatePlan) -> None:
    gh = ctx.gh
    repo = ctx.repo_full_name
    settings = facts.settings
    # Replies that the record marks as done (the audit) go before the record: a failure between
    # the two then repeats the attempt, and the marker found on GitHub keeps it to one comment.
    # (The other way round, a failed post after the record was written would be lost for good.)
    marked = [reply for reply in plan.replies if reply.marker]
    if marked:
        posted = gate_io.bot_comment_markers(gh, repo, number, ctx.bot_login, [r.marker for r in marked])
        for reply in marked:
            if reply.marker not in posted:
                gate_io.post_comment(gh, repo, number, reply.body)
    # The check (and the record in it) first: a label the bot adds for a command must find its
    # record there when the label's own webhook wakes the next reconcile.
    if plan.check is not None and plan.check.differs_from(facts.existing):
        gate_io.write_check(
            gh,
            repo,
            facts.pull.head_sha,
            settings.check_name,
            plan.check,
            facts.existing.id if facts.existing else None,
        )
    for label in plan.remove_labels:
        gate_io.remove_label(gh, repo, number, label)
    if plan.add_labels:
        gate_io.add_labels(gh, repo, number, plan.add_labels)
    if plan.milestone != "keep":
        gate_io.set_milestone(gh, repo, number, plan.milestone.number if plan.milestone else None)
    for reply in plan.replies:
        if reply.marker:
            continue  # posted above
        if reply.to and not _may_reply(ctx, number, reply.to):
            log.info("reply to %s on %s#%s throttled", reply.to, repo, number)
            continue
        gate_io.post_comment(gh, repo, number, reply.body)
    for comment_id, content in plan.reactions:
        gate_io.react(gh, repo, comment_id, content)
    if plan.audit is not None:
        record_audit(ctx, repo_id, plan.audit, facts)


def _may_reply(ctx: JobContext, number: int, login: str, now: float | None = None) -> bool:
    return may_reply(ctx.store, ctx.repo_full_name, number, login, now)


# ---------------------------------------------------------------------------------------------
# audit (read by the release reconciler for the tracking issue)


def record_audit(ctx: JobContext, repo_id: int, entry: AuditEntry, facts: GateFacts | None = None) -> None:
    """Keep the audit entry in the store and wake the release that owns the branch."""
    name = f"{AUDIT_STATE_PREFIX}{ctx.repo_full_name}"
    item = {
        "kind": entry.kind,
        "repo": ctx.repo_full_name,
        "branch": entry.branch,
        "sha": entry.sha,
        "number": entry.number,
        "by": entry.by,
        "detail": entry.detail,
    }
    _append_entry(ctx.store, name, item)
    log.warning(
        "audit: %s %s on %s (%s)", entry.kind, entry.number or entry.sha[:7], entry.branch, entry.detail
    )
    milestone = facts.pull.milestone if facts is not None else None
    if milestone is not None:
        ctx.enqueue(
            [
                JobSpec(
                    release_key(repo_id, milestone.number),
                    ctx.job.installation_id,
                    ctx.repo_full_name,
                    "gate.audit",
                )
            ]
        )


def _append_entry(store: Any, name: str, item: dict[str, Any]) -> None:
    """Add ``item`` to the list kept under ``name`` (once, newest AUDIT_KEEP kept).

    Jobs of different keys (a ``pr:`` bypass, a ``repo:`` direct push) may record at the same
    moment, so the append is one atomic ``update_state``: get-then-set could lose one of them.
    """

    def add(current: Any) -> list[dict[str, Any]]:
        entries = [e for e in (current or []) if isinstance(e, dict)]
        if item not in entries:
            entries.append(item)
        return entries[-AUDIT_KEEP:]

    store.update_state(name, add)


def audit_entries(store: Any, repo: str, branch: str | None = None) -> list[dict[str, Any]]:
    """Admin-bypass merges and direct pushes recorded for ``repo`` (optionally one branch), oldest first.

    Each: ``{"kind": "bypass_merge"|"direct_push", "repo", "branch", "sha", "number": int|None, "by", "detail"}``.
    """
    entries = [e for e in (store.get_state(f"{AUDIT_STATE_PREFIX}{repo}") or []) if isinstance(e, dict)]
    return [e for e in entries if branch is None or e.get("branch") == branch]


# ---------------------------------------------------------------------------------------------
# merge queue


def reconcile_merge_group(
    ctx: JobContext, repo_id: int, number: int, group: Mapping[str, Any], own: CheckOutput | None
) -> None:
    """Report the gate on the merge group's head commit: success when every pull request of it passes."""
    head_sha = str(group.get("head_sha") or "")
    head_ref = str(group.get("head_ref") or "")
    if not head_sha:
        log.warning("merge_group hint for #%s without head_sha; ignored", number)
        return
    settings = GateSettings.from_config(ctx.config)
    base = str(group.get("base_ref") or "").removeprefix("refs/heads/")
    if base and not is_release_branch(base, settings.release_branches):
        return  # the gate does not apply to this queue: no check, so it cannot block it
    named = merge_group_pull_number(head_ref)
    numbers = [named] if named is not None else [number]
    numbers += [n for n in _group_members(ctx, group) if n not in numbers]
    results: list[tuple[int, CheckOutput | None]] = []
    for member in numbers:
        if member == number:
            results.append((member, own))
        else:
            try:
                results.append((member, reconcile_pull(ctx, repo_id, member)))
            except PermanentError as exc:  # a member vanished: the group cannot pass
                log.warning("merge group %s: %s", head_sha[:7], exc)
                results.append((member, None))
    gate_io.ensure_check(
        ctx.gh,
        ctx.repo_full_name,
        head_sha,
        settings.check_name,
        ctx.app_id,
        merge_group_check(results, head_sha),
    )


def _group_members(ctx: JobContext, group: Mapping[str, Any]) -> list[int]:
    """Pull requests queued ahead in the same group: the queue's merge commits name them."""
    base_ref = str(group.get("base_ref") or "")
    head_sha = str(group.get("head_sha") or "")
    if not base_ref or not head_sha:
        return []
    base = base_ref.removeprefix("refs/heads/")
    return gate_io.merge_group_member_numbers(ctx.gh, ctx.repo_full_name, base, head_sha)


# ---------------------------------------------------------------------------------------------
# repo: jobs — direct pushes to release branches, protection on request

MAX_AUDITED_COMMITS = 50
_SQUASH_SUFFIX = re.compile(r"\(#(\d+)\)\s*$")


def gate_discovery(ctx: JobContext) -> list[JobSpec]:
    """Run on every ``repo:`` job (``bot.reconcilers.repo.register_discovery``): audit pushes to
    release branches, and require the gate on them when ``gate.protect_release_branches`` is on."""
    settings = GateSettings.from_config(ctx.config)
    hints = ctx.job.hints or {}
    branches = [
        ref.removeprefix("refs/heads/")
        for ref in hints.get("refs") or []
        if isinstance(ref, str) and ref.startswith("refs/heads/")
    ]
    branches += [
        ref.removeprefix("branch:")
        for ref in hints.get("refs") or []
        if isinstance(ref, str) and ref.startswith("branch:")
    ]
    release_branches = sorted({b for b in branches if is_release_branch(b, settings.release_branches)})
    _, repo_id, _ = parse_key(ctx.job.key)
    jobs: list[JobSpec] = []
    for branch in release_branches:
        jobs += audit_branch(ctx, repo_id, branch)
    if settings.protect_release_branches and (
        release_branches or hints.get("config_changed") or hints.get("fan_out")
    ):
        try:
            for line in gate_io.protect_release_branches(
                ctx.gh, ctx.repo_full_name, settings.release_branches, settings.check_name, ctx.app_id
            ):
                log.info("%s: %s", ctx.repo_full_name, line)
        except GithubException as exc:
            # Usually the App lacks the optional administration permission: say so, do not fail the job.
            log.warning(
                "%s: gate.protect_release_branches is on but protection could not be set (%s): %s",
                ctx.repo_full_name,
                exc.status,
                exc.data.get("message") if isinstance(exc.data, dict) else exc.data,
            )
    return jobs


def audit_branch(ctx: JobContext, repo_id: int, branch: str) -> list[JobSpec]:
    """Commits that reached ``branch`` since the tip last seen without a merged pull request."""
    gh = ctx.gh
    repo = ctx.repo_full_name
    state_name = f"gate-tip:{repo}:{branch}"
    tip = gate_io.read_branch_tip(gh, repo, branch)
    last = ctx.store.get_state(state_name)
    if tip is None or last == tip:
        return []
    ctx.store.set_state(state_name, tip)
    if not isinstance(last, str):
        return []  # first sight (new branch, empty store): nothing to compare with
    comparison = gate_io.compare(gh, repo, last, tip)
    entries: list[AuditEntry] = []
    woken: list[JobSpec] = []
    if comparison is None or comparison.get("status") not in ("ahead", "identical"):
        entries.append(
            AuditEntry(
                "direct_push",
                repo,
                branch,
                tip,
                None,
                "",
                f"`{branch}` was force-pushed from {last[:7]} to {tip[:7]}",
            )
        )
    else:
        merged = gate_io.merged_pulls_into(gh, repo, branch)
        # The pull requests this push merged: their `pr:` reconcile reports a merge past a failing
        # gate, so the audit does not hinge on the `pull_request` `closed` delivery alone.
        for commit in comparison.get("commits") or []:
            landed = merged.get(str(commit.get("sha")))
            if landed is not None:
                woken.append(
                    JobSpec(pr_key(repo_id, landed[0]), ctx.job.installation_id, repo, "gate.audit merged")
                )

        def count_of(number: int) -> int:
            return int(gate_io.read_pull(gh, repo, number).get("commits") or 1)

        unexplained = _unexplained(comparison.get("commits") or [], tip, last, merged, count_of)
        for commit in unexplained[:MAX_AUDITED_COMMITS]:
            message = str((commit.get("commit") or {}).get("message", "")).splitlines()[:1]
            author = str(
                (commit.get("author") or {}).get("login")
                or (commit.get("commit") or {}).get("author", {}).get("name", "")
            )
            entries.append(
                AuditEntry(
                    "direct_push",
                    repo,
                    branch,
                    str(commit.get("sha")),
                    None,
                    author,
                    f"commit {str(commit.get('sha'))[:7]} reached `{branch}` without a pull request: "
                    f"{message[0] if message else ''}"[:300],
                )
            )
    for entry in entries:
        record_audit(ctx, repo_id, entry)
    if not entries:
        return woken
    milestones = [gate_io.milestone_ref(m) for m in gate_io.read_open_milestones(gh, repo)]
    try:
        owner = owning_milestone(branch, milestones, ctx.config)
    except ValueError:
        owner = None
    if owner is None:
        return woken
    return [
        *woken,
        JobSpec(release_key(repo_id, owner.number), ctx.job.installation_id, repo, "gate.audit direct push"),
    ]


def _unexplained(
    commits: Sequence[Mapping[str, Any]],
    tip: str,
    last: str,
    merged: Mapping[str, tuple[int, int]],
    count_of: Callable[[int], int] | None = None,
) -> list[Mapping[str, Any]]:
    """First-parent commits from ``last`` to ``tip`` that no merged pull request accounts for.

    ``merged``: merge_commit_sha -> (number, number of commits, 0 when unknown: ``count_of`` asks). A merge or squash commit is the
    pull request's ``merge_commit_sha``; a rebase merge lands the pull request's commits one by
    one, the last being its ``merge_commit_sha``, so the commits before it are accounted for too.
    """
    by_sha = {str(c.get("sha")): c for c in commits}
    chain: list[Mapping[str, Any]] = []
    sha = tip
    while sha in by_sha and sha != last:
        commit = by_sha[sha]
        chain.append(commit)
        parents = commit.get("parents") or []
        sha = str(parents[0].get("sha")) if parents else ""
    chain.reverse()  # oldest first
    unexplained: list[Mapping[str, Any]] = []
    for commit in chain:
        sha = str(commit.get("sha"))
        if sha not in merged:
            unexplained.append(commit)
            continue
        number, count = merged[sha]
        message = str((commit.get("commit") or {}).get("message", "")).splitlines()[:1]
        squashed = bool(message and _SQUASH_SUFFIX.search(message[0]))
        if len(commit.get("parents") or []) != 1 or squashed or not unexplained:
            continue
        if count <= 0:
            # The pulls listing has no commit count on GitHub; the pull request itself has.
            count = count_of(number) if count_of is not None else 1
        if count > 1:
            del unexplained[max(0, len(unexplained) - (count - 1)) :]  # the rebased commits before it
    return unexplained
