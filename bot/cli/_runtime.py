"""What `serve` and `worker` share: building the queue, the Services and the worker pool.

Not a subcommand (the dispatcher only loads the modules it lists).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from bot.intake.endpoint import InstallationRemoved
from bot.intake.routing import DropInstallation
from bot.logging import configure_logging, log_fields
from bot.queue.base import JobQueue, open_queue_from_settings, sqlite_path
from bot.queue.worker import WorkerPool, load_runner
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("bot.runtime")


def setup_logging(settings: Settings) -> None:
    configure_logging(
        settings.log_level, secrets=[settings.webhook_secret, settings.private_key, settings.queue_password]
    )


def open_queue(settings: Settings) -> JobQueue:
    return open_queue_from_settings(settings)


class StoreMissing(Exception):
    """A command that reads or feeds a running bot's store found none where QUEUE_URL points."""


def open_existing_queue(settings: Settings) -> JobQueue:
    """The store ``serve``/``worker`` created; ``StoreMissing`` instead of creating an empty one,
    which would answer "no jobs" (or take jobs no bot reads) in the wrong directory."""
    path = sqlite_path(settings.queue_url)
    if path is not None and not os.path.exists(path):
        raise StoreMissing(
            f"no store at {os.path.abspath(path)} (QUEUE_URL={settings.queue_url});"
            " run this in the directory "
            "where `release-bot serve` or `worker` runs, or set QUEUE_URL to its store"
        )
    return open_queue_from_settings(settings)


def build_services(settings: Settings, queue: JobQueue) -> Services | None:
    """The process-wide Services (GitHub App auth, caches). None when a test runner replaces the
    reconcilers, or when the GitHub layer cannot be built (then no worker starts)."""
    if settings.test_runner:
        return None
    if not settings.has_app_credentials:
        # Sandbox mode without a sandbox: webhooks are accepted and queued, nothing can run them.
        log_fields(log, "no App credentials: workers disabled, webhooks are only queued", logging.WARNING)
        return None
    # Imported here: a web process without App credentials never loads the GitHub layer. A broken
    # install fails the start (an ImportError is not a reason to run without workers silently).
    from bot.services import Services

    # With credentials, a bad key or an unreachable GitHub fails the start loudly.
    return Services.from_settings(settings, queue)


def build_pool(settings: Settings, queue: JobQueue, services: Services | None) -> WorkerPool | None:
    if settings.worker_threads <= 0:
        return None
    if services is None and not settings.test_runner:
        return None
    try:
        runner = load_runner(settings.test_runner)
    except (ImportError, AttributeError, RuntimeError, ValueError) as exc:
        log_fields(log, "no job runner: workers disabled", logging.ERROR, error=str(exc))
        return None
    return WorkerPool(
        queue,
        runner,
        services=services,
        threads=settings.worker_threads,
        lease_seconds=settings.lease_seconds,
    )


def installation_removed_hook(services: Services | None) -> InstallationRemoved | None:
    """Intake's callback: forget the installation's cached clients in this process."""
    if services is None:
        return None
    forget = services.forget_installation

    def hook(control: DropInstallation) -> None:
        # Also when only some repositories were removed: the cached token's access changed.
        forget(control.installation_id)

    return hook
