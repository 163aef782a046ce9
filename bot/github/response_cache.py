"""A revalidating cache of GitHub's GET answers, in front of every read the bot makes.

The reconcile design re-reads GitHub on every hint (GitHub is the truth). What changes here is
what a re-read costs, as Prow's ghproxy does for its bots:

- **Revalidation.** Every cached answer is revalidated with ``If-None-Match`` (its ``ETag``) or
  ``If-Modified-Since`` (its ``Last-Modified``). GitHub answers ``304 Not Modified`` with no body
  when nothing changed, and a 304 to an authorized conditional request does not count against the
  primary rate limit (docs.github.com, "Best practices for using the REST API"). The cached body
  is reused; what the bot decides on is still what GitHub says now.
- **One read per job.** Within one job (``accounting.count_job_calls``), a GET already answered is
  served again without a request unless the job wrote to the same part of the repository in
  between, so a reconcile never pays twice for the same pull request.
- **Writes end what they make stale.** A POST/PATCH/PUT/DELETE moves the write epoch of the
  families it can change in that repository (``families_written``): an answer confirmed before
  is no longer reused within the job, only revalidated (its ETag kept, so what the write did not
  change still comes back 304), and the freshness windows of those families close in every
  process (``bot.github.freshness``). Nothing the bot wrote is ever read back from the cache.

Bounded twice: at most ``max_entries`` answers and ``max_bytes`` of bodies (cachetools' LRU, whose
size of an entry is ``max(body bytes, max_bytes / max_entries)``: either bound evicts the least
recently used). Keyed by the token's scope (the installation, never the token, which rotates
hourly), the path with its query, and the ``Accept`` header.

One edge GitHub leaves open: an ETag covers the body, not the ``Link`` header. A full page with no
``next`` link may gain a next page while its body stays the same, so such a page is always fetched
unconditionally (``_needs_unconditional``).
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cachetools import LRUCache

from bot import metrics
from bot.github import accounting
from bot.github.freshness import TouchClock, window_for
from bot.github.freshness import families_written as window_families_written

DEFAULT_MAX_ENTRIES = 4096
CLOCK_SKEW_MARGIN_SECONDS = 0.25
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_NOT_CACHED_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})
# What a 304 refreshes in the cached headers (the rate-limit window, the clock, the validators).
_REFRESHED_ON_304 = (
    "date",
    "etag",
    "last-modified",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-used",
    "x-ratelimit-resource",
    "x-github-request-id",
)

Scope = int | str | None  # an installation id, "app" for the App's JWT, or a user's scope label
CacheKey = tuple[Scope, str, str]


@dataclass(frozen=True)
class CachedAnswer:
    """One GET answer as GitHub sent it (headers lower-cased), with what revalidates it."""

    headers: Mapping[str, str]
    body: str
    stored_at: float  # time.monotonic() when GitHub last confirmed it (200 or 304)
    asked_at: float  # time.time() when that confirming request was sent (compared with touches)
    repo: str | None  # "owner/name", lower-cased, or None outside /repos/
    family: str
    unconditional: bool  # revalidation cannot be trusted for it (see the module docstring)
    job: weakref.ref[accounting.JobCallCount] | None  # the job that last had it confirmed
    epoch: int  # the write epoch of (scope, repo, family) when it was confirmed

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    def confirmed_in_current_job(self) -> bool:
        current = accounting.current_job_count()
        return current is not None and self.job is not None and self.job() is current


@dataclass
class CacheStats:
    revalidated: int = 0  # 304s: the body reused, nothing counted against the primary limit
    refetched: int = 0  # 200s to a conditional request (something changed)
    reused_in_job: int = 0  # served without a request: already read in this job
    reused_fresh: int = 0  # served without a request: inside a freshness window
    stored: int = 0
    writes: int = 0  # writes that ended the reuse of answers they could change


class ResponseCache:
    """Thread-safe; one per process, shared by every installation's client."""

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
        touches: TouchClock | None = None,
    ) -> None:
        self.max_entries = max_entries
        # With a touch clock, reads in a freshness window (bot.github.freshness) skip GitHub.
        self.touches = touches
        self.max_bytes = max_bytes
        floor = max(1, max_bytes // max(1, max_entries))
        self._entries: LRUCache[CacheKey, CachedAnswer] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda answer: max(floor, len(answer.body))
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._epochs: LRUCache[tuple[Scope, str, str], int] = LRUCache(maxsize=65536)
        self.stats = CacheStats()

    # --- lookups ---------------------------------------------------------------------------------

    @staticmethod
    def key(scope: Scope, url: str, request_headers: Mapping[str, str]) -> CacheKey:
        accept = next((v for k, v in request_headers.items() if k.lower() == "accept"), "")
        return (scope, url, accept)

    def get(self, key: CacheKey) -> CachedAnswer | None:
        with self._lock:
            return self._entries.get(key)

    def conditional_headers(self, answer: CachedAnswer) -> dict[str, str]:
        if answer.unconditional:
            return {}
        if answer.etag:
            return {"If-None-Match": answer.etag}
        if answer.last_modified:
            return {"If-Modified-Since": answer.last_modified}
        return {}

    @property
    def bytes_used(self) -> int:
        with self._lock:
            return int(self._entries.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # --- answers ---------------------------------------------------------------------------------

    def fresh(self, key: CacheKey, answer: CachedAnswer) -> bool:
        """Whether ``answer`` may be served without asking: inside its freshness window and no
        event touched its family since GitHub confirmed it."""
        if self.touches is None or answer.unconditional or answer.repo is None:
            return False
        window = window_for(key[1])
        if window is None or self.age(answer) >= window.ttl:
            return False
        for family in window.families:
            touched = self.touches.last_touch(answer.repo, family)
            # Touches and answers may be timed on two machines' clocks: a margin absorbs their skew.
            if touched is not None and touched >= answer.asked_at - CLOCK_SKEW_MARGIN_SECONDS:
                return False
        return True

    def store(
        self, key: CacheKey, headers: Mapping[str, Any], body: str, asked_at: float | None = None
    ) -> None:
        """Keep a 200 answer that GitHub can revalidate (it sent an ETag or Last-Modified)."""
        kept = {k.lower(): str(v) for k, v in headers.items() if k.lower() not in _NOT_CACHED_HEADERS}
        if "etag" not in kept and "last-modified" not in kept:
            return
        if len(body) > self.max_bytes // 4:
            return  # one huge answer must not evict everything else
        repo, family = repo_and_family(key[1])
        answer = CachedAnswer(
            headers=kept,
            body=body,
            stored_at=self._clock(),
            asked_at=time.time() if asked_at is None else asked_at,
            repo=repo,
            family=family,
            unconditional=_needs_unconditional(key[1], kept, body),
            job=_current_job_ref(),
            epoch=self.epoch(key[0], repo, family),
        )
        with self._lock:
            self._entries[key] = answer
            self.stats.stored += 1
            entries, size = len(self._entries), int(self._entries.currsize)
        _report("stored", entries, size)

    def revalidated(
        self, key: CacheKey, answer: CachedAnswer, headers: Mapping[str, Any], asked_at: float | None = None
    ) -> CachedAnswer:
        """GitHub said 304: the cached body stands; refresh the headers that describe now."""
        fresh = {k.lower(): str(v) for k, v in headers.items()}
        merged = dict(answer.headers)
        for name in _REFRESHED_ON_304:
            if name in fresh:
                merged[name] = fresh[name]
        renewed = CachedAnswer(
            headers=merged,
            body=answer.body,
            stored_at=self._clock(),
            asked_at=time.time() if asked_at is None else asked_at,
            repo=answer.repo,
            family=answer.family,
            unconditional=answer.unconditional,
            job=_current_job_ref(),
            epoch=self.epoch(key[0], answer.repo, answer.family),
        )
        with self._lock:
            self._entries[key] = renewed
            self.stats.revalidated += 1
            entries, size = len(self._entries), int(self._entries.currsize)
        _report("revalidated", entries, size)
        return renewed

    def drop(self, key: CacheKey) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def written(self, scope: Scope, url: str, verb: str) -> None:
        """A write went to ``url``: the answers of the families it can change in that repository
        are no longer reused without asking, here (epochs) or in any process (touches)."""
        repo, _family = repo_and_family(url)
        if repo is None:
            return
        families = families_written(url, verb)
        if self.touches is not None:
            self.touches.touch(repo, window_families_written(url))
        with self._lock:
            for family in _ALL_FAMILIES if "*" in families else families:
                key = (scope, repo, family)
                self._epochs[key] = self._epochs.get(key, 0) + 1
            self.stats.writes += 1

    def epoch(self, scope: Scope, repo: str | None, family: str) -> int:
        if repo is None:
            return 0
        with self._lock:
            return self._epochs.get((scope, repo, family), 0)

    def reusable_in_job(self, key: CacheKey, answer: CachedAnswer) -> bool:
        """Already confirmed in this job, and no write of this job (or another) could change it since."""
        current = self.epoch(key[0], answer.repo, answer.family)
        return answer.confirmed_in_current_job() and answer.epoch == current

    def age(self, answer: CachedAnswer) -> float:
        return self._clock() - answer.stored_at

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self.stats, what, getattr(self.stats, what) + 1)
            entries, size = len(self._entries), int(self._entries.currsize)
        _report(what, entries, size)


def _report(outcome: str, entries: int, size: int) -> None:
    try:
        metrics.record_cache(outcome, entries, size)
    except Exception:  # metrics must never break a read
        pass


def _current_job_ref() -> weakref.ref[accounting.JobCallCount] | None:
    current = accounting.current_job_count()
    return weakref.ref(current) if current is not None else None


# --------------------------------------------------------------------------- families


# Parts of a repository that show each other: an issue's labels and milestone appear in the issue
# and pull request lists and in the milestone's counts; a commit's checks in check runs and
# statuses; refs in tags, branches, commits and compares.
_FAMILY_OF_SEGMENT = {
    "issues": "issues",
    "pulls": "issues",
    "milestones": "issues",
    "labels": "issues",
    "git": "git",
    "tags": "git",
    "branches": "git",
    "commits": "git",
    "compare": "git",
    "releases": "releases",
    "contents": "contents",
    "readme": "contents",
    "deployments": "deployments",
    "environments": "deployments",
    "collaborators": "permissions",
    "teams": "permissions",
    "check-runs": "checks",
    "check-suites": "checks",
    "statuses": "checks",
}
_ALL_FAMILIES = frozenset(_FAMILY_OF_SEGMENT.values()) | {"repo"}
_CHECK_SEGMENTS = frozenset({"check-runs", "check-suites", "status", "statuses"})


def repo_and_family(url: str) -> tuple[str | None, str]:
    """``/api/v3/repos/acme/rocket/issues/5/comments?x=1`` → ``("acme/rocket", "issues")``."""
    path = urlsplit(url).path
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v3"]:  # GitHub Enterprise Server and the sandbox serve the API under it
        parts = parts[2:]
    try:
        at = parts.index("repos")
    except ValueError:
        return None, parts[0] if parts else ""
    if len(parts) < at + 3:
        return None, "repos"
    repo = f"{parts[at + 1]}/{parts[at + 2]}".lower()
    rest = parts[at + 3 :]
    if not rest:
        return repo, "repo"
    if _CHECK_SEGMENTS.intersection(rest):
        return repo, "checks"  # commits/{sha}/check-runs, commits/{sha}/status
    return repo, _FAMILY_OF_SEGMENT.get(rest[0], rest[0])


def families_written(url: str, verb: str) -> frozenset[str]:
    """What a write to ``url`` can change, as families of cached reads."""
    _repo, family = repo_and_family(url)
    path = urlsplit(url).path.rstrip("/")
    if family == "issues" and path.endswith("/merge"):
        return frozenset({"issues", "git", "checks"})  # merging moves the base branch
    if family == "releases":
        return frozenset({"releases", "git"})  # publishing a release may create its tag
    if family == "git":
        return frozenset({"git", "checks"})
    if family == "repo":
        return frozenset({"*"})  # renames, default branch: everything may read differently
    return frozenset({family})


def _needs_unconditional(url: str, headers: Mapping[str, str], body: str) -> bool:
    """A full page without a ``next`` link: a new item on a next page leaves its ETag unchanged."""
    if 'rel="next"' in headers.get("link", ""):
        return False
    per_page = dict(parse_qsl(urlsplit(url).query)).get("per_page")
    if per_page is None or not per_page.isdigit() or not body.startswith("["):
        return False
    try:
        items = json.loads(body)
    except ValueError:
        return True
    return isinstance(items, list) and len(items) >= int(per_page)
