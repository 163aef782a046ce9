"""The release calendar feed: ``GET /calendar/{owner}/{repo}.ics?token=…`` (docs/calendar.md).

Calendar clients subscribe without a cookie, so the address carries its own proof: a token signed
per repository with ``SESSION_SECRET`` (``bot.core.calendar_token``). The token is checked before
anything is read, so a wrong or missing one costs no GitHub request and says nothing about whether
the repository exists: 403 with a message saying where to find the address. Then the App reads the
repository's releases (``bot.github.calendar_io``, through the revalidating response cache) and the
built feed is kept for ``CALENDAR_CACHE_SECONDS``: a client polling every few minutes costs nothing
more. A repository the App is not installed on answers 404; GitHub failing answers 502 — never 500.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests
from cachetools import TTLCache
from flask import Blueprint, Response, request

from bot.core.calendar import build_calendar
from bot.core.calendar_token import calendar_url, token_matches
from bot.errors import RetryLater
from bot.github.calendar_io import read_calendar
from bot.github.errors import GithubException
from bot.session_secret import load_session_secret
from bot.settings import Settings, SettingsError
from bot.web.auth import web_state

if TYPE_CHECKING:
    from bot.github.auth import GitHubApp

log = logging.getLogger(__name__)

bp = Blueprint("web_calendar", __name__)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CalendarFeeds:
    """The App's reads for the feeds (built on first use: a process that never serves a feed never
    signs a JWT) and the feeds built, per repository, for a while."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._app: GitHubApp | None = None
        self._secret: str | None = None
        ttl = settings.calendar_cache_seconds
        self._feeds: TTLCache[str, bytes] | None = TTLCache(maxsize=1024, ttl=ttl) if ttl > 0 else None
        # Which installation covers a repository (an App JWT call): asked once an hour per repository.
        self._installations: TTLCache[str, int] = TTLCache(maxsize=4096, ttl=3600)

    def secret(self) -> str:
        with self._lock:
            if self._secret is None:
                self._secret = load_session_secret(self.settings)
            return self._secret

    def link(self, repo: str) -> str:
        return calendar_url(self.settings.public_base_url, self.secret(), repo)

    def _github(self) -> GitHubApp:
        from bot.github.auth import GitHubApp
        from bot.github.response_cache import ResponseCache

        with self._lock:
            if self._app is None:
                settings = self.settings
                try:
                    key = settings.load_private_key()
                except SettingsError as exc:
                    log.warning("release calendar: the App's key cannot be read: %s", exc)
                    key = None
                if settings.app_id is None or not key:
                    raise Refused(
                        503,
                        "The release calendar needs the GitHub App's credentials "
                        "(APP_ID and PRIVATE_KEY), which this server does not have.",
                    )
                cache = None
                if settings.github_cache:
                    size = settings.github_cache_max_mb << 20
                    cache = ResponseCache(settings.github_cache_max_entries, size)
                self._app = GitHubApp(
                    settings.app_id, key, base_url=settings.github_api_url, response_cache=cache
                )
            return self._app

    def feed(self, repo: str, read: Callable[[str], bytes] | None = None) -> bytes:
        key = repo.lower()
        if self._feeds is not None:
            with self._lock:
                if key in self._feeds:
                    return self._feeds[key]
        body = (read or self._read)(repo)
        if self._feeds is not None:
            with self._lock:
                self._feeds[key] = body
        return body

    def _read(self, repo: str) -> bytes:
        from bot.github.client import installation_id_of

        app = self._github()
        key = repo.lower()
        try:
            with self._lock:
                known = self._installations.get(key)
            installation = known if known is not None else installation_id_of(app, repo)
            with self._lock:
                self._installations[key] = installation
            releases = read_calendar(app.client_for(installation), repo, app.bot_login, app.app_id)
        except GithubException as exc:
            with self._lock:
                self._installations.pop(key, None)
            if exc.status == 404:
                raise Refused(404, f"release-bot is not installed on {repo}.") from None
            log.warning("calendar of %s: GitHub answered %s", repo, exc.status)
            raise Refused(
                502, f"GitHub answered {exc.status} to the calendar's reads; try again later."
            ) from None
        except (requests.RequestException, RetryLater) as exc:  # unreachable, or rate limited
            log.warning("calendar of %s: GitHub unavailable: %s", repo, type(exc).__name__)
            raise Refused(502, "GitHub could not be read for the calendar; try again later.") from None
        return build_calendar(repo, releases)


def feeds() -> CalendarFeeds:
    return web_state().calendar


def _text(status: int, message: str) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/calendar/<owner>/<name>.ics")
def calendar_feed(owner: str, name: str) -> Response:
    if not (_NAME.match(owner) and _NAME.match(name)):
        return _text(404, "There is no such calendar.")
    repo = f"{owner}/{name}"
    token = request.args.get("token")
    state = feeds()
    try:
        if not token:
            return _text(
                403,
                "This calendar's address needs its token (?token=…): copy the whole "
                "address from the release's tracking issue or the releases dashboard.",
            )
        if not token_matches(state.secret(), repo, token):
            return _text(
                403,
                "This calendar token is not valid for this repository: it may have been "
                "revoked (the server's SESSION_SECRET was rotated). Copy the address again "
                "from the release's tracking issue or the releases dashboard.",
            )
        body = state.feed(repo)
    except Refused as refused:
        return _text(refused.status, refused.message)
    etag = hashlib.sha256(body).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="text/calendar")
        response.headers["Content-Disposition"] = f'inline; filename="{name}-releases.ics"'
    response.set_etag(etag)
    # The address is a credential: no shared cache keeps the feed, no page it links to learns it.
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
