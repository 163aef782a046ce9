"""Worker threads: claim a job, run it, turn its outcome into a queue transition.

The runner is ``bot.reconcilers.dispatch.run_job(job_spec, services)`` in production; tests (and
only tests) may select another with RELEASE_BOT_TEST_RUNNER=module:function. A runner returns a
report carrying the number of GitHub API calls (``api_calls`` attribute or mapping key) or None.

Leases: a job is claimed for ``lease_seconds`` and a heartbeat thread renews the leases of running
jobs every third of that, so a live worker keeps its job however long it runs, and a job of a
SIGKILLed process is claimable again once its lease lapses.

Stopping (SIGTERM): ``stop()`` stops claiming, lets running jobs finish for up to
``drain_seconds``, and returns. A job still running then keeps its lease until it lapses and runs
again elsewhere: nothing is lost.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from bot.errors import PermanentError, RetryLater
from bot.jobs import JobSpec, parse_key
from bot.logging import log_fields
from bot.metrics import JOB_DURATION, JOBS
from bot.queue.base import FinishResult, Job, JobQueue

log = logging.getLogger("bot.worker")

Runner = Callable[[JobSpec, Any], Any]
# How often an idle worker drops the cached clients of installations removed meanwhile (intake
# records removals in the store, possibly from another process; jobs check before they run).
REMOVAL_SWEEP_SECONDS = 5.0


def load_runner(spec: str | None) -> Runner:
    """``module:function`` (RELEASE_BOT_TEST_RUNNER) or the production dispatcher."""
    if spec:
        module_name, _, function_name = spec.partition(":")
        if not module_name or not function_name:
            raise ValueError(f"runner must be 'module:function', got {spec!r}")
        return getattr(importlib.import_module(module_name), function_name)
    from bot.reconcilers.dispatch import run_job

    return run_job


def _api_calls(report: Any) -> int | None:
    if report is None:
        return None
    if isinstance(report, dict):
        value = report.get("api_calls")
    else:
        value = getattr(report, "api_calls", None)
    return value if isinstance(value, int) else None


def _kind(key: str) -> str:
    try:
        return parse_key(key)[0]
    except ValueError:
        return "unknown"


class WorkerPool:
    def __init__(
        self,
        queue: JobQueue,
        runner: Runner,
        services: Any = None,
        threads: int = 4,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.1,
        drain_seconds: float = 25.0,
    ) -> None:
        self.queue = queue
        self.runner = runner
        self.services = services
        self.threads = threads
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.drain_seconds = drain_seconds
        self._stopping = threading.Event()
        self._running: dict[int, Job] = {}
        self._running_lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._heartbeat: threading.Thread | None = None
        self._last_purge = 0.0
        self._last_sweep = 0.0
        # This process's entry in a shared queue's registry of worker threads (fairness is sized
        # by every machine's threads together); a no-op for the embedded queue.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # --- lifecycle ---

    def start(self) -> None:
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"release-bot-worker-{n}", daemon=True)
            thread.start()
            self._workers.append(thread)
        self._announce()
        self._heartbeat = threading.Thread(target=self._renew_loop, name="release-bot-lease", daemon=True)
        self._heartbeat.start()
        log_fields(log, "workers started", threads=self.threads, lease_seconds=self.lease_seconds)

    def stop(self, drain_seconds: float | None = None) -> bool:
        """Stop claiming and wait for running jobs. True when every job finished in time."""
        self._stopping.set()
        deadline = time.monotonic() + (self.drain_seconds if drain_seconds is None else drain_seconds)
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        drained = not any(t.is_alive() for t in self._workers)
        try:
            self.queue.leave(self.worker_id)
        except Exception:  # noqa: BLE001 - its heartbeat expires anyway
            log.exception("leaving the worker registry failed")
        with self._running_lock:
            left = [job.key for job in self._running.values()]
        log_fields(log, "workers stopped", drained=drained, unfinished=left)
        return drained

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # --- the loops ---

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self.queue.claim(self.lease_seconds)
            except Exception:  # noqa: BLE001 - a locked/broken database must not kill the thread
                log.exception("claiming a job failed")
                self._stopping.wait(1.0)
                continue
            if job is None:
                self._housekeeping()
                self._stopping.wait(self.poll_seconds)
                continue
            try:
                self.run_one(job)
            except Exception:  # noqa: BLE001 - recording the outcome failed (disk full): the
                # job keeps its row and runs again once its lease lapses; the thread must live on.
                log.exception("recording the outcome of job %s failed", job.key)
                self._stopping.wait(1.0)

    def _renew_loop(self) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while True:
            if self._stopping.is_set():
                if not self._any_running():
                    return
                time.sleep(interval)  # draining: keep the leases of jobs still finishing
            else:
                self._stopping.wait(interval)
            if not self._stopping.is_set():
                self._announce()
            with self._running_lock:
                jobs = list(self._running.values())
            for job in jobs:
                try:
                    if not self.queue.renew(job, self.lease_seconds):
                        log_fields(log, "lease lost", logging.WARNING, key=job.key, job_id=job.id)
                except Exception:  # noqa: BLE001
                    log.exception("renewing a lease failed")

    def _announce(self) -> None:
        try:
            self.queue.heartbeat(self.worker_id, self.threads, self.lease_seconds)
        except Exception:  # noqa: BLE001 - a brief outage of a shared queue must not stop renewing leases
            log.exception("worker heartbeat failed")

    def _any_running(self) -> bool:
        with self._running_lock:
            return bool(self._running)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep > REMOVAL_SWEEP_SECONDS:
            self._last_sweep = now
            sweep = getattr(self.services, "forget_removed_installations", None)
            if sweep is not None:
                try:
                    sweep()
                except Exception:  # noqa: BLE001
                    log.exception("dropping clients of removed installations failed")
        if now - self._last_purge > 3600:
            self._last_purge = now
            try:
                self.queue.purge_expired()
            except Exception:  # noqa: BLE001
                log.exception("purging expired rows failed")

    def run_one(self, job: Job) -> str:
        """Run one claimed job and record its outcome. Returns the outcome name."""
        with self._running_lock:
            self._running[job.id] = job
        started = time.perf_counter()
        report: Any = None
        error: str | None = None
        failure: BaseException | None = None
        try:
            report = self.runner(job.spec, self.services)
            result = self.queue.complete(job)
            outcome = "success"
        except PermanentError as exc:
            failure = exc
            error = str(exc) or type(exc).__name__
            result = self.queue.fail_permanently(job, error)
            outcome = "permanent"
        except RetryLater as exc:
            failure = exc
            error = exc.reason
            result = self.queue.retry_later(job, exc.not_before, exc.reason)
            outcome = "retry_later"
        except Exception as exc:  # noqa: BLE001 - any other failure is transient by definition
            failure = exc
            error = f"{type(exc).__name__}: {exc}"
            log.debug("job failed", exc_info=True)
            result = self.queue.fail(
                job, error[:2000] + "\n" + "".join(traceback.format_exc(limit=5))[-2000:]
            )
            outcome = "dead_letter" if result.dead_lettered else "retry"
        finally:
            with self._running_lock:
                self._running.pop(job.id, None)
        duration = time.perf_counter() - started
        if isinstance(result, FinishResult) and result.stale:
            outcome = "stale"  # the lease was lost; another worker owns the key now
        kind = _kind(job.key)
        JOBS.labels(kind=kind, outcome=outcome).inc()
        JOB_DURATION.labels(kind=kind).observe(duration)
        log_fields(
            log,
            "job",
            logging.WARNING if outcome in ("dead_letter", "permanent", "retry") else logging.INFO,
            job_id=job.id,
            key=job.key,
            installation_id=job.spec.installation_id,
            repo=job.spec.repo,
            reason=job.spec.reason,
            attempt=job.attempts,
            outcome=outcome,
            error=error,
            requeued=result.requeued,
            duration_ms=round(duration * 1000, 2),
            # A failed job has no report; the github layer may attach its count to the exception.
            api_calls=_api_calls(report if failure is None else failure),
        )
        return outcome
