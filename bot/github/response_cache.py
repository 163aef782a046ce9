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
  process (``bot.github.freshness``).
- **Writes are written through.** GitHub's answer to a successful write rewrites the cached answers
  it changes in a way this process can replay exactly (``bot.github.write_through``): they stay
  current as of the write, here, on the write clock, so the bot never reads its own write back.

Bounded twice: at most ``max_entries`` answers and ``max_bytes`` of bodies (cachetools' LRU, whose
size of an entry is ``max(body bytes, max_bytes / max_entries)``: either bound evicts the least
recently used). Keyed by the token's scope (the installation, never the token, which rotates
hourly), the path with its query, and the ``Accept`` header.

One edge GitHub leaves open: an ETag covers the body, not the ``Link`` header. A full page with no
``next`` link may gain a next page while its body stays the same, so such a page is always fetched
unconditionally (``_needs_unconditional``).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cachetools import Cache, LRUCache

from bot import metrics
from bot.github import accounting
from bot.github.cache_families import ALL_FAMILIES, families_written, repo_and_family
from bot.github.freshness import WRITE_CLOCK, TouchClock, WriteTick, clocks_of, window_for
from bot.github.freshness import families_written as window_families_written
from bot.github.write_through import UNAFFECTED, Rewritten, Write, rewrite, write_of, written_gets

DEFAULT_MAX_ENTRIES = 4096
CLOCK_SKEW_MARGIN_SECONDS = 0.25
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_NOT_CACHED_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})
# Not kept on an answer a write rewrote: its validators describe the old body (a new ETag is kept
# only from the write's answer to the very URL the GET reads), the rest described the write.
_NOT_WRITTEN_THROUGH = frozenset({"etag", "last-modified", "link", "location", "status"})
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
    # Written through (bot.github.write_through): the body is what the bot's own write made of it,
    # and for each window family the write clock's value it is current at (``fresh``).
    marks: Mapping[str, float] | None = None
    written: bool = False
    # The clocks of its window's families (events' and, under ``family + WRITE_CLOCK``, the bot's
    # writes') as they read just before the confirming request was sent (``clocks_before``): a
    # value unchanged since proves that nothing touched the family after it was asked, whatever
    # the machines' clocks say; None when the answer was not confirmed by a request of its own.
    seen: Mapping[str, float | None] | None = None

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
    written_through: int = 0  # answers a write's own answer rewrote (never read back)


