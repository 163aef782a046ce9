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
from urllib.parse import parse_qsl, urlsplit

from bot.github.cache_families import repo_and_family

# The bot's own writes are kept on a clock of their own, next to the events' (``touch_written``):
# an event's touch is timed when its delivery arrived, which can be long before its job records
# it, so it must never be hidden behind a later write of the bot's that wrote an answer through.
WRITE_CLOCK = "!w"


@dataclass(frozen=True)
class Window:
    pattern: re.Pattern[str]  # matched against the path after /repos/{owner}/{name}
    families: tuple[str, ...]  # what an event touches to end the window (``families_touched``)
    ttl: float  # seconds after GitHub last confirmed the answer
    why: str
    requires: frozenset[str] = frozenset()  # query parameters the read must carry to be in it


def _w(pattern: str, families: tuple[str, ...], ttl: float, why: str, requires: str = "") -> Window:
    return Window(re.compile(pattern), families, ttl, why, frozenset(requires.split()))


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
    # A milestone's items (labels, states, bodies, the milestone embedded in each): a person changes
    # them only with an `issues`/`pull_request` event (any action), a `milestone` or `label` event;
    # the bot's own writes either write their answer through (bot.github.write_through) or end it.
    _w(
        r"^/issues$",
        ("items",),
        60.0,
        "a milestone's items: an `issues`/`pull_request`/`milestone`/`label` event",
        requires="milestone",
    ),
    # An issue's (or pull request's) comments, with their reactions rollups: a person changes them
    # only with an `issue_comment` event (created, edited, deleted); a reaction has no event of its
    # own, and no reconciler reads a person's reactions from this list (a command's handled mark is
    # read from the timeline, which has no window). The bot's own comment and reaction writes end it.
    _w(r"^/issues/\d+/comments$", ("comments",), 60.0, "an issue's comments: an `issue_comment` event"),
    # Check runs only their App can write: ours by id (the release record, the freeze grants) and
    # the listings filtered to our App (the gate's own check). A person can only ask for a re-run
    # (`check_run` `rerequested`, which changes nothing in them, and ends the window anyway).
    _w(r"^/check-runs/\d+$", ("checks",), 300.0, "a check run: only its App writes it (ours)"),
    _w(
        r"^/commits/[^/]+/check-runs$",
        ("checks",),
        300.0,
        "the App's own check runs on a commit: only the App writes them",
        requires="app_id",
    ),
)

ALL_WINDOW_FAMILIES = frozenset(
    {"repo", "tags", "heads", "releases", "milestones", "items", "checks", "comments"}
)

