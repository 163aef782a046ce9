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
