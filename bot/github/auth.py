"""The GitHub App: its JWT client, installation tokens and per-installation clients.

One ``GitHubApp`` per process. Installation clients live in a thread-safe cachetools TTL cache;
each client authenticates with ``InstallationTokenAuth``, which mints an installation token through
the App's ``GithubIntegration`` and mints a new one ``TOKEN_REFRESH_MARGIN`` before it expires
(GitHub's tokens last an hour). Every client is built with PyGithub's blanket sleeps off, the
one retry policy (``GitHubRetry``), ``per_page=100``, and the per-installation pacer and call
counter (``bot.github.requester.instrument``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import jwt
from cachetools import TTLCache
from github import Auth, Github, GithubIntegration
from github.GithubException import GithubException
from github.InstallationAuthorization import InstallationAuthorization

from bot.github.pacer import InstallationPacer, PacerFactory, PacerLimits, local_pacers
from bot.github.requester import instrument
from bot.github.response_cache import ResponseCache
from bot.github.retry import GitHubRetry

log = logging.getLogger(__name__)

TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
CLIENT_TTL_SECONDS = 30 * 60  # a client outlives tokens; its auth refreshes them
PER_PAGE = 100
USER_AGENT = "release-bot"
TIMEOUT_SECONDS = 30


def _utcnow() -> datetime:
    return datetime.now(UTC)


# GitHub's answers to a JWT whose iat/exp are off GitHub's clock.
_JWT_CLOCK_MESSAGES = ("claim ('exp')", "claim ('iat')")
MIN_SKEW_SECONDS = 30.0


class ClockSkewTolerantAppAuth(Auth.AppAuth):
    """The App's JWT, signed on GitHub's clock rather than ours once a skew has been seen.

    A JWT is valid for minutes around ``iat``; a host clock off by more than that makes every App
    call fail with 401. Like octokit's auth-app, ``GitHubApp`` learns the offset from the ``Date``
    header of that 401 and signs later JWTs with it.
    """

    JWT_EXPIRY_SECONDS = 300  # GitHub allows at most 10 minutes
    JWT_BACKDATE_SECONDS = 60  # GitHub's advice: iat a minute in the past

    def __init__(self, app_id: int, private_key: str) -> None:
        super().__init__(app_id, private_key)
        self._private_key = private_key
        self.offset_seconds = 0.0

    def create_jwt(self, expiration: int | None = None) -> str:
        now = int(time.time() + self.offset_seconds)
        payload = {
            "iat": now - self.JWT_BACKDATE_SECONDS,
            "exp": now + (expiration or self.JWT_EXPIRY_SECONDS),
            "iss": self.app_id,
        }
        return jwt.encode(payload, self._private_key, algorithm="RS256")


class InstallationTokenAuth(Auth.Auth):
    """``Authorization: token …`` for one installation; refreshes the token before it expires.

    Thread-safe: a cached client is shared by the worker threads running that installation's jobs.
    """

    def __init__(
        self,
        mint: Callable[[], InstallationAuthorization],
        now: Callable[[], datetime] = _utcnow,
        margin: timedelta = TOKEN_REFRESH_MARGIN,
    ) -> None:
        self._mint = mint
        self._now = now
        self._margin = margin
        self._lock = threading.Lock()
        self._authorization: InstallationAuthorization | None = None

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        with self._lock:
            current = self._authorization
            if current is None or current.expires_at - self._margin <= self._now():
                current = self._mint()
                self._authorization = current
            return current.token

    @property
    def expires_at(self) -> datetime | None:
        return self._authorization.expires_at if self._authorization else None

    def invalidate(self) -> None:
        """Forget the token (401: revoked); the next request mints a new one."""
        with self._lock:
            self._authorization = None

    def reauthorize(self, request_headers: dict[str, str]) -> bool:
        """After a 401: mint a new token unless another thread already did since this request
        was sent, and put it in ``request_headers``. False when the request used no token of ours."""
        sent = request_headers.get("Authorization", "")
        with self._lock:
            current = self._authorization
            if current is not None and sent == f"token {current.token}":
                self._authorization = None  # the token GitHub refused: mint another
        log.info("GitHub refused an installation token (401); minting a new one")
        request_headers["Authorization"] = f"token {self.token}"
        return True

    @property
    def _masked_token(self) -> str:  # what PyGithub's debug log shows instead of the token
        return "token (installation token removed)"


class GitHubApp:
    """The App's identity and its clients. Thread-safe."""

    def __init__(
        self,
        app_id: int,
        private_key: str,
        base_url: str = "https://api.github.com",
        pacer_limits: PacerLimits | None = None,
        pacer_factory: PacerFactory | None = None,
        retry_max_wait: float = 5.0,
        client_ttl_seconds: float = CLIENT_TTL_SECONDS,
        max_installations: int = 10_000,
        now: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] | None = None,
        response_cache: ResponseCache | None = None,
    ) -> None:
        self.app_id = app_id
        # One revalidating cache for every installation's reads (None: every read unconditional).
        self.response_cache = response_cache
        self.base_url = base_url.rstrip("/")
        self.pacer_limits = pacer_limits or PacerLimits()
        # In-process windows by default; a Redis deployment shares them (bot/github/pacer_redis.py).
        self._pacer_factory = pacer_factory or local_pacers(self.pacer_limits)
        self._retry_max_wait = retry_max_wait
        self._now = now
        self._sleep = sleep
        self._lock = threading.Lock()
        self._clients: TTLCache[int, Github] = TTLCache(maxsize=max_installations, ttl=client_ttl_seconds)
        self._auths: dict[int, InstallationTokenAuth] = {}
        self._pacers: dict[int, InstallationPacer] = {}
        self._bot_login: str | None = None
        self._slug: str | None = None
        self._jwt_auth = ClockSkewTolerantAppAuth(app_id, private_key)
        self.integration = GithubIntegration(
            auth=self._jwt_auth,
            **self._client_kwargs(installation_id=None),
        )
        instrument(self.integration.requester, None, None, response_cache, scope="app")

    def _client_kwargs(self, installation_id: int | None) -> dict[str, Any]:
        retry_kwargs: dict[str, Any] = {"max_wait": self._retry_max_wait, "installation_id": installation_id}
        if self._sleep is not None:
            retry_kwargs["sleep"] = self._sleep
        return {
            "base_url": self.base_url,
            "timeout": TIMEOUT_SECONDS,
            "user_agent": USER_AGENT,
            "per_page": PER_PAGE,
            "retry": GitHubRetry(**retry_kwargs),
            # PyGithub's blanket sleeps (0.25 s per request, 1 s per write) are replaced by the pacer.
            "seconds_between_requests": 0,
            "seconds_between_writes": 0,
        }

    # --- the App itself -------------------------------------------------------------------------

    def _github_now(self) -> datetime:
        """GitHub's clock as far as we know it: token expiry times are on that clock."""
        return self._now() + timedelta(seconds=self._jwt_auth.offset_seconds)

    @property
    def bot_login(self) -> str:
        """``{slug}[bot]``: the login of the App's bot user (from ``GET /app``, read once)."""
        if self._bot_login is None:
            app = self._with_clock_skew_retry(self.integration.get_app)
            with self._lock:
                self._slug = app.slug
                self._bot_login = f"{app.slug}[bot]"
        return self._bot_login

    def mint_token(self, installation_id: int) -> InstallationAuthorization:
        log.info("minting an installation token for installation %s", installation_id)
        try:
            return self._with_clock_skew_retry(lambda: self.integration.get_access_token(installation_id))
        except GithubException as exc:
            if exc.status in (403, 404):
                # Uninstalled (404) or suspended (403): nothing cached for it may be reused. The
                # client is only dropped, not closed: the request that asked for the token is its caller.
                with self._lock:
                    self._clients.pop(installation_id, None)
                    self._auths.pop(installation_id, None)
            raise

    def app_call(self, call: Callable[[], Any]) -> Any:
        """Run a call made with the App's JWT (``self.integration``), tolerating a skewed clock."""
        return self._with_clock_skew_retry(call)

    def _with_clock_skew_retry(self, call: Callable[[], Any]) -> Any:
        """Run an App (JWT) call; if GitHub refuses the JWT's times, learn GitHub's clock from the
        answer's ``Date`` header and try once more."""
        try:
            return call()
        except GithubException as exc:
            offset = _clock_offset(exc)
            if offset is None:
                raise
            log.warning("this host's clock is %.0fs %s GitHub's; signing App JWTs on GitHub's clock",
                        abs(offset), "behind" if offset > 0 else "ahead of")
            self._jwt_auth.offset_seconds = offset
            return call()

    # --- installation clients -------------------------------------------------------------------

    def client_for(self, installation_id: int) -> Github:
        """The cached client for one installation (built on first use)."""
        with self._lock:
            client = self._clients.get(installation_id)
            if client is not None:
                return client
            auth = self._auths.get(installation_id)
            if auth is None:
                auth = InstallationTokenAuth(lambda: self.mint_token(installation_id), now=self._github_now)
                self._auths[installation_id] = auth
            pacer = self._pacers.get(installation_id)
            if pacer is None:
                pacer = self._pacer_factory(installation_id)
                self._pacers[installation_id] = pacer
            client = Github(auth=auth, **self._client_kwargs(installation_id))
            instrument(
                client.requester, installation_id, pacer, self.response_cache, reauthorize=auth.reauthorize
            )
            self._clients[installation_id] = client
            return client

    def forget_installation(self, installation_id: int) -> None:
        """Drop the installation's client and token (uninstalled, suspended, token revoked)."""
        with self._lock:
            client = self._clients.pop(installation_id, None)
            self._auths.pop(installation_id, None)
            self._pacers.pop(installation_id, None)
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a pooled connection must not fail the caller
                log.debug("closing the client of installation %s failed", installation_id, exc_info=True)

    def cached_installations(self) -> list[int]:
        with self._lock:
            return list(self._clients.keys())

    def close(self) -> None:
        for installation_id in self.cached_installations():
            self.forget_installation(installation_id)
        self.integration.close()


def _clock_offset(exc: GithubException) -> float | None:
    """GitHub's clock minus ours, when ``exc`` is a 401 refusing a JWT's iat/exp; else None."""
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or "")
    if exc.status != 401 or not any(m in message for m in _JWT_CLOCK_MESSAGES):
        return None
    headers = exc.headers or {}
    date = headers.get("date") or headers.get("Date")
    if not date:
        return None
    try:
        server_time = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None
    offset = server_time - time.time()
    return offset if abs(offset) >= MIN_SKEW_SECONDS else None