# Which families an event touches. Anything not listed touches nothing cached in a window.
_TOUCHED_BY_EVENT: dict[str, frozenset[str]] = {
    "release": frozenset({"releases"}),
    # Every item of a milestone embeds it (title, state): a milestone's edit shows in its items.
    "milestone": frozenset({"milestones", "items"}),
    "issues": frozenset({"items"}),
    "pull_request": frozenset({"items"}),
    "label": frozenset({"items"}),  # a renamed label shows in every item that carries it
    "check_run": frozenset({"checks"}),
    "check_suite": frozenset({"checks"}),
    # The bot's own comments too (never echo-covered): a comment it posted just before a crash, with
    # its write's touch unrecorded, is still seen by the marker look-up that keeps it from posting twice.
    "issue_comment": frozenset({"comments"}),
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


# Writes under these paths change what a milestone's items show (state, labels, milestone, title,
# body, the merge). Comments and reactions do not: an item's comment count is no fact the bot reads.
_ITEM_WRITES = re.compile(r"^/(issues|pulls|milestones|labels)(/|$)")
_COMMENT_WRITES = re.compile(r"^/issues/(\d+/)?comments(/|$)")
_NOT_ITEM_WRITES = re.compile(r"^/issues/(\d+/)?comments(/|$)|/reactions(/|$)|^/pulls/(\d+/)?comments(/|$)")


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
        return frozenset({"heads", "items"})  # the base branch moves; the item shows it merged
    if rest.startswith("/milestones"):
        return frozenset({"milestones", "items"})
    if _COMMENT_WRITES.search(rest):
        return frozenset({"comments"})  # a comment, its edit or deletion, a reaction to one
    if _ITEM_WRITES.search(rest) and not _NOT_ITEM_WRITES.search(rest):
        return frozenset({"items"})
    if rest.startswith("/check-runs") or rest.startswith("/check-suites"):
        return frozenset({"checks"})
    if rest.startswith("/releases"):
        return frozenset({"releases"})
    window = window_for(url)
    return frozenset(window.families) if window else frozenset()


# What the echo of the bot's own write (a delivery every sender of which is the bot's own account)
# need not touch: every write the bot makes that causes such an event already touched these, on the
# write clock every process shares, when GitHub answered it (``families_written``). What a side
# effect of a write may change beyond it (a merge's push moves tags' discovery) is not listed.
ECHO_COVERED: dict[str, frozenset[str]] = {
    "issues": frozenset({"items"}),
    "pull_request": frozenset({"items"}),
    "milestone": frozenset({"milestones", "items"}),
    "label": frozenset({"items"}),
    "release": frozenset({"releases"}),
    "check_run": frozenset({"checks"}),
    "check_suite": frozenset({"checks"}),
}


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
    window = next((w for w in WINDOWS if w.pattern.search(rest)), None)
    if window is not None and window.requires:
        params = {name for name, _value in parse_qsl(urlsplit(url).query)}
        if not window.requires <= params:
            return None
    return window


def clocks_of(touches: TouchClock, url: str) -> dict[str, float | None] | None:
    """The touch and write clocks of ``url``'s window families as they read now, just before it is
    asked (None: no window): kept with the answer, they date it causally, whatever the machines'
    clocks say (``ResponseCache.fresh``)."""
    window = window_for(url)
    repo = repo_and_family(url)[0]
    if window is None or repo is None:
        return None
    clocks: dict[str, float | None] = {}
    for family in window.families:
        clocks[family] = touches.last_touch(repo, family)
        clocks[family + WRITE_CLOCK] = touches.last_touch(repo, family + WRITE_CLOCK)
    return clocks


class TouchClock(Protocol):
    """When an event last touched a family of a repository (wall-clock seconds), shared by the
    processes that share a cache's answers' fate."""

    def touch(self, repo: str, families: Iterable[str], at: float | None = None) -> None: ...

    def last_touch(self, repo: str, family: str) -> float | None: ...

    def touch_written(self, repo: str, families: Iterable[str]) -> dict[str, WriteTick]: ...


@dataclass(frozen=True)
class WriteTick:
    """One bot write on a family's write clock: the clock before it (None: never written) and the
    value it set. Every write moves the clock strictly forward (``next_write_tick``), so an answer
    the writer marks with ``after`` is still current exactly while the clock reads ``after``."""

    before: float | None
    after: float


def next_write_tick(now: float, before: float | None) -> float:
    # Strictly increasing even when two processes' clocks disagree or two writes share a moment.
    return round(max(now, (before or 0.0) + 0.001), 6)


def next_touch(when: float, before: float | None) -> float:
    """The clock after a touch timed ``when``: it moves whenever the touch may be news to an answer
    that saw ``before`` (``CachedAnswer.seen``). A touch timed later sets it; one timed earlier
    (an event that arrived first but is recorded later) still moves it, a little; the same time
    again is the same delivery recorded by another of its jobs, which an answer read after the
    first record already shows."""
    if before is None or when > before:
        return when
    if when == before:
        return before
    return round(before + 0.000001, 6)


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
                self._touches[key] = next_touch(when, self._touches.get(key))

    def last_touch(self, repo: str, family: str) -> float | None:
        with self._lock:
            return self._touches.get((repo.lower(), family))

    def touch_written(self, repo: str, families: Iterable[str]) -> dict[str, WriteTick]:
        now = self._clock()
        ticks: dict[str, WriteTick] = {}
        with self._lock:
            for family in families:
                key = (repo.lower(), family + WRITE_CLOCK)
                before = self._touches.get(key)
                after = next_write_tick(now, before)
                self._touches[key] = after
                ticks[family] = WriteTick(before, after)
        return ticks


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
                self._name(repo, family),
                lambda old, when=when: next_touch(when, float(old) if isinstance(old, int | float) else None),
            )

    def last_touch(self, repo: str, family: str) -> float | None:
        value = self._store.get_state(self._name(repo, family))
        return float(value) if isinstance(value, int | float) else None

    def touch_written(self, repo: str, families: Iterable[str]) -> dict[str, WriteTick]:
        now = self._clock()
        ticks: dict[str, WriteTick] = {}
        for family in families:
            seen: list[float | None] = []

            def tick(old: Any, seen: list[float | None] = seen) -> float:
                # Called again when another process wrote meanwhile (Redis WATCH): the last call counts.
                before = float(old) if isinstance(old, int | float) else None
                seen[:] = [before]
                return next_write_tick(now, before)

            after = float(self._store.update_state(self._name(repo, family + WRITE_CLOCK), tick))
            ticks[family] = WriteTick(seen[0] if seen else None, after)
        return ticks


ECHO_TOUCHED_HINT = "echo_touched"


def echo_touched_hint(event: str, payload: Mapping[str, Any]) -> list[str] | None:
    """For a delivery a bot sent: what it touches should that bot be ours (``ECHO_COVERED``:
    our write touched the rest already). None for a person's delivery: it touches all it touches.
    Coalesced jobs union these; a job uses them only when every sender was our own account."""
    sender = payload.get("sender")
    if not isinstance(sender, Mapping) or sender.get("type") != "Bot":
        return None
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    touched = families_touched(event, action, payload)
    if action == "closed":
        # Closing can be a side effect GitHub applies after the write that caused it, in the bot's
        # name (a merge by the bot closes the issues its pull request fixes): no write of ours
        # touched the clock after it, so the echo does.
        return sorted(touched)
    return sorted(touched - ECHO_COVERED.get(event, frozenset()))


def touched_hint(event: str, payload: Mapping[str, Any]) -> list[str]:
    """The ``touched`` hint intake puts on every job of a delivery."""
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    return sorted(families_touched(event, action, payload))
