"""The ledger of the bot's own writes, and the check that skips a job woken only by their echoes.

``bot.core.echoes`` names subjects; this module keeps, per repository in the bot's store (shared
by every worker process), which job key wrote each subject last and when. A job is skipped when
every event behind it was the bot's own about subjects this very key wrote last, within
``KEEP_SECONDS`` (webhooks arrive within seconds; an older entry proves nothing and is dropped).

Why this is safe under the reconcile design: the skipped reconcile would have read the state the
writing reconcile had just decided on and written, so it could only end in a no-op (DESIGN.md).
Whatever else happened meanwhile arrives with its own webhook from another sender, and that job
runs; a lost webhook is healed by the next reconcile as before. Another key's write (the gate's
label on a pull request, seen by its release) is never an echo for this key.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from bot.core.echoes import SUBJECTS_HINT, only_own_echoes, write_subject
from bot.jobs import JobSpec
from bot.store import KeyValueStore

KEEP_SECONDS = 300.0
_MAX_ENTRIES = 2000  # per repository: writes of five minutes at GitHub's 80 a minute, with room


def _name(repo: str) -> str:
    return f"echo-ledger:{repo.lower()}"


def record_writes(store: KeyValueStore, repo: str, key: str, writes: Iterable[tuple[str, str]],
                  now: float | None = None) -> None:
    """Remember that ``key`` wrote the subjects of ``writes`` ((verb, url) pairs) just now."""
    subjects = {s for verb, url in writes if (s := write_subject(url, verb)) is not None}
    if not subjects:
        return
    moment = time.time() if now is None else now

    def change(current: Any) -> dict[str, list[Any]]:
        kept = {
            name: entry
            for name, entry in (current if isinstance(current, dict) else {}).items()
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], int | float)
            and moment - entry[1] < KEEP_SECONDS
        }
        for subject in subjects:
            kept[subject] = [key, moment]
        if len(kept) > _MAX_ENTRIES:
            kept = dict(sorted(kept.items(), key=lambda kv: kv[1][1])[-_MAX_ENTRIES:])
        return kept

    store.update_state(_name(repo), change)


def may_be_echo(job: JobSpec) -> bool:
    """Cheap first look (no store, no login): only jobs with a bot's event may be echoes."""
    return bool((job.hints or {}).get(SUBJECTS_HINT))


def is_own_echo(store: KeyValueStore | None, job: JobSpec, bot_login: str | None,
                now: float | None = None) -> bool:
    """Whether every event behind ``job`` was the echo of a write this same key made last."""
    subjects = only_own_echoes(job.hints or {}, bot_login)
    if subjects is None or store is None or not job.repo:
        return False
    ledger = store.get_state(_name(job.repo))
    if not isinstance(ledger, dict):
        return False
    moment = time.time() if now is None else now
    for subject in subjects:
        entry = ledger.get(subject)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == job.key
                and isinstance(entry[1], int | float) and moment - entry[1] < KEEP_SECONDS):
            return False
    return True
