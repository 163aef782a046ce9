"""The ledger of handled command comments: which comments the bot has already reacted to.

The bot's reaction on a comment is the durable mark that its command was handled (a redelivery or a
re-hinted job must not run it again, nor answer it twice). Finding that mark costs a listing of the
comment's reactions, and the comment itself a read. So once the bot's reaction has been accepted by
GitHub, the comment's id is kept here, per repository in the bot's store (shared by every worker
process, like the reply throttle and the echo ledger); a ``pr:`` job hinted at a comment the ledger
knows skips it without a request.

Only the bot's own successful reaction writes an entry, so an entry never claims more than GitHub
shows. A comment the ledger does not know (a new one, or any after a store wipe) is read and its
reactions looked up on GitHub as before: the reaction stays the mark of record, and ``release-bot
reconcile`` after a wipe still re-does nothing. Entries are dropped after ``KEEP_SECONDS`` (GitHub
redelivers a webhook for three days; later, GitHub's reactions answer) and beyond ``MAX_ENTRIES``.
"""

from __future__ import annotations

import time
from typing import Any

from bot.github import gate_io
from bot.reconcilers.context import JobContext
from bot.store import KeyValueStore

KEEP_SECONDS = 3 * 24 * 3600.0
MAX_ENTRIES = 2000  # per repository: far more commands than three days bring


def _name(repo: str) -> str:
    return f"command-ledger:{repo.lower()}"


def handled_ids(store: KeyValueStore, repo: str, now: float | None = None) -> frozenset[int]:
    """The comments whose bot reaction was recorded (within ``KEEP_SECONDS``): one store read."""
    ledger = store.get_state(_name(repo))
    moment = time.time() if now is None else now
    return frozenset(
        int(name)
        for name, at in (ledger if isinstance(ledger, dict) else {}).items()
        if name.isdigit() and isinstance(at, int | float) and moment - at < KEEP_SECONDS
    )


def knows(store: KeyValueStore, repo: str, comment_id: int, now: float | None = None) -> bool:
    """Whether the bot's reaction to ``comment_id`` was recorded (within ``KEEP_SECONDS``)."""
    return comment_id in handled_ids(store, repo, now)


def record(store: KeyValueStore, repo: str, comment_id: int, now: float | None = None) -> None:
    """Remember that the bot's reaction to ``comment_id`` was accepted (one atomic update)."""
    moment = time.time() if now is None else now

    def add(current: Any) -> dict[str, float]:
        kept = {
            name: at
            for name, at in (current if isinstance(current, dict) else {}).items()
            if isinstance(at, int | float) and moment - at < KEEP_SECONDS
        }
        kept[str(comment_id)] = moment
        if len(kept) > MAX_ENTRIES:
            kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-MAX_ENTRIES:])
        return kept

    store.update_state(_name(repo), add)


def react(ctx: JobContext, comment_id: int, content: str) -> None:
    """The bot's reaction to a command comment, then its ledger entry (never before: a failed
    reaction leaves the comment unhandled on GitHub, and so it must stay unknown here)."""
    gate_io.react(ctx.gh, ctx.repo_full_name, comment_id, content)
    record(ctx.store, ctx.repo_full_name, comment_id)