class ResponseCache:
    """Thread-safe; one per process, shared by every installation's client."""

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
        touches: TouchClock | None = None,
        max_window_seconds: float | None = None,
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
        # The last write-clock value this process set per (repo, family): compared on our own
        # clock, it needs no margin for another machine's skew.
        self._own_ticks: LRUCache[tuple[str, str], float] = LRUCache(maxsize=65536)
        self._ours: dict[str, float | None] = {}  # during one write-through (under the lock)
        # Every window ends at most this long after GitHub confirmed the answer (tests shorten it).
        self.max_window_seconds = max_window_seconds
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
        event touched its family since GitHub confirmed it, nor any write of the bot's but those
        it was written through (``marks``)."""
        if self.touches is None or answer.unconditional or answer.repo is None:
            return False
        window = window_for(key[1])
        if window is None:
            return False
        ttl = window.ttl if self.max_window_seconds is None else min(window.ttl, self.max_window_seconds)
        if self.age(answer) >= ttl:
            return False
        refs = _REF_FAMILIES.intersection(window.families)
        if refs and answer.asked_at < _refs_seen_at(answer.repo):
            # One picture of the refs per job: a tag implies the branch cut before it. Tags and heads
            # are two answers, each with its own window; a boundary (a touch less the margin below, an
            # end of window) falling between them makes the tags asked again while the older heads
            # are still served. The tags would show a candidate that the heads, from before its
            # branch was cut, do not explain, and the release would pass Build & Test over for good.
            return False
        seen = answer.seen or {}
        for family in window.families:
            touched = self.touches.last_touch(answer.repo, family)
            if family in seen:
                # Every touch moves the clock forward (``TouchClock.touch``): unchanged, no event
                # was recorded after the request went out; moved, one may not be in the answer.
                if touched is not None and (seen[family] is None or touched > seen[family]):  # type: ignore[operator]
                    return False
            # Touches and answers may be timed on two machines' clocks: a margin absorbs their skew.
            elif touched is not None and touched >= answer.asked_at - CLOCK_SKEW_MARGIN_SECONDS:
                return False
            written = self.touches.last_touch(answer.repo, family + WRITE_CLOCK)
            if written is None:
                continue
            mark = answer.marks.get(family) if answer.marks else None
            if mark is not None:
                if written > mark + 1e-6:
                    return False  # a write since the one it was written through
            elif family + WRITE_CLOCK in seen:
                before = seen[family + WRITE_CLOCK]
                if before is None or written > before + 1e-9:
                    return False  # a write of the bot's since it was asked (none written through)
            elif written >= answer.asked_at - self._margin(answer.repo, family, written):
                return False
        if refs:
            _saw_refs(answer.repo, answer.asked_at)
        return True

    def clocks_before(self, url: str) -> dict[str, float | None] | None:
        """The clocks to keep with the answer of ``url`` about to be asked (``CachedAnswer.seen``)."""
        return clocks_of(self.touches, url) if self.touches is not None else None

    def _margin(self, repo: str, family: str, tick: float) -> float:
        with self._lock:
            own = self._own_ticks.get((repo, family))
        return 0.0 if own is not None and abs(own - tick) < 1e-6 else CLOCK_SKEW_MARGIN_SECONDS

    def store(
        self,
        key: CacheKey,
        headers: Mapping[str, Any],
        body: str,
        asked_at: float | None = None,
        seen: Mapping[str, float | None] | None = None,
    ) -> None:
        """Keep a 200 answer that GitHub can revalidate (it sent an ETag or Last-Modified)."""
        _saw_refs_in(key[1], repo_and_family(key[1])[0], time.time())  # kept or not, the job saw it
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
            seen=seen,
        )
        with self._lock:
            self._entries[key] = answer
            self.stats.stored += 1
            entries, size = len(self._entries), int(self._entries.currsize)
        _report("stored", entries, size)

    def revalidated(
        self,
        key: CacheKey,
        answer: CachedAnswer,
        headers: Mapping[str, Any],
        asked_at: float | None = None,
        seen: Mapping[str, float | None] | None = None,
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
            seen=seen,
        )
        _saw_refs_in(key[1], answer.repo, time.time())
        with self._lock:
            self._entries[key] = renewed
            self.stats.revalidated += 1
            entries, size = len(self._entries), int(self._entries.currsize)
        _report("revalidated", entries, size)
        return renewed

    def drop(self, key: CacheKey) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def written(
        self,
        scope: Scope,
        url: str,
        verb: str,
        status: int | None = None,
        headers: Mapping[str, Any] | None = None,
        output: object = None,
        request_body: object = None,
        accept: str = "",
        sent_at: float | None = None,
    ) -> None:
        """A write went to ``url``: the answers of the families it can change in that repository
        are no longer reused without asking, here (epochs) or in any process (the write clock),
        except those GitHub's answer to it (``status``, ``headers``, ``output``) rewrites exactly:
        they are current as of the write, here (bot.github.write_through)."""
        repo, _family = repo_and_family(url)
        if repo is None:
            return
        families = families_written(url, verb)
        ticks: dict[str, WriteTick] = {}
        touched = window_families_written(url)
        if self.touches is not None and touched:
            ticks = self.touches.touch_written(repo, touched)
        write = write_of(url, verb, status, output, request_body)
        with self._lock:
            # Which ticks before this one were this process's own (compared without a margin).
            self._ours = {family: self._own_ticks.get((repo, family)) for family in ticks}
            for family, tick in ticks.items():
                self._own_ticks[(repo, family)] = tick.after
            before: dict[str, int] = {}
            for family in ALL_FAMILIES if "*" in families else families:
                key = (scope, repo, family)
                before[family] = self._epochs.get(key, 0)
                self._epochs[key] = before[family] + 1
            self.stats.writes += 1
            if write is not None:
                self._write_through(
                    scope, repo, url, write, headers or {}, accept, ticks, before, sent_at or time.time()
                )

    # --- write-through (under the lock) -----------------------------------------------------------

    def _write_through(
        self,
        scope: Scope,
        repo: str,
        url: str,
        write: Write,
        headers: Mapping[str, Any],
        accept: str,
        ticks: Mapping[str, WriteTick],
        before: Mapping[str, int],
        sent_at: float,
    ) -> None:
        prefix = urlsplit(url).path[: -len(write.rest)] if write.rest else urlsplit(url).path
        whole_gets = {prefix + rest: body for rest, body in written_gets(write)}
        write_path = urlsplit(url).path
        for key in list(self._entries.keys()):
            if key[0] != scope or key[2] != accept:
                continue  # another installation, or another representation of the same object
            answer: CachedAnswer = Cache.__getitem__(self._entries, key)  # no LRU move
            if answer.repo != repo:
                continue
            path = urlsplit(key[1]).path
            window = window_for(key[1])
            in_window = window is not None and bool(ticks.keys() & set(window.families))
            if not in_window and path not in whole_gets:
                continue  # nothing of it this write's clock or answer speaks for
            try:
                body = json.loads(answer.body)
            except ValueError:
                continue
            params = dict(parse_qsl(urlsplit(key[1]).query))
            first = params.get("page", "1") == "1"
            single_page = first and 'rel="next"' not in answer.headers.get("link", "")
            outcome = rewrite(write, path[len(prefix) :], params, body, single_page)
            self._apply(
                key,
                answer,
                outcome,
                window.families if window else (),
                ticks,
                before,
                headers,
                write_path,
                sent_at,
            )
        for path, body in whole_gets.items():
            key = (scope, path, accept)
            if key not in self._entries:  # not read yet: the next read will not have to be made
                window = window_for(path)
                families = window.families if window else ()
                self._apply_whole(key, body, ticks, headers, write_path, sent_at, families)

    def _apply(
        self,
        key: CacheKey,
        answer: CachedAnswer,
        outcome: object,
        families: tuple[str, ...],
        ticks: Mapping[str, WriteTick],
        before: Mapping[str, int],
        headers: Mapping[str, Any],
        write_path: str,
        sent_at: float,
    ) -> None:
        if outcome is None:
            return  # may be stale: asked again (its validator kept, the clocks and epochs moved)
        if isinstance(outcome, Rewritten) and outcome.whole:
            self._apply_whole(key, outcome.body, ticks, headers, write_path, sent_at, families)
            return
        marks = self._carried_marks(answer, families, ticks)
        in_job = answer.confirmed_in_current_job() and answer.epoch == before.get(answer.family, -1)
        epoch = answer.epoch + 1 if in_job else answer.epoch
        if outcome is UNAFFECTED:
            if marks is not None or in_job:
                self._entries[key] = _replace(
                    answer, marks=marks if marks is not None else answer.marks, epoch=epoch
                )
            return
        assert isinstance(outcome, Rewritten)
        if marks is None and not in_job:
            return  # it was stale already: rewriting it would only lose its validator
        text = json.dumps(outcome.body)
        if len(text) > self.max_bytes // 4:
            self._entries.pop(key, None)
            return
        kept = {k: v for k, v in answer.headers.items() if k not in _NOT_WRITTEN_THROUGH}
        if "link" in answer.headers:
            kept["link"] = answer.headers["link"]  # the pages a list has are the write's no business
        self._entries[key] = _replace(
            answer,
            headers=kept,
            body=text,
            marks=marks,
            epoch=epoch,
            written=True,
            unconditional=answer.unconditional or _needs_unconditional(key[1], kept, text),
        )
        self.stats.written_through += 1

    def _apply_whole(
        self,
        key: CacheKey,
        body: Any,
        ticks: Mapping[str, WriteTick],
        headers: Mapping[str, Any],
        write_path: str,
        sent_at: float,
        families: tuple[str, ...],
    ) -> None:
        """The write's answer is the whole object the GET of ``key`` reads, as of ``sent_at``."""
        text = json.dumps(body)
        if len(text) > self.max_bytes // 4:
            self._entries.pop(key, None)
            return
        sent = {k.lower(): str(v) for k, v in headers.items() if k.lower() not in _NOT_CACHED_HEADERS}
        kept = {k: v for k, v in sent.items() if k not in _NOT_WRITTEN_THROUGH}
        if urlsplit(key[1]).path == write_path and "etag" in sent:
            kept["etag"] = sent["etag"]  # GitHub's validator of this very body, at this very URL
        marks: dict[str, float] = {}
        for family in families:
            tick = ticks.get(family)
            # Another write that landed after ours was sent would show on the clock before ours.
            if tick is not None and (
                tick.before is None or tick.before < sent_at - self._margin_locked(family, tick.before)
            ):
                marks[family] = tick.after
        complete = all(family in marks for family in families if family in ticks)
        repo_of, family_of = repo_and_family(key[1])
        self._entries[key] = CachedAnswer(
            headers=kept,
            body=text,
            stored_at=self._clock(),
            asked_at=sent_at,
            repo=repo_of,
            family=family_of,
            unconditional=False,
            job=_current_job_ref(),
            epoch=self._epochs.get((key[0], repo_of, family_of), 0) if repo_of else 0,
            marks=marks if complete and marks else None,
            written=True,
        )
        self.stats.written_through += 1

    def _carried_marks(
        self, answer: CachedAnswer, families: tuple[str, ...], ticks: Mapping[str, WriteTick]
    ) -> dict[str, float] | None:
        """The marks of ``answer`` moved on to this write's ticks, or None when another write (or,
        for a family this write did not tick, nothing) leaves it stale by the write clock."""
        moved = dict(answer.marks or {})
        touched = [family for family in families if family in ticks]
        if not touched:
            return None
        for family in touched:
            tick = ticks[family]
            mark = moved.get(family)
            if mark is not None:
                if tick.before is None or abs(tick.before - mark) > 1e-6:
                    return None
            elif tick.before is not None and tick.before >= answer.asked_at - self._margin_locked(
                family, tick.before
            ):
                return None
            moved[family] = tick.after
        return moved

    def _margin_locked(self, family: str, tick: float) -> float:
        """The margin for a write-clock value ``tick`` seen just before this process's write."""
        own = self._ours.get(family)
        return 0.0 if own is not None and abs(own - tick) < 1e-6 else CLOCK_SKEW_MARGIN_SECONDS

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


