"""Route a job to the reconciler that owns its key kind."""

from __future__ import annotations

from collections.abc import Callable

from bot.jobs import parse_key
from bot.reconcilers.context import JobContext

Reconciler = Callable[[JobContext], None]


def reconciler_for(key: str) -> Reconciler:
    kind, _, _ = parse_key(key)
    if kind == "pr":
        from bot.reconcilers import pr

        return pr.reconcile
    if kind == "release":
        from bot.reconcilers import release

        return release.reconcile
    from bot.reconcilers import repo

    return repo.reconcile
