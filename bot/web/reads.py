"""The dashboard's GitHub reads for one signed-in user, cached briefly.

Pages read through ``bot.github.user_io`` and ``bot.github.dashboard_io`` with the user's own
token, so GitHub decides what that person may see. Each read is kept for ``WEB_CACHE_SECONDS``
(default 10 s) under the user's login and a digest of the token: a page reloaded, or polled by the
progressive enhancement, within that window costs no request, and one person's results are never
served to another. ``count_job_calls`` (bot.github.accounting) counts what a page view really cost.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from cachetools import TTLCache

from bot.github.dashboard_io import ReleaseDetail, RepoReleases, read_release, read_repo_releases
from bot.github.user_io import RepoRef, read_repositories, user_client

T = TypeVar("T")


@dataclass(frozen=True)
class SignedIn:
    login: str
    token: str

    @property
    def key(self) -> str:
        return self.login.lower() + ":" + hashlib.sha256(self.token.encode()).hexdigest()[:24]


class PageReads:
    def __init__(self, api_url: str, app_id: int | None, ttl_seconds: float, maxsize: int = 2048) -> None:
        self.api_url = api_url
        self.app_id = app_id
        self._lock = threading.Lock()
        self._cache: TTLCache[tuple[str, ...], object] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_seconds) if ttl_seconds > 0 else None)

    def _cached(self, key: tuple[str, ...], read: Callable[[], T]) -> T:
        if self._cache is not None:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]  # type: ignore[return-value]
        value = read()
        if self._cache is not None:
            with self._lock:
                self._cache[key] = value
        return value

    def _with_client(self, user: SignedIn, read: Callable[..., T], *args: object) -> T:
        gh = user_client(self.api_url, user.token)
        try:
            return read(gh, *args)
        finally:
            gh.close()

    def repositories(self, user: SignedIn) -> tuple[RepoRef, ...]:
        return self._cached((user.key, "repos"),
                            lambda: self._with_client(user, read_repositories, self.app_id))

    def repository(self, user: SignedIn, full_name: str) -> RepoRef | None:
        """The repository if the user can read it through the App, else None (a 404 for the page)."""
        return next((r for r in self.repositories(user) if r.full_name.lower() == full_name.lower()), None)

    def repo_releases(self, user: SignedIn, repo: RepoRef) -> RepoReleases:
        return self._cached((user.key, "releases", repo.full_name.lower()),
                            lambda: self._with_client(user, read_repo_releases, repo, self._app_id()))

    def release(self, user: SignedIn, repo: RepoRef, number: int) -> ReleaseDetail | None:
        return self._cached((user.key, "release", repo.full_name.lower(), str(number)),
                            lambda: self._with_client(user, read_release, repo, number, self._app_id()))

    def _app_id(self) -> int:
        # Without APP_ID nothing can be verified as the App's own, so nothing counts (id 0 matches none).
        return self.app_id if self.app_id is not None else 0

    def forget(self, user: SignedIn) -> None:
        if self._cache is None:
            return
        with self._lock:
            for key in [k for k in self._cache if k[0] == user.key]:
                self._cache.pop(key, None)