def _replace(answer: CachedAnswer, **changes: Any) -> CachedAnswer:
    return dataclasses.replace(answer, **changes)


def _report(outcome: str, entries: int, size: int) -> None:
    try:
        metrics.record_cache(outcome, entries, size)
    except Exception:  # metrics must never break a read
        pass


# The windowed families a job reads as one picture (a candidate tag implies its release branch).
_REF_FAMILIES = frozenset({"tags", "heads"})


def _refs_seen_at(repo: str) -> float:
    """When the newest ref answer the current job used was known to hold (0: none, or no job)."""
    job = accounting.current_job_count()
    return job.refs_seen_at.get(repo, 0.0) if job is not None else 0.0


def _saw_refs(repo: str, at: float) -> None:
    job = accounting.current_job_count()
    if job is not None:
        job.refs_seen_at[repo] = max(at, job.refs_seen_at.get(repo, 0.0))


def _saw_refs_in(url: str, repo: str | None, arrived_at: float) -> None:
    """GitHub just answered a ref read: what the job reads of the refs after it must not be older
    (when it arrived, not when it was asked: the answer may show a tag made while it was on its way)."""
    window = window_for(url)
    if repo is not None and window is not None and _REF_FAMILIES.intersection(window.families):
        _saw_refs(repo, arrived_at)


def _current_job_ref() -> weakref.ref[accounting.JobCallCount] | None:
    current = accounting.current_job_count()
    return weakref.ref(current) if current is not None else None


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
