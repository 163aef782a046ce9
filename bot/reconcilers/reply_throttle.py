"""How often the bot answers people: one throttle for every place it replies.

Anyone who can comment can make the bot write (a `/help`, a refused command), and GitHub limits
content creation per installation (80 a minute, shared by every repository). So replies are
capped per person on one thread, per person across the repository, and for the repository as a
whole; past a cap the bot only reacts. The counts live in the bot's store and are updated
atomically, so every worker thread and process of the installation sees the same ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.store import KeyValueStore


@dataclass(frozen=True)
class Limit:
    replies: int
    seconds: float


PER_PERSON_PER_THREAD = Limit(3, 600.0)
PER_PERSON = Limit(10, 600.0)
PER_REPOSITORY = Limit(30, 60.0)
_KEEP_SECONDS = max(PER_PERSON_PER_THREAD.seconds, PER_PERSON.seconds, PER_REPOSITORY.seconds)


def may_reply(store: KeyValueStore, repo: str, thread: int, login: str, now: float | None = None) -> bool:
    """Whether the bot may answer ``login`` on issue or pull request ``thread`` now; if so, it counts."""
    moment = time.time() if now is None else now
    who = login.lower()
    allowed = False

    def count(current: Any) -> list[list[Any]]:
        nonlocal allowed
        recent = [
            entry
            for entry in (current if isinstance(current, list) else [])
            if isinstance(entry, list)
            and len(entry) == 3
            and isinstance(entry[0], int | float)
            and moment - entry[0] < _KEEP_SECONDS
        ]

        def within(limit: Limit, match: Any) -> bool:
            return sum(1 for e in recent if moment - e[0] < limit.seconds and match(e)) < limit.replies

        allowed = (
            within(PER_PERSON_PER_THREAD, lambda e: e[1] == thread and e[2] == who)
            and within(PER_PERSON, lambda e: e[2] == who)
            and within(PER_REPOSITORY, lambda e: True)
        )
        return [*recent, [moment, thread, who]] if allowed else recent

    store.update_state(f"reply-throttle:{repo}", count)
    return allowed
