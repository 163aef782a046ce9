"""The one retry policy for GitHub requests, as a urllib3 ``Retry`` (PyGithub's extension point).

PyGithub hands its ``retry`` object to the requests/urllib3 adapter, so retries happen below
PyGithub and above the socket, once. This policy:

- retries 500/502/503/504 for idempotent methods (GET, HEAD, OPTIONS, PUT, PATCH, DELETE) with
  exponential backoff, at most ``total`` times. A POST that failed with 5xx may have been applied
  (a comment created): it is not replayed blindly; the job fails, and its reconcile re-reads the
  state first (the bot's markers find what was already written), then retries with backoff;
- retries a secondary rate limit (403/429 carrying ``Retry-After``) for any method, since GitHub
  did not process the request;
- waits ``Retry-After`` when GitHub sends it, but only up to ``max_wait`` seconds: a longer wait,
  or an exhausted primary limit (``X-RateLimit-Remaining: 0``), raises ``RetryLater`` with the time
  to come back (``X-RateLimit-Reset``) so the queue requeues the job instead of blocking a worker;
- hands every other response back to PyGithub unread (``raise_on_status=False``): a 403
  "Resource not accessible by integration" becomes PyGithub's exception and is mapped at the job
  boundary (``bot.github.errors``).

All waiting happens in ``increment`` (``sleep`` is a no-op) so the behaviour is the same under the
real urllib3 loop and the ``responses`` test library, which emulates the loop without sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from bot.errors import RetryLater
from bot.github import accounting

log = logging.getLogger(__name__)

SERVER_ERRORS = frozenset({500, 502, 503, 504})
RATE_LIMIT_STATUSES = frozenset({403, 429})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


class GitHubRetry(Retry):
    # The same policy serves the announcements' webhooks (bot.github.announce_send): their retries
    # are not GitHub calls, so they are not counted as such.
    counts_calls = True
    peer = "GitHub"

    def __init__(
        self,
        *,
        max_wait: float = 5.0,
        installation_id: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        total: int = 3,
        backoff_factor: float = 0.5,
        backoff_max: float = 4.0,
        **kwargs: Any,
    ) -> None:
        self.max_wait = max_wait
        self.installation_id = installation_id
        self._sleep_fn = sleep
        self._wall_clock = wall_clock
        kwargs.setdefault("status_forcelist", SERVER_ERRORS | RATE_LIMIT_STATUSES)
        # Read errors (the request may have been applied) are retried for idempotent methods only;
        # connect errors always (nothing was sent); statuses are decided by is_retry below.
        kwargs.setdefault("allowed_methods", IDEMPOTENT_METHODS)
        kwargs.setdefault("raise_on_status", False)
        kwargs.setdefault("respect_retry_after_header", True)
        kwargs.setdefault("redirect", 0)  # PyGithub follows redirects itself
        super().__init__(total=total, backoff_factor=backoff_factor, backoff_max=backoff_max, **kwargs)

    def new(self, **kw: Any) -> GitHubRetry:
        kw.update(
            max_wait=self.max_wait,
            installation_id=self.installation_id,
            sleep=self._sleep_fn,
            wall_clock=self._wall_clock,
        )
        return super().new(**kw)  # type: ignore[return-value]

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in RATE_LIMIT_STATUSES:
            return True  # increment() looks at the headers and decides
        if status_code in SERVER_ERRORS:
            return method.upper() in IDEMPOTENT_METHODS
        return False

    def sleep(self, response: Any = None) -> None:
        """Waiting already happened in ``increment``."""

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        if response is None:  # connection or read error: urllib3's own accounting
            return super().increment(method, url, response, error, _pool, _stacktrace)
        status = int(response.status)
        headers = response.headers
        retry_after = self._retry_after(headers)
        if status in RATE_LIMIT_STATUSES:
            if headers.get("X-RateLimit-Remaining") == "0":
                self._give_up(response, status)
                reset = _float(headers.get("X-RateLimit-Reset"))
                not_before = reset + 1 if reset else self._wall_clock() + 60
                raise RetryLater(not_before, f"GitHub primary rate limit exhausted ({method} {url})")
            if retry_after is None:
                # A permission 403, or a secondary limit without Retry-After: PyGithub gets the
                # response and raises; bot.github.errors maps it (secondary limit -> RetryLater 60 s).
                raise MaxRetryError(_pool, url or "", None)  # type: ignore[arg-type]
        if retry_after is not None and retry_after > self.max_wait:
            self._give_up(response, status)
            raise RetryLater(
                self._wall_clock() + retry_after,
                f"GitHub asked to wait {retry_after:.0f}s ({status} {method} {url})",
            )
        # Raises MaxRetryError once retries are exhausted: the last response then goes to PyGithub.
        new_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.counts_calls:
            accounting.record_call(self.installation_id, status, headers)
        wait = retry_after if retry_after is not None else new_retry.get_backoff_time()
        log.info("%s answered %s to %s %s; retrying in %.1fs", self.peer, status, method, url, wait)
        if wait > 0:
            self._sleep_fn(wait)
        return new_retry

    def _retry_after(self, headers: Any) -> float | None:
        value = headers.get("Retry-After")
        if value is None:
            return None
        try:
            return max(0.0, self.parse_retry_after(value))
        except Exception:  # an unparsable header is treated as absent
            return None

    def _give_up(self, response: Any, status: int) -> None:
        if self.counts_calls:
            accounting.record_call(self.installation_id, status, response.headers)
        try:
            response.drain_conn()  # return the connection to the pool before unwinding
        except Exception:
            pass


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
