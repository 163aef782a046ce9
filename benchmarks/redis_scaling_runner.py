"""The job of benchmarks/redis_scaling.py (RELEASE_BOT_TEST_RUNNER=redis_scaling_runner:job): one
read and one write on the job's repository through the production GitHub layer (installation
token, request hook, the deployment's pacer: on QUEUE_URL=redis:// the shared Redis one)."""

from __future__ import annotations

import json
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


def job(spec: JobSpec, services: Any) -> dict[str, int]:
    requester = _production_services().client_for(spec.installation_id).requester
    issue = json.loads(os.environ["RB_BENCH_ISSUES"])[spec.repo]
    requester.requestJsonAndCheck("GET", f"/repos/{spec.repo}/issues/{issue}")
    requester.requestJsonAndCheck(
        "POST", f"/repos/{spec.repo}/issues/{issue}/comments", input={"body": spec.key}
    )
    return {"api_calls": 2}
