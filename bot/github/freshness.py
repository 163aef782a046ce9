"""Reads no event could have made stale are not made at all, for a bounded while.

Revalidation (``bot.github.response_cache``) makes an unchanged read free against the primary
limit, but it is still a request. Some facts change only with an event GitHub sends us: a tag
appears with a ``create`` (and a ``push`` of the tag), a release changes with a ``release`` event,
the default branch with a ``repository`` event. Within ``ttl`` of GitHub last confirming such an
answer, and as long as no such event arrived since, the cached answer is served without asking.

Events are hints, so a lost webhook must not hide a change for long: every window is short, after
which the answer is revalidated whatever the events said. The table below is the whole policy;
each row names the event that ends the window early.

Where the touches live: each job carries the families its event touched (hint ``touched``) and
records them with ``TouchClock.touch`` before it reads anything, so the job an event woke always
reads past the window. The clock is shared by every process of a deployment when it is backed by
the store (``StoreTouchClock``), so a window another worker process opened is closed as well.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Window:
    pattern: re.Pattern[str]  # matched against the path after /repos/{owner}/{name}
    families: tuple[str, ...]  # what an event touches to end the window (``families_touched``)
    ttl: float  # seconds after GitHub last confirmed the answer
    why: str


def _w(pattern: str, families: tuple[str, ...], ttl: float, why: str) -> Window:
    return Window(re.compile(pattern), families, ttl, why)


WINDOWS: tuple[Window, ...] = (
    _w(r"^$", ("repo",), 300.0, "the repository (default branch, settings): a `repository` event"),
    _w(
        r"^/git/matching-refs/tags(/|$)",
        ("tags",),
        120.0,
        "tags: `create`/`delete` of a tag, a `push` of one",
    ),
    _w(r"^/git/refs/tags(/|$)", ("tags",), 120.0, "tags: `create`/`delete` of a tag, a `push` of one"),
    _w(r"^/tags$", ("tags",), 120.0, "tags: `create`/`delete` of a tag, a `push` of one"),
    _w(r"^/git/matching-refs/heads/", ("heads",), 60.0, "branches: `create`/`delete`/`push` of a branch"),
    _w(r"^/git/ref/heads/", ("heads",), 60.0, "a branch's head: a `push` to it"),
    _w(r"^/branches(/|$)", ("heads",), 60.0, "branches: `create`/`delete`/`push` of a branch"),
    _w(r"^/compare/", ("heads", "tags"), 60.0, "a comparison of refs changes only when a ref moves"),
    _w(r"^/releases(/\d+)?$", ("releases",), 120.0, "releases: a `release` event (ours too)"),
    # The reconcilers read milestones' titles, states, due dates and descriptions, which change only
    # with a `milestone` event; the issue counts in the same answer move with every issue, but no
    # reconciler reads them (the release counts its items from the items it lists).
    _w(r"^/milestones(/\d+)?$", ("milestones",), 120.0, "milestones: a `milestone` event"),
)

ALL_WINDOW_FAMILIES = frozenset({"repo", "tags", "heads", "releases", "milestones"})

# Which families an event touches. Anything not listed touches nothing cached in a window.
_TOUCHED_BY_EVENT: dict[str, frozenset[str]] = {
    "release": frozenset({"releases"}),
    "milestone": frozenset({"milestones"}),
    "repository": ALL_WINDOW_FAMILIES,
    "installation": ALL_WINDOW_FAMILIES,
    "installation_repositories": ALL_WINDOW_FAMILIES,
    # A deployment decision reads the tags and milestones it judges fresh: a final tag pushed a moment
    # before the deployment must be seen, whatever window the release's last reconcile opened.
    "deployment_protection_rule": ALL_WINDOW_FAMILIES,
}
# A merged pull request moves its base branch (the push event follows, but may be lost).
_TOUCHED_BY_ACTION: dict[tuple[str, str], frozenset[str]] = {
    ("pull_request", "closed"): frozenset({"heads"}),
}


def families_touched(
    event: str, action: str | None = None, payload: Mapping[str, Any] | None = None
) -> frozenset[str]:
    """What a delivery may have changed, of what the windows keep."""
    if event in ("create", "delete"):
        # Either kind of ref ends both windows. GitHub does not deliver in order: the `create` of a
        # candidate tag can be handled before the `create` of the release branch cut just before
        # it, and a release that then saw the tag but a cached branch list without the branch would
        # pass Build & Test over for good. Whatever existed before this ref did is read again with
        # it (the other family's revalidation is a 304 when nothing changed: free).
        return frozenset({"tags", "heads"})
    if event == "push":
        # Any push also ends the tags' window: the repository reconcile a push wakes is what finds
        # tags whose own `create` webhooks were lost (docs/release-lifecycle.md), so it must read them.
        return frozenset({"tags", "heads"})
    by_action = _TOUCHED_BY_ACTION.get((event, action or ""), frozenset())
    return _TOUCHED_BY_EVENT.get(event, frozenset()) | by_action


def families_written(url: str) -> frozenset[str]:
    """What a write the bot makes to ``url`` may change, of what the windows keep."""
    parts = urlsplit(url).path.rstrip("/").split("/")
    if "repos" not in parts:
        return frozenset()
    at = parts.index("repos")
    rest = "/" + "/".join(parts[at + 3 :]) if len(parts) > at + 3 else ""
    if rest == "":
        return ALL_WINDOW_FAMILIES  # a rename or a new default branch
    if rest.startswith("/git/"):
        return frozenset({"tags", "heads"})  # a ref created, moved or deleted (the body says which)
    if rest.startswith("/pulls/") and rest.endswith("/merge"):
        return frozenset({"heads"})
    window = window_for(url)
    return frozenset(window.families) if window else frozenset()


def window_for(url: str) -> Window | None:
    """The freshness window of a GET of ``url``, or None when it is always revalidated."""
    path = urlsplit(url).path.rstrip("/")
    parts = path.split("/")
    try:
        at = parts.index("repos")
    except ValueError:
        return None
    if len(parts) < at + 3:
        return None
    rest = "/" + "/".join(parts[at + 3 :]) if len(parts) > at + 3 else ""
    return next((w for w in WINDOWS if w.pattern.search(rest)), None)


class TouchClock(Protocol):
    """When an event last touched a family of a repository (wall-clock seconds), shared by the
    processes that share a cache's answers' fate."""

    def touch(self, repo: str, families: Iterable[str], at: float | None = None) -> None: ...

    def last_touch(self, repo: str, family: str) -> float | None: ...


class LocalTouchClock:
    """One process's clock: enough when one process runs every job (``release-bot serve``)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._touches: dict[tuple[str, str], float] = {}

    def touch(self, repo: str, families: Iterable[str], at: float | None = None) -> None:
        when = self._clock() if at is None else at
        with self._lock:
            for family in families:
                key = (repo.lower(), family)
                self._touches[key] = max(when, self._touches.get(key, 0.0))

    def last_touch(self, repo: str, family: str) -> float | None:
        with self._lock:
            return self._touches.get((repo.lower(), family))


class StoreTouchClock:
    """The clock in the store every process of a deployment shares (SQLite file, Redis)."""

    def __init__(self, store: Any, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    @staticmethod
    def _name(repo: str, family: str) -> str:
        return f"touch:{repo.lower()}:{family}"

    def touch(self, repo: str, families: Iterable[str], at: float | None = None) -> None:
        when = self._clock() if at is None else at
        for family in families:
            self._store.update_state(
                self._name(repo, family), lambda old, when=when: max(when, float(old or 0.0))
            )

    def last_touch(self, repo: str, family: str) -> float | None:
        value = self._store.get_state(self._name(repo, family))
        return float(value) if isinstance(value, int | float) else None


def touched_hint(event: str, payload: Mapping[str, Any]) -> list[str]:
    """The ``touched`` hint intake puts on every job of a delivery."""
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    return sorted(families_touched(event, action, payload))
