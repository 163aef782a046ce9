"""What every reconciler receives: the job, an installation client and the repository's configuration
(``config``, the mapping; ``repo_config``, the same typed) and who holds which role (``roles``).

Built by ``bot.reconcilers.dispatch.run_job`` for each job; reconcilers never build clients themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config.repo_config import RepoConfig
from bot.github.permissions import Roles
from bot.jobs import JobSpec
from bot.store import KeyValueStore

if TYPE_CHECKING:
    from bot.github.client import GitHubClient


@dataclass
class JobContext:
    job: JobSpec
    gh: GitHubClient  # PyGithub client authenticated as the installation, paced and counted
    repo_full_name: str  # "owner/name"
    bot_login: str  # "release-bot[bot]": only artifacts written by this login carry trusted markers
    app_id: int
    config: dict[str, Any]  # effective configuration (defaults merged, validated)
    config_error: str | None  # set when the repository's file is invalid (the last valid one is in use)
    store: KeyValueStore
    enqueue: Callable[[list[JobSpec]], None]  # fan-out to other keys
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("bot.reconcile"))
    services: Any = None  # the process-wide Services (GitHub app, caches) for helpers that need them
    # A timed wake-up: run a key again at an epoch second (``JobQueue.schedule``); None without a queue.
    schedule: Callable[[JobSpec, float], Any] | None = None
    # False only when no valid configuration was ever seen for the repository: the defaults are in
    # use and the merge gate must fail closed.
    config_valid: bool = True
    _parsed: tuple[dict[str, Any], RepoConfig] | None = field(default=None, init=False, repr=False)

    @property
    def repo_config(self) -> RepoConfig:
        """``config`` typed, parsed once (again only when ``config`` is replaced: a reload)."""
        parsed = self._parsed
        if parsed is None or parsed[0] is not self.config:
            parsed = (
                self.config,
                RepoConfig.from_mapping(self.config, self.repo_full_name.partition("/")[0]),
            )
            self._parsed = parsed
        return parsed[1]

    @property
    def roles(self) -> Roles:
        """Who holds which role on this repository (cached look-ups, ``bot.github.permissions``)."""
        return Roles(self.gh, self.repo_full_name, self.repo_config.roles, self.bot_login)
