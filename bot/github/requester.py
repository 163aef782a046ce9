"""The hook every GitHub request passes through: pacing, call counting, rate-limit metrics.

PyGithub has no public per-request hook with the method (its ``Auth.authentication`` sees only
headers). Every request it makes — JSON, blobs, streams, GraphQL, redirects and the 202 re-polls —
goes through ``Requester.__requestRaw``, so we wrap that one method *on the instance* we built
(never on the class: other PyGithub users in the process stay untouched). ``instrument`` checks the
method exists and fails loudly at start-up if a PyGithub release renames it; the call-counting
tests fail as well, so an upgrade cannot silently drop pacing.

PyGithub's own sleeps are switched off where clients are built (``seconds_between_requests=0``,
``seconds_between_writes=0``); the pacer below replaces them. The same hook puts the revalidating
cache (``bot.github.response_cache``) in front of every GET: a read already made in this job or
inside a freshness window costs no request, any other cached read is sent conditionally and a
304 is answered to PyGithub as the cached 200, so callers never see the difference.

An installation token can stop working before the time it announced (revoked, or GitHub's clock
ahead of ours): GitHub answers 401 "Bad credentials". With ``reauthorize`` given, such a request is
sent once more with a freshly minted token instead of failing the job; a second 401 is returned.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from io import IOBase
from typing import Any

from github.Requester import Requester

from bot import metrics
from bot.errors import RetryLater
from bot.github import accounting
from bot.github.pacer import InstallationPacer
from bot.github.response_cache import ResponseCache, Scope

_RAW = "_Requester__requestRaw"

# Refreshes the request's Authorization header in place with a new token; False if it cannot.
Reauthorize = Callable[[dict[str, str]], bool]


def _paced(pacer: InstallationPacer, verb: str) -> None:
    """Wait for the pacer, and record how long (a wait too long to sleep requeues the job: its
    delay counts too), so the longest pacing wait is a metric (benchmarks/release_day.py)."""
    began = time.monotonic()
    try:
        pacer.acquire(verb)
    except RetryLater as exc:
        metrics.record_pacing_wait(max(0.0, exc.not_before - time.time()))
        raise
    waited = time.monotonic() - began
    if waited > 0.001:
        metrics.record_pacing_wait(waited)


class PyGithubIncompatible(RuntimeError):
    """The installed PyGithub no longer has the request hook this layer relies on."""


def instrument(
    requester: Requester,
    installation_id: int | None,
    pacer: InstallationPacer | None,
    cache: ResponseCache | None = None,
    scope: Scope = None,
    reauthorize: Reauthorize | None = None,
) -> Requester:
    """Make ``requester`` pace its requests with ``pacer``, count them for ``installation_id`` and
    answer its GETs through ``cache`` (entries keyed by ``scope``, default the installation); with
    ``reauthorize``, a 401 is sent once more with a new token."""
    original = getattr(requester, _RAW, None)
    if original is None or not callable(original):
        raise PyGithubIncompatible(
            f"PyGithub Requester has no {_RAW}; pin PyGithub 2.x or update bot.github.requester"
        )
    if getattr(original, "_release_bot_instrumented", False):
        return requester

    cache_scope: Scope = scope if scope is not None else installation_id

    def send_once(cnx: Any, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if pacer is not None:
            _paced(pacer, verb)
        try:
            status, headers, output = original(cnx, verb, url, *args, **kwargs)
        except RetryLater:
            raise  # already counted by the retry policy
        except Exception:
            accounting.record_call(installation_id, 0)  # a connection-level failure still cost a call
            raise
        finally:
            if pacer is not None:
                pacer.release()
        accounting.record_call(installation_id, status, headers)
        return status, headers, output

    def send(
        cnx: Any, verb: str, url: str, request_headers: dict[str, str], *args: Any, **kwargs: Any
    ) -> Any:
        status, headers, output = send_once(cnx, verb, url, request_headers, *args, **kwargs)
        if status != 401 or reauthorize is None:
            return status, headers, output
        body = args[0] if args else kwargs.get("input")
        if isinstance(body, IOBase) or not reauthorize(request_headers):
            return status, headers, output  # a streamed body cannot be sent twice
        return send_once(cnx, verb, url, request_headers, *args, **kwargs)

    @functools.wraps(original)
    def request_raw(
        cnx: Any, verb: str, url: str, request_headers: dict[str, str], *args: Any, **kwargs: Any
    ) -> Any:
        if verb != "GET":
            accounting.record_write(verb, url)
        if cache is None or kwargs.get("stream"):
            return send(cnx, verb, url, request_headers, *args, **kwargs)
        if verb != "GET":
            sent_at = time.time()
            result: Any = None
            try:
                result = send(cnx, verb, url, request_headers, *args, **kwargs)
                return result
            finally:
                # Also when it failed: it may have landed. GitHub's answer, when there is one, is
                # written through to the cached reads it changes (bot.github.write_through).
                status, headers, output = result if result is not None else (None, None, None)
                cache.written(
                    cache_scope,
                    url,
                    verb,
                    status=status,
                    headers=headers,
                    output=output,
                    request_body=args[0] if args else kwargs.get("input"),
                    accept=cache.key(cache_scope, url, request_headers)[2],
                    sent_at=sent_at,
                )
        key = cache.key(cache_scope, url, request_headers)
        answer = cache.get(key)
        if answer is not None and cache.reusable_in_job(key, answer):
            cache.count("reused_in_job")
            return 200, dict(answer.headers), answer.body
        if answer is not None and cache.fresh(key, answer):
            cache.count("reused_fresh")
            return 200, dict(answer.headers), answer.body
        if answer is not None:
            request_headers = {**request_headers, **cache.conditional_headers(answer)}
        seen = cache.clocks_before(url)  # before the request: what it cannot have missed
        asked_at = time.time()
        status, headers, output = send(cnx, verb, url, request_headers, *args, **kwargs)
        if status == 304 and answer is not None:
            renewed = cache.revalidated(key, answer, headers, asked_at, seen)
            return 200, dict(renewed.headers), renewed.body
        if status == 200 and isinstance(output, str):
            if answer is not None:
                cache.count("refetched")
            cache.store(key, headers, output, asked_at, seen)
        elif answer is not None:
            cache.drop(key)  # 404, 410, 5xx: the cached answer no longer stands
        return status, headers, output

    request_raw._release_bot_instrumented = True  # type: ignore[attr-defined]
    setattr(requester, _RAW, request_raw)
    return requester
