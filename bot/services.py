"""The process-wide services a worker hands to every job: the GitHub App, its cached installation
clients, the configuration loader and the store. Built once per process from ``Settings``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.config.loader import ConfigLoader
from bot.github.auth import GitHubApp
from bot.github.client import GitHubClient
from bot.github.freshness import LocalTouchClock, StoreTouchClock
from bot.github.pacer import PacerLimits
from bot.github.response_cache import ResponseCache
from bot.installation_removals import RemovalWatch
from bot.jobs import JobSpec
from bot.settings import Settings, SettingsError
from bot.store import KeyValueStore

log = logging.getLogger(__name__)


class Services:
    def __init__(
        self,
        app: GitHubApp,
        store: KeyValueStore | None,
        config_loader: ConfigLoader | None = None,
        enqueue: Callable[[list[JobSpec]], None] | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.config_loader = config_loader or ConfigLoader(store)
        # Fan-out goes to the queue; the queue object is the store in production.
        self._enqueue = enqueue or getattr(store, "enqueue", None)
        self._schedule: Callable[[JobSpec, float], Any] | None = getattr(store, "schedule", None)
        # Intake may run in another process: it records removed installations in the store.
        self._removals = RemovalWatch(store, self.forget_installation)
        # The announcement channels' webhook URLs (ANNOUNCE_*: secrets, never logged) and the
        # release calendar's address of a repository (None: no link), set by ``from_settings``.
        self.announce_urls: Mapping[str, str] = {}
        self.calendar_link: Callable[[str], str | None] = lambda _repo: None

    @classmethod
    def from_settings(cls, settings: Settings, store: KeyValueStore | None) -> Services:
        if settings.app_id is None:
            raise SettingsError("APP_ID is not set: the GitHub layer needs the App's id")
        private_key = settings.load_private_key()
        if not private_key:
            raise SettingsError(
                "neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set: the GitHub layer needs the App's key"
            )
        limits = PacerLimits.for_mode(
            sandbox=settings.sandbox,
            writes_per_minute=settings.github_writes_per_minute,
            points_per_minute=settings.github_points_per_minute,
            writes_per_hour=settings.github_writes_per_hour,
        )
        pacers = None
        redis_client = getattr(store, "client", None) if settings.uses_redis else None
        if redis_client is not None:
            # One budget per installation for every worker on every machine (bot/github/pacer_redis.py).
            from bot.github.pacer_redis import redis_pacers

            pacers = redis_pacers(limits, redis_client, getattr(store, "prefix", "release-bot:"))
        cache = None
        if settings.github_cache:
            # Freshness windows close for every process that shares the store (bot.github.freshness).
            touches = StoreTouchClock(store) if hasattr(store, "update_state") else LocalTouchClock()
            cache = ResponseCache(
                settings.github_cache_max_entries,
                settings.github_cache_max_mb * 1024 * 1024,
                touches=touches,
                max_window_seconds=settings.github_freshness_max_seconds,
            )
        app = GitHubApp(
            settings.app_id,
            private_key,
            base_url=settings.github_api_url,
            pacer_limits=limits,
            pacer_factory=pacers,
            response_cache=cache,
        )
        log.info(
            "GitHub layer ready: %s app %s, pacing %s writes/min %s points/min (%s), read cache %s",
            settings.github_api_url,
            settings.app_id,
            limits.writes_per_minute,
            limits.points_per_minute,
            "shared in Redis" if pacers is not None else "per process",
            f"on ({settings.github_cache_max_entries} answers, {settings.github_cache_max_mb} MB)"
            if cache
            else "off",
        )
        services = cls(app, store)
        services.announce_urls = dict(settings.announce_urls)
        services.calendar_link = _calendar_links(settings)
        return services

    @property
    def app_id(self) -> int:
        return self.app.app_id

    @property
    def bot_login(self) -> str:
        return self.app.bot_login

    def client_for(self, installation_id: int) -> GitHubClient:
        """The installation's client; one built before the installation was deleted or suspended
        (as recorded by intake, possibly in another process) is dropped first."""
        self._removals.check(installation_id)
        return self.app.client_for(installation_id)

    def forget_removed_installations(self) -> list[int]:
        """Drop the cached clients of installations removed since this process last looked (for
        idle workers: a client no job asks for again must not outlive its installation)."""
        return self._removals.sweep(self.app.cached_installations())

    def enqueue(self, jobs: list[JobSpec]) -> None:
        if not jobs:
            return
        if self._enqueue is None:
            raise RuntimeError("Services has no queue to enqueue fan-out jobs on")
        self._enqueue(jobs)

    def schedule(self, spec: JobSpec, at: float) -> Any:
        """A timed wake-up of ``spec.key`` at ``at`` (epoch seconds): ``JobQueue.schedule``. Without a
        queue (a store that is none: tests) nothing is kept and None is returned."""
        if self._schedule is None:
            return None
        return self._schedule(spec, at)

    def forget_installation(self, installation_id: int) -> None:
        """Drop the installation's cached client and token (deleted, suspended, token revoked)."""
        self.app.forget_installation(installation_id)
        log.info("forgot the cached client of installation %s", installation_id)

    def close(self) -> None:
        self.app.close()

    def __repr__(self) -> str:  # never show keys or tokens
        return f"Services(app_id={self.app.app_id}, base_url={self.app.base_url!r})"


def _calendar_links(settings: Settings) -> Callable[[str], str | None]:
    """The calendar feed's address of a repository, on the bot's public address, signed with the
    session secret (read when first needed: the web process may be the one that creates it)."""
    from bot.core.calendar_token import calendar_url
    from bot.session_secret import load_session_secret

    secret: list[str] = []

    def link(repo: str) -> str | None:
        if not secret:
            try:
                secret.append(load_session_secret(settings))
            except (OSError, RuntimeError) as exc:
                log.warning("no release calendar link: the session secret cannot be read (%s)", exc)
                return None
        return calendar_url(settings.public_base_url, secret[0], repo)

    return link
