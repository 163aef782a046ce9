"""The comments a ``pr:`` job was hinted at: read from GitHub, parsed, and ``/release-note`` routed.

Hinted comment ids come from the webhook (``comment_ids``), but the comments themselves are read
again from GitHub, never trusted from the payload: from the pull request's timeline when the job
read it (GitHub's ``commented`` entries carry the same body, author and times as the comment), else
with ``GET /issues/comments/{id}``. Whether a command was handled is the bot's reaction on GitHub;
a comment whose reaction the command ledger recorded (``bot.reconcilers.command_ledger``) is
skipped unread, and one whose reactions rollup is empty needs no listing. Gate commands go to the gate's plan
(``bot.core.gate.plan_gate``); a ``/release-note`` is the notes module's
(``bot.reconcilers.release_notes.apply_release_note_command``), and its refusal is answered here
under the same per-person reply throttle as the gate's replies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.command_registry import FREEZE, NOTES, PULL_REQUEST, names_for
from bot.core.commands import Command, parse_commands
from bot.core.gate import GATE_COMMANDS, CommentFacts
from bot.github import gate_io
from bot.jobs import comment_was_edited
from bot.reconcilers import command_ledger
from bot.reconcilers.context import JobContext
from bot.reconcilers.release_notes import apply_release_note_command
from bot.reconcilers.reply_throttle import may_reply

log = logging.getLogger("bot.reconcile.pr")

MAX_HINTED_COMMENTS = 20
# The pull-request commands the notes module handles (``/release-note``), from the registry.
NOTES_COMMANDS = names_for(PULL_REQUEST, NOTES)
# The pull-request commands of the code freeze (``/exception``: bot.reconcilers.freeze).
FREEZE_COMMANDS = names_for(PULL_REQUEST, FREEZE)


@dataclass(frozen=True)
class Hinted:
    """A hinted comment as read from GitHub: its JSON, the gate's view of it, a /release-note in it."""

    data: Mapping[str, Any]
    facts: CommentFacts
    release_note: bool
    freeze: tuple[Command, ...] = ()  # its /exception commands


def read_comments(
    ctx: JobContext,
    number: int,
    comment_ids: Iterable[Any],
    digests: Mapping[int, str],
    timeline: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[Hinted]:
    """Hinted comments, read from GitHub (never from the payload); only those on this pull
    request, not the bot's own, and holding a gate command or a ``/release-note``.

    ``timeline``: the comments of this pull request's timeline as this job read it from GitHub
    (``gate_io.timeline_comments``), after the hinted comments were made (the job runs after their
    webhooks arrived). A hinted comment found there is taken from it; one that is not (deleted, or
    no timeline was read) is read on its own, as before."""
    out: list[Hinted] = []
    seen: set[int] = set()
    wanted = list(comment_ids)[:MAX_HINTED_COMMENTS]
    handled = command_ledger.handled_ids(ctx.store, ctx.repo_full_name) if wanted else frozenset()
    for raw_id in wanted:
        if not isinstance(raw_id, int) or raw_id in seen:
            continue
        seen.add(raw_id)
        if raw_id in handled:
            # Handled: the bot's reaction is on it. Whatever the comment says now (even edited since),
            # a handled comment is never run again, so it needs no read at all.
            continue
        data = (timeline or {}).get(raw_id)
        if data is None:
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
        release_note = any(c.name in NOTES_COMMANDS for c in parsed)
        freeze = tuple(c for c in parsed if c.name in FREEZE_COMMANDS)
        if not commands and not release_note and not freeze:
            continue
        # No reaction at all on GitHub: not the bot's either. Otherwise GitHub's list says whose.
        if not gate_io.has_no_reactions(data) and gate_io.bot_reacted(
            ctx.gh, ctx.repo_full_name, raw_id, ctx.bot_login
        ):
            # Handled (a handled comment counts for nothing anywhere, so it is left out). GitHub shows
            # the bot's reaction (after a store wipe, say): the next replay needs no look either.
            command_ledger.record(ctx.store, ctx.repo_full_name, raw_id)
            continue
        created_at = str(data.get("created_at", ""))
        body = str(data.get("body") or "")
        edited = comment_was_edited(created_at, str(data.get("updated_at") or ""), body, digests.get(raw_id))
        facts = CommentFacts(raw_id, author, body, created_at, commands, edited=edited)
        out.append(Hinted(data, facts, release_note, freeze))
    return out


def apply_release_notes(
    ctx: JobContext, number: int, hinted: Sequence[Hinted], pull_json: Mapping[str, Any]
) -> None:
    """``/release-note`` belongs to the notes engineer's module; the gate routes it and answers."""
    pending = [h for h in hinted if h.release_note and not h.facts.handled]
    for item in pending:
        refusal = apply_release_note_command(ctx, number, item.data, pr=pull_json)
        if refusal and may_reply(ctx.store, ctx.repo_full_name, number, item.facts.author):
            gate_io.post_comment(ctx.gh, ctx.repo_full_name, number, refusal)
        if not item.facts.commands:  # a gate command in the same comment gets the gate's reaction
            command_ledger.react(ctx, item.facts.id, "confused" if refusal else "+1")
