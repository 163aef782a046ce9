"""The code freeze on both sides: a pull request's ``release-bot/freeze`` check, a release's wake-ups.

Pull request side (``reconcile_pull_freeze``, from the ``pr:`` reconciler): for an open pull request
into a frozen branch (``releases.freeze.branches``, default the default branch) it reads which
releases are frozen — their release records, check runs only the App writes, named by the store's
index of frozen releases (``freeze_index_key``) or, when the store knows nothing, found from the open
tracking issues — and the commit's freeze check run (the exceptions granted for it), runs hinted
``/exception`` comments, asks ``bot.core.freeze.exceptions.plan_freeze_check`` and applies: the check,
replies (throttled), reactions. A grant or withdrawal the frozen releases do not list yet wakes
their ``release:`` key with the check run's id as a hint; the release reads it back and verifies it.

Release side (``sync_release_freeze``, from the ``release:`` reconciler): keeps the index in step
with the record and, when a freeze started or lifted, wakes the ``pr:`` key of every open pull
request into the frozen branches (bounded, paged).

A repository without ``releases.freeze`` pays nothing: both functions return before any read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.freeze.exceptions import FreezeCause, FreezeCheckFacts, parse_freeze_record, plan_freeze_check
from bot.core.freeze.rendering import merge_group_freeze_check
from bot.core.freeze.settings import FREEZE_CHECK_NAME, FreezeSettings
from bot.core.freeze.state import FreezeException, FreezeState
from bot.core.gate import CheckOutput, CommentFacts, PullFacts
from bot.core.gate.timeline import role_title
from bot.core.permissions import ROLE_RELEASE_MANAGERS
from bot.github import freeze_io, gate_io, repo_io
from bot.github.errors import GithubException
from bot.jobs import JobSpec, merge_group_pull_number, pr_key, release_key
from bot.reconcilers import command_ledger
from bot.reconcilers.commit_lock import commit_lock
from bot.reconcilers.context import JobContext
from bot.reconcilers.pr_comments import Hinted
from bot.reconcilers.release_apply import record_hint_key
from bot.reconcilers.reply_throttle import may_reply

log = logging.getLogger("bot.reconcile.freeze")

FREEZE_CHECKS_HINT = "freeze_checks"  # release: hint, check run ids holding freeze exceptions

__all__ = [
    "FREEZE_CHECKS_HINT",
    "freeze_index_key",
    "reconcile_merge_group_freeze",
    "reconcile_pull_freeze",
    "reported",
    "sync_release_freeze",
]


def freeze_index_key(repo_id: int) -> str:
    """Store key: {milestone number (text): release record id} of the releases frozen now. A cache
    of the records (which hold the truth); absent when the store knows nothing (then rebuilt)."""
    return f"freeze:index:{repo_id}"


def _settings(ctx: JobContext) -> FreezeSettings | None:
    return ctx.repo_config.releases.freeze


def _default_branch(pull_json: Mapping[str, Any]) -> str:
    return str(((pull_json.get("base") or {}).get("repo") or {}).get("default_branch") or "")


# ---------------------------------------------------------------------------------------------
# pull request side


def frozen_causes(ctx: JobContext, repo_id: int) -> tuple[FreezeCause, ...]:
    """The releases frozen now, from their records (verified), found by the index or rebuilt."""
    if ctx.app_id is None:
        return ()
    index = ctx.store.get_state(freeze_index_key(repo_id))
    if isinstance(index, dict):
        records = {int(m): int(r) for m, r in index.items() if str(m).isdigit() and isinstance(r, int)}
        return freeze_io.read_causes(ctx.gh, ctx.repo_full_name, records, ctx.app_id)
    # The store knows nothing (new, or wiped): every open tracking issue's record, read once, and
    # the index of the frozen ones kept — unless a release wrote one meanwhile.
    listed = freeze_io.open_tracking_records(
        ctx.gh, ctx.repo_full_name, ctx.bot_login, ctx.repo_config.releases.tracking_label
    )
    for milestone in list(listed):
        # The record id the bot remembers from creating it beats the body's pointer (a hint).
        hint = ctx.store.get_state(record_hint_key(repo_id, milestone))
        if isinstance(hint, int):
            listed[milestone] = hint
    causes = freeze_io.read_causes(ctx.gh, ctx.repo_full_name, listed, ctx.app_id)
    built = {str(c.milestone): listed[c.milestone] for c in causes}
    ctx.store.update_state(
        freeze_index_key(repo_id), lambda current: current if isinstance(current, dict) else built
    )
    return causes


def _comment_facts(hinted: Sequence[Hinted]) -> list[CommentFacts]:
    out = []
    for item in hinted:
        if item.freeze:
            out.append(
                CommentFacts(
                    item.facts.id,
                    item.facts.author,
                    item.facts.body,
                    item.facts.created_at,
                    item.freeze,
                    item.facts.handled,
                    item.facts.edited,
                )
            )
    return out


def reconcile_pull_freeze(
    ctx: JobContext, repo_id: int, pull_json: Mapping[str, Any], pull: PullFacts, hinted: Sequence[Hinted]
) -> None:
    settings = _settings(ctx)
    if pull.state != "open":
        return
    comments = _comment_facts(hinted)
    pending = [c for c in comments if not c.handled]
    if settings is None:
        if pending:  # only when someone asked: a repository without a freeze pays nothing otherwise
            _answer_unfrozen(ctx, pull, pending, "no code freeze is configured for this repository")
        return
    if not settings.covers(pull.base, _default_branch(pull_json)):
        if pending:
            why = f"`{pull.base}` is not a frozen branch (`releases.freeze.branches`)"
            _answer_unfrozen(ctx, pull, pending, why)
        return
    gh, repo = ctx.gh, ctx.repo_full_name
    causes = frozen_causes(ctx, repo_id)
    with commit_lock(ctx.store, repo, f"{pull.head_sha}:freeze", holder=ctx.job.key):
        existing = gate_io.latest_check(
            gate_io.read_gate_checks(gh, repo, pull.head_sha, settings.check_name, ctx.app_id)
        )
        judged = [c for c in pending if not c.edited]
        roles = ctx.roles.roles_of({c.author for c in judged}) if judged else {}
        arrived = ""
        if any(ROLE_RELEASE_MANAGERS in roles.get(c.author.lower(), frozenset()) for c in judged):
            arrived = gate_io.head_arrival(gh, repo, pull_json) or (existing.started_at if existing else "")
        facts = FreezeCheckFacts(
            pull=pull,
            settings=settings,
            causes=causes,
            existing=existing,
            rm_words=_rm_words(ctx),
            roles=roles,
            head_arrived_at=arrived,
            gate_answers=frozenset(h.facts.id for h in hinted if h.facts.commands),
        )
        plan = plan_freeze_check(facts, comments)
        check_id = existing.id if existing else None
        if plan.check.differs_from(existing):
            check_id = gate_io.write_check(gh, repo, pull.head_sha, settings.check_name, plan.check, check_id)
    for reply in plan.replies:
        if may_reply(ctx.store, repo, pull.number, reply.to):
            gate_io.post_comment(gh, repo, pull.number, reply.body)
    for comment_id, content in plan.reactions:
        command_ledger.react(ctx, comment_id, content)
    if plan.unlisted and check_id is not None:
        # The tracking issues list every exception: the releases read this check run back.
        ctx.enqueue(
            [
                JobSpec(
                    release_key(repo_id, cause.milestone),
                    ctx.job.installation_id,
                    repo,
                    "freeze.exception",
                    {FREEZE_CHECKS_HINT: [check_id]},
                )
                for cause in causes
            ]
        )
    ctx.log.info(
        "freeze %s#%s @%s: %s — %s",
        repo,
        pull.number,
        pull.head_sha[:7],
        plan.check.conclusion,
        plan.check.title,
    )


def reconcile_merge_group_freeze(
    ctx: JobContext, repo_id: int, number: int, group: Mapping[str, Any], default_branch: str
) -> None:
    """The freeze check on a merge queue's group head (a required check must be there too): success
    outside a freeze, else only when every pull request of the group holds an exception."""
    settings = _settings(ctx)
    head_sha = str(group.get("head_sha") or "")
    base = str(group.get("base_ref") or "").removeprefix("refs/heads/")
    if settings is None or not head_sha or not base or not settings.covers(base, default_branch):
        return
    causes = frozen_causes(ctx, repo_id)
    members: list[tuple[int, bool]] = []
    if causes:
        named = merge_group_pull_number(str(group.get("head_ref") or ""))
        numbers = [named] if named is not None else [number]
        numbers += [
            n for n in gate_io.merge_group_member_numbers(ctx.gh, ctx.repo_full_name, base, head_sha)
            if n not in numbers
        ]
        for member in numbers:
            members.append((member, _holds_exception(ctx, member, base, settings)))
    gate_io.ensure_check(
        ctx.gh,
        ctx.repo_full_name,
        head_sha,
        settings.check_name,
        ctx.app_id,
        merge_group_freeze_check(causes, base, members, head_sha),
    )


def _holds_exception(ctx: JobContext, number: int, base: str, settings: FreezeSettings) -> bool:
    try:
        head = gate_io.pull_facts(gate_io.read_pull(ctx.gh, ctx.repo_full_name, number)).head_sha
    except GithubException as exc:
        if exc.status in (404, 410):
            return False
        raise
    existing = gate_io.latest_check(
        gate_io.read_gate_checks(ctx.gh, ctx.repo_full_name, head, settings.check_name, ctx.app_id)
    )
    record = parse_freeze_record(existing.summary if existing else None, head)
    return record.active_for(base) is not None


def _rm_words(ctx: JobContext) -> str:
    # A zero-width space after '@' names a team without notifying it each time.
    return role_title(ctx.repo_config.roles[ROLE_RELEASE_MANAGERS]).replace("@", "@\u200b")


def _answer_unfrozen(ctx: JobContext, pull: PullFacts, pending: Sequence[CommentFacts], why: str) -> None:
    """``/exception`` where no freeze can apply: said once (the reaction marks it), nothing kept."""
    for comment in pending:
        if not comment.edited and may_reply(ctx.store, ctx.repo_full_name, pull.number, comment.author):
            gate_io.post_comment(
                ctx.gh,
                ctx.repo_full_name,
                pull.number,
                f"@{comment.author} {why}: this pull request needs no freeze exception "
                "(docs/code-freeze.md). Nothing changed.",
            )
        command_ledger.react(ctx, comment.id, "confused")


# ---------------------------------------------------------------------------------------------
# release side


def reported(ctx: JobContext) -> tuple[FreezeException, ...]:
    """Exceptions the ``release:`` job was pointed at (``freeze_checks`` hint), verified."""
    settings = _settings(ctx)
    ids = freeze_io.as_ids((ctx.job.hints or {}).get(FREEZE_CHECKS_HINT))
    if settings is None or not ids or ctx.app_id is None:
        return ()
    return freeze_io.reported_exceptions(ctx.gh, ctx.repo_full_name, ids, ctx.app_id, settings.check_name)


def sync_release_freeze(
    ctx: JobContext,
    repo_id: int,
    milestone: int,
    freeze: FreezeState | None,
    record_id: int | None,
    previous: FreezeState | None,
) -> None:
    """Keep the index in step with the release's record; wake the frozen branches' pull requests
    when this release's freeze started or lifted. ``freeze``: None once the milestone is gone;
    ``previous``: the freeze as the record held it before this reconcile."""
    settings = _settings(ctx)
    active = freeze is not None and freeze.active and record_id is not None
    was_active = previous is not None and previous.active
    if settings is None and not was_active:
        return  # no freeze configured, none running: nothing to read or write
    changed = {"index": False}

    def change(current: Any) -> Any:
        if not isinstance(current, dict):
            return current  # no index: a pull request rebuilds it from the records
        wanted = dict(current)
        if active:
            wanted[str(milestone)] = record_id
        else:
            wanted.pop(str(milestone), None)
        changed["index"] = wanted != current
        return wanted

    after = ctx.store.update_state(freeze_index_key(repo_id), change)
    if not (changed["index"] or (not isinstance(after, dict) and active != was_active)):
        return
    recorded = previous.branches if previous is not None else ()
    patterns = (settings.branches if settings is not None else recorded) or (
        repo_io.default_branch(ctx.gh, ctx.repo_full_name),
    )
    numbers = freeze_io.open_pulls_into(ctx.gh, ctx.repo_full_name, patterns)
    if settings is None:
        # The configuration was removed during a freeze: pull requests no longer reconcile their
        # freeze check (a repository without a freeze pays nothing), so lift the checks here, once.
        _lift_checks(ctx, numbers)
    else:
        ctx.enqueue(
            [
                JobSpec(pr_key(repo_id, n), ctx.job.installation_id, ctx.repo_full_name, "freeze.changed")
                for n in numbers
            ]
        )
    ctx.log.info(
        "freeze %s v%s: %s; %d open pull request(s) into %s woken",
        ctx.repo_full_name,
        (freeze or previous or FreezeState()).version or "?",
        "on" if active else "lifted",
        len(numbers),
        ", ".join(patterns),
    )


def _lift_checks(ctx: JobContext, numbers: Sequence[int]) -> None:
    output = CheckOutput(
        "success",
        "No code freeze: releases.freeze is no longer configured",
        "The code freeze (`releases.freeze` in `.github/release-bot.yml`) was removed from the "
        "configuration.",
    )
    for number in numbers:
        head = gate_io.pull_facts(gate_io.read_pull(ctx.gh, ctx.repo_full_name, number)).head_sha
        existing = gate_io.latest_check(
            gate_io.read_gate_checks(ctx.gh, ctx.repo_full_name, head, FREEZE_CHECK_NAME, ctx.app_id)
        )
        if existing is not None and existing.conclusion != "success":
            gate_io.write_check(ctx.gh, ctx.repo_full_name, head, FREEZE_CHECK_NAME, output, existing.id)
