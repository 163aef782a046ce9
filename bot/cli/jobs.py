"""`release-bot jobs`: list pending, running and failed jobs with their reasons; retry or drop one."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bot.cli._runtime import StoreMissing, open_existing_queue
from bot.queue.base import FAILED, PENDING, RUNNING, Job, JobQueue
from bot.settings import Settings, SettingsError

_STATES = {
    "pending": (PENDING,),
    "running": (RUNNING,),
    "failed": (FAILED,),
    "all": (PENDING, RUNNING, FAILED),
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("jobs", help="list pending and failed jobs; retry or drop one")
    parser.add_argument(
        "--state", choices=sorted(_STATES), default="all", help="which jobs to list (default all)"
    )
    parser.add_argument("--retry", type=int, metavar="ID", help="move a failed job back to pending")
    parser.add_argument("--drop", type=int, metavar="ID", help="delete a pending or failed job")
    parser.add_argument(
        "--wakeups", action="store_true", help="list the timed wake-ups (keys to run again at a moment)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per job")
    parser.add_argument("--limit", type=int, default=1000)


def _describe(job: Job, now: float) -> str:
    due = ""
    if job.state == PENDING and job.not_before > now:
        due = f" due in {job.not_before - now:.0f}s"
    error = ""
    if job.last_error:
        first_line = job.last_error.strip().splitlines()[0]
        kind = "permanent" if job.permanent else "error"
        error = f"\n      {kind}: {first_line}"
    return (
        f"{job.id:>6}  {job.state:<8} {job.key:<32} attempts={job.attempts}{due}"
        f"  repo={job.spec.repo or '-'} reason={job.spec.reason or '-'}{error}"
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"release-bot jobs: {exc}", file=sys.stderr)
        return 2
    try:
        queue = open_existing_queue(settings)
    except StoreMissing as exc:
        print(f"release-bot jobs: {exc}", file=sys.stderr)
        return 2
    if args.retry is not None:
        if queue.retry(args.retry):
            print(f"job {args.retry} is pending again")
            return 0
        print(f"release-bot jobs: no failed job {args.retry}", file=sys.stderr)
        return 1
    if args.drop is not None:
        if queue.drop(args.drop):
            print(f"job {args.drop} dropped")
            return 0
        print(
            f"release-bot jobs: no pending or failed job {args.drop} (running jobs cannot be dropped)",
            file=sys.stderr,
        )
        return 1
    if args.wakeups:
        return _print_wakeups(queue, args)
    jobs = queue.list_jobs(_STATES[args.state], limit=args.limit)
    now = time.time()
    if args.json:
        for job in jobs:
            print(
                json.dumps(
                    {
                        "id": job.id,
                        "state": job.state,
                        "key": job.key,
                        "installation_id": job.spec.installation_id,
                        "repo": job.spec.repo,
                        "reason": job.spec.reason,
                        "hints": job.spec.hints,
                        "attempts": job.attempts,
                        "not_before": job.not_before,
                        "permanent": job.permanent,
                        "error": job.last_error,
                    }
                )
            )
        return 0
    counts = queue.counts()
    print(f"pending={counts.pending} running={counts.running} failed={counts.failed}")
    for job in jobs:
        print(_describe(job, now))
    return 0


def _print_wakeups(queue: JobQueue, args: argparse.Namespace) -> int:
    now = time.time()
    for wakeup in queue.list_wakeups(limit=args.limit):
        spec = wakeup.spec
        if args.json:
            fields = {"key": spec.key, "installation_id": spec.installation_id, "repo": spec.repo}
            print(json.dumps({**fields, "reason": spec.reason, "at": wakeup.at}))
        else:
            print(
                f"{spec.key:<32} due in {max(0.0, wakeup.at - now):.0f}s"
                f"  repo={spec.repo or '-'} reason={spec.reason or '-'}"
            )
    return 0
