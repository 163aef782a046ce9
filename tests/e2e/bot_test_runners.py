"""Job runners selected by RELEASE_BOT_TEST_RUNNER in end-to-end tests (never in production).

``slow_effect`` records its effect in a file, the way a reconciler applies a change on GitHub:
"start" when it begins, "done" when its effect is complete. A run killed in between leaves a
start without a done.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bot.jobs import JobSpec


def slow_effect(spec: JobSpec, services: Any) -> dict[str, int]:
    path = os.environ["RB_TEST_EFFECTS"]
    with open(path, "a") as f:
        f.write(f"start {spec.key} {os.getpid()}\n")
    time.sleep(float(os.environ.get("RB_TEST_SLEEP", "0")))
    with open(path, "a") as f:
        f.write(f"done {spec.key} {os.getpid()}\n")
    return {"api_calls": 0}


def idempotent_effect(spec: JobSpec, services: Any) -> dict[str, int]:
    """Like a reconciler: look for the effect first (the bot's markers), apply it only if absent.
    A job killed after its effect but before the queue recorded it runs again and writes nothing."""
    import fcntl

    path = os.environ["RB_TEST_EFFECTS"]
    with open(path, "a") as f:
        f.write(f"start {spec.key} {os.getpid()}\n")
    time.sleep(float(os.environ.get("RB_TEST_SLEEP", "0")))
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # find-then-write as one step, as GitHub's state is one
        f.seek(0)
        if f"done {spec.key} " not in f.read():
            f.write(f"done {spec.key} {os.getpid()}\n")
            f.flush()
    return {"api_calls": 0}


# --- the production reconcilers on a moved calendar ---------------------------------------------

_calendar_lock = __import__("threading").Lock()
_calendar_services: Any = None


def calendar_offset_seconds() -> float:
    """Seconds the bot's calendar runs ahead of the real clock, read from ``RB_TEST_CALENDAR_OFFSET``
    (a file the test rewrites as it goes; absent or empty: none)."""
    try:
        with open(os.environ["RB_TEST_CALENDAR_OFFSET"]) as f:
            text = f.read().strip()
    except (KeyError, FileNotFoundError):
        return 0.0
    return float(text) if text else 0.0


def moved_calendar(spec: JobSpec, services: Any) -> Any:
    """The production dispatcher, with the release reconciler's clock (the one it reads days from)
    moved by ``calendar_offset_seconds``: a test can put midnight a few seconds ahead. Everything
    else (the queue, its timed wake-ups, leases, GitHub's answers) runs on the real clock. A test
    runner gets no Services, so this one builds the production Services once per process."""
    global _calendar_services
    from datetime import UTC, datetime, timedelta

    from bot.queue.base import open_queue_from_settings
    from bot.reconcilers import release
    from bot.reconcilers.dispatch import run_job
    from bot.services import Services
    from bot.settings import Settings

    with _calendar_lock:
        if _calendar_services is None:
            settings = Settings.from_env()
            _calendar_services = Services.from_settings(settings, open_queue_from_settings(settings))
            release.utc_now = lambda: datetime.now(UTC) + timedelta(seconds=calendar_offset_seconds())
    return run_job(spec, _calendar_services)
