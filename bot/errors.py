"""Errors that decide what the work queue does with a job.

A reconciler raises these; the worker turns them into queue transitions.
Anything else is a transient failure, retried with exponential backoff.
"""

from __future__ import annotations


class PermanentError(Exception):
    """The job can never succeed (403 not accessible by integration, 404 of a deleted object,
    410, an uninstalled repository). The job ends at once with this reason; no retry."""


class RetryLater(Exception):
    """The job must wait (exhausted primary rate limit, a long Retry-After).

    The worker requeues it to run no earlier than ``not_before`` (a Unix timestamp) instead of
    sleeping a worker thread. It does not count as a failed attempt.
    """

    def __init__(self, not_before: float, reason: str) -> None:
        super().__init__(reason)
        self.not_before = not_before
        self.reason = reason
