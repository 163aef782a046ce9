"""GitHub errors mapped to what the work queue should do with the job.

Applied once, at the job boundary (``bot.reconcilers.dispatch.run_job``); reconcilers may catch
a 404 themselves where one is expected (a pull request that may have vanished).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from github.GithubException import GithubException

from bot.errors import PermanentError, RetryLater

# ``GithubException`` is the error every call of this layer raises; the layers above catch it from
# here (``bot.github.errors.GithubException``), never from PyGithub itself.
__all__ = [
    "GithubException",
    "SECONDARY_LIMIT_WAIT_SECONDS",
    "is_secondary_rate_limit",
    "map_github_exception",
]

# GitHub's documented advice for a secondary rate limit without Retry-After: wait at least a minute.
SECONDARY_LIMIT_WAIT_SECONDS = 60.0


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict):
        return str(data.get("message") or "")
    return str(data or "")


def is_secondary_rate_limit(message: str) -> bool:
    text = message.lower()
    return "secondary rate limit" in text or text.endswith(
        ("please retry your request again later.", "please wait a few minutes before you try again.")
    )


def map_github_exception(
    exc: GithubException, wall_clock: Callable[[], float] = time.time
) -> PermanentError | RetryLater | None:
    """The queue-level meaning of a PyGithub exception, or None when it is transient (retry with backoff)."""
    status = exc.status
    message = _message(exc)
    lower = message.lower()
    headers = exc.headers or {}
    if status in (403, 429):
        remaining = headers.get("x-ratelimit-remaining", headers.get("X-RateLimit-Remaining"))
        if str(remaining) == "0" or lower.startswith("api rate limit exceeded"):
            reset = headers.get("x-ratelimit-reset", headers.get("X-RateLimit-Reset"))
            try:
                not_before = float(reset) + 1
            except (TypeError, ValueError):
                not_before = wall_clock() + SECONDARY_LIMIT_WAIT_SECONDS
            return RetryLater(not_before, f"GitHub primary rate limit exhausted: {message}")
        if status == 429 or is_secondary_rate_limit(message):
            retry_after = headers.get("retry-after", headers.get("Retry-After"))
            try:
                wait = max(float(retry_after), 1.0)
            except (TypeError, ValueError):
                wait = SECONDARY_LIMIT_WAIT_SECONDS
            return RetryLater(wall_clock() + wait, f"GitHub secondary rate limit: {message}")
        if "not accessible by integration" in lower:
            return PermanentError(
                "GitHub refused the App (403 Resource not accessible by integration): "
                "the App lacks a permission or the repository is not installed"
            )
        if "suspended" in lower:
            return PermanentError(f"the installation is suspended (403): {message}")
        return PermanentError(f"GitHub refused the request (403): {message}")
    if status == 404:
        return PermanentError(
            f"not found on GitHub (404: deleted, or not installed): {message or 'Not Found'}"
        )
    if status == 410:
        return PermanentError(f"gone from GitHub (410): {message or 'Gone'}")
    if status == 401:
        # A revoked token or a clock-skewed JWT: the caller drops the cached client and retries.
        return None
    return None
