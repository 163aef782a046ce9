"""`release-bot worker [--concurrency N]`: job workers only (the Procfile's `worker:` process).

Any number of them, on any number of machines, may share one QUEUE_URL=redis:// queue (the jobs,
the state and the GitHub budget per installation are in Redis); with SQLite they share the file.

SIGTERM or SIGINT stops claiming, lets running jobs finish (up to 25 s, within the usual 30 s
grace of process managers) and exits 0; a job still running then keeps its lease until it lapses
and runs again elsewhere.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from bot.cli import _runtime
from bot.settings import Settings, SettingsError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("worker", help="run job workers only (no web server)")
    parser.add_argument(
        "--concurrency",
        "--threads",
        dest="threads",
        type=int,
        metavar="N",
        help="jobs run at once by this process (worker threads; default WORKER_THREADS or 4)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        if args.threads is not None:
            settings = settings.with_overrides(worker_threads=max(1, args.threads))
        if not settings.has_app_credentials and not settings.test_runner:
            raise SettingsError(
                "APP_ID and PRIVATE_KEY or PRIVATE_KEY_PATH are required for `release-bot worker`"
            )
    except SettingsError as exc:
        print(f"release-bot worker: {exc}", file=sys.stderr)
        return 2
    _runtime.setup_logging(settings)
    queue = _runtime.open_queue(settings)
    services = _runtime.build_services(settings, queue)
    pool = _runtime.build_pool(settings, queue, services)
    if pool is None:
        print("release-bot worker: no job runner available (see the log)", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pool.start()
    # The worker side owns the GitHub layer, so it runs the redelivery scan and resync (bot.recovery).
    from bot.recovery import build_recovery

    recovery = build_recovery(settings, queue, services)
    if recovery is not None:
        recovery.start()
    while not stop.wait(1.0):
        pass
    if recovery is not None:
        recovery.stop()
    pool.stop()
    close = getattr(services, "close", None)
    if close is not None:
        close()
    queue.close()
    return 0  # jobs left unfinished are safe under their leases: still a clean exit
