"""What every reconciler receives: the job, an installation client and the repository's configuration.

Built by ``bot.reconcilers.dispatch.run_job`` for each job; reconcilers never build clients themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    # False only when no valid configuration was ever seen for the repository: the defaults are in
    # use and the merge gate must fail closed.
    config_valid: bool = True
