"""Job runners for tests/e2e/test_redis_topology.py (selected by RELEASE_BOT_TEST_RUNNER; tests only).

``comment`` makes one real GitHub write per job through the production GitHub layer (Services:
installation token, the request hook, the pacer of the deployment, which on QUEUE_URL=redis:// is
the shared Redis one) and records which process made it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from bot.jobs import JobSpec

_lock = threading.Lock()
_services: Any = None


def _production_services() -> Any:
    global _services
    with _lock:
        if _services is None:
            from bot.queue.base import open_queue
            from bot.services import Services
            from bot.settings import Settings

            settings = Settings.from_env()
            _services = Services.from_settings(settings, open_queue(settings.queue_url))
        return _services


def comment(spec: JobSpec, services: Any) -> dict[str, int]:
    client = _production_services().client_for(spec.installation_id)
    issue = os.environ["RB_TEST_ISSUE"]
    client.requester.requestJsonAndCheck(
        "POST",
        f"/repos/{spec.repo}/issues/{issue}/comments",
        input={"body": f"{spec.key} from {os.getpid()}"},
    )
    with open(os.environ["RB_TEST_EFFECTS"], "a") as f:
        f.write(f"wrote {spec.key} {os.getpid()}\n")
    return {"api_calls": 1}


def effect(spec: JobSpec, services: Any) -> dict[str, int]:
    """As bot_test_runners.slow_effect ("start KEY PID", sleep, "done KEY PID"), but the keys in
    RB_TEST_SLOW_KEYS take RB_TEST_SLOW_SLEEP: a run of one of them is surely still going when the
    test kills its process."""
    import time

    slow = spec.key in os.environ.get("RB_TEST_SLOW_KEYS", "").split(",")
    with open(os.environ["RB_TEST_EFFECTS"], "a") as f:
        f.write(f"start {spec.key} {os.getpid()}\n")
    time.sleep(float(os.environ["RB_TEST_SLOW_SLEEP" if slow else "RB_TEST_SLEEP"]))
    with open(os.environ["RB_TEST_EFFECTS"], "a") as f:
        f.write(f"done {spec.key} {os.getpid()}\n")
    return {"api_calls": 0}
