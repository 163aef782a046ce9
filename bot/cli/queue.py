"""`release-bot queue`: the shared queue as operators see it, and moving between backends.

    release-bot queue stats                  depth per installation, oldest wait, dead letters (JSON)
    release-bot queue migrate FROM TO        copy waiting work, delivery ids and state from one
                                             QUEUE_URL to another (sqlite:///path <-> redis://...)

The move without losing queued work (README, docs/scaling.md): point the web processes at TO
first, stop the workers of FROM, run `migrate FROM TO`, then start workers on TO.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.queue.base import open_queue, sqlite_path
from bot.settings import Settings, SettingsError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("queue", help="queue statistics; migrate queued work between backends")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("stats", help="depth per installation, oldest waiting job's age, dead letters")
    migrate = actions.add_parser("migrate", help="copy queued work, delivery ids and state from FROM to TO")
    migrate.add_argument(
        "source", metavar="FROM", help="QUEUE_URL to read (sqlite:///path or redis://HOST:PORT/DB)"
    )
    migrate.add_argument("target", metavar="TO", help="QUEUE_URL to write")
    migrate.add_argument("--include-failed", action="store_true", help="queue dead letters afresh on TO")


def _check_url(url: str) -> None:
    if not url.startswith(("sqlite://", "redis://", "rediss://")):
        raise SettingsError(f"not a QUEUE_URL (sqlite:///path or redis://HOST:PORT/DB): {url!r}")
    path = sqlite_path(url)
    if path is not None:
        import os

        if not os.path.exists(path):
            raise SettingsError(f"no SQLite store at {os.path.abspath(path)}")


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "stats":
            settings = Settings.from_env()
            _check_url(settings.queue_url)
            queue = open_queue(settings.queue_url)
            stats = queue.stats()
            print(json.dumps({**stats.counts.as_dict(), **stats.as_dict()}, sort_keys=True))
            queue.close()
            return 0
        _check_url(args.source)
        if not args.target.startswith(("sqlite://", "redis://", "rediss://")):
            raise SettingsError(f"not a QUEUE_URL (sqlite:///path or redis://HOST:PORT/DB): {args.target!r}")
        if args.source == args.target:
            raise SettingsError("FROM and TO are the same queue")
    except SettingsError as exc:
        print(f"release-bot queue: {exc}", file=sys.stderr)
        return 2
    from bot.queue.migrate import migrate

    source, target = open_queue(args.source), open_queue(args.target)
    try:
        report = migrate(source, args.source, target, include_failed=args.include_failed)
    finally:
        source.close()
        target.close()
    print(json.dumps(report.as_dict(), sort_keys=True))
    return 0
