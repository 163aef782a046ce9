"""`release-bot reconcile [OWNER/REPO]`: re-sync everything after an outage, from an empty store.

For every installation of the App (or the one repository named) each repository gets a ``repo:``
job with the ``fan_out`` hint: the repo reconciler reloads its configuration and enqueues every open
version milestone and every open pull request into a release branch, and release discovery adopts
releases in flight and creates the bot's labels. Reconcilers converge, so running this on a
healthy installation changes nothing on GitHub.

By default the jobs go on the queue (``QUEUE_URL``) for the workers of ``release-bot serve`` /
``worker``; ``--now`` runs them in this process until the fan-out is exhausted (no server needed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import deque
from typing import Any

from bot.github.freshness import ALL_WINDOW_FAMILIES
from bot.jobs import JobSpec, repo_key
from bot.settings import Settings, SettingsError

log = logging.getLogger("bot.cli.reconcile")

# A key reached again in one --now run (a duplicate milestone waking its twin) runs at most this often.
MAX_RUNS_PER_KEY = 3

# An operator's reconcile reads past the read cache's freshness windows (bot.github.freshness):
# whatever they suspect is off is read from GitHub again (revalidated: unchanged answers cost 304s).
_HINTS = {"fan_out": True, "touched": sorted(ALL_WINDOW_FAMILIES)}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="re-sync every installation (or one repository) with GitHub",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("repo", nargs="?", metavar="OWNER/REPO", help="only this repository")
    parser.add_argument(
        "--now", action="store_true", help="run the jobs in this process instead of enqueuing them"
    )


def _repositories(services: Any, only: str | None) -> list[tuple[int, int, str]]:
    """(installation id, repository id, full name) of every repository the App can see."""
    from bot.github.client import active_installation_ids
    from bot.github.paging import list_all

    found: list[tuple[int, int, str]] = []
    for installation_id in active_installation_ids(services.app):
        gh = services.client_for(installation_id)
        for repo in list_all(gh, "/installation/repositories", items_key="repositories"):
            name = str(repo.get("full_name") or "")
            if only is None or name.lower() == only.lower():
                found.append((installation_id, int(repo["id"]), name))
    return found


def run(args: argparse.Namespace) -> int:
    from bot.cli._runtime import StoreMissing, open_existing_queue, open_queue, setup_logging

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"release-bot reconcile: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    if args.repo is not None and args.repo.count("/") != 1:
        print(f"release-bot reconcile: expected OWNER/REPO, got {args.repo!r}", file=sys.stderr)
        return 2
    if not settings.has_app_credentials:
        print("release-bot reconcile: APP_ID and the App's private key are required", file=sys.stderr)
        return 2
    from bot.services import Services

    try:
        # Enqueued jobs are for a running bot: its store must exist. --now works from an empty store.
        queue = open_queue(settings) if args.now else open_existing_queue(settings)
    except StoreMissing as exc:
        print(f"release-bot reconcile: {exc} (or use --now)", file=sys.stderr)
        return 2
    services = Services.from_settings(settings, queue)
    try:
        repos = _repositories(services, args.repo)
        if args.repo is not None and not repos:
            print(f"release-bot reconcile: {args.repo} is not installed for this App", file=sys.stderr)
            return 1
        jobs = [
            JobSpec(repo_key(repo_id), installation_id, name, reason="release-bot reconcile", hints=_HINTS)
            for installation_id, repo_id, name in repos
        ]
        if not args.now:
            queue.enqueue(jobs)
            print(f"enqueued {len(jobs)} repository job(s)")
            return 0
        return _run_now(jobs, services)
    finally:
        services.close()


def _run_now(jobs: list[JobSpec], services: Any) -> int:
    from bot.reconcilers.dispatch import run_job

    pending: deque[JobSpec] = deque(jobs)
    runs: dict[str, int] = {}
    failures = calls = 0
    while pending:
        job = pending.popleft()
        if runs.get(job.key, 0) >= MAX_RUNS_PER_KEY:
            continue
        runs[job.key] = runs.get(job.key, 0) + 1
        try:
            report = run_job(job, services, enqueue=pending.extend)
            calls += int(getattr(report, "api_calls", 0) or 0)
        except Exception as exc:  # one repository's failure must not stop the others
            failures += 1
            calls += int(getattr(exc, "api_calls", 0) or 0)
            log.error("job %s failed: %s", job.key, exc)
    print(
        f"ran {sum(runs.values())} job(s) over {len(runs)} key(s), {calls} API call(s), {failures} failure(s)"
    )
    return 1 if failures else 0
