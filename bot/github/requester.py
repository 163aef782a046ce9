"""The hook every GitHub request passes through: pacing, call counting, rate-limit metrics.

PyGithub has no public per-request hook with the method (its ``Auth.authentication`` sees only
headers). Every request it makes — JSON, blobs, streams, GraphQL, redirects and the 202 re-polls —
goes through ``Requester.__requestRaw``, so we wrap that one method *on the instance* we built
(never on the class: other PyGithub users in the process stay untouched). ``instrument`` checks the
method exists and fails loudly at start-up if a PyGithub release renames it; the call-counting
tests fail as well, so an upgrade cannot silently drop pacing.

PyGithub's own sleeps are switched off where clients are built (``seconds_between_requests=0``,
``seconds_between_writes=0``); the pacer below replaces them.

An installation token can stop working before the time it announced (revoked, or GitHub's clock
ahead of ours): GitHub answers 401 "Bad credentials". With ``reauthorize`` given, such a request is
sent once more with a freshly minted token instead of failing the job; a second 401 is returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from io import IOBase
from typing import Any

from github.Requester import Requester

from bot.errors import RetryLater
from bot.github import accounting
from bot.github.pacer import Pacer

_RAW = "_Requester__requestRaw"


class PyGithubIncompatible(RuntimeError):
    """The installed PyGithub no longer has the request hook this layer relies on."""


# Refreshes the request's Authorization header in place with a new token; False if it cannot.
Reauthorize = Callable[[dict[str, str]], bool]


def instrument(requester: Requester, installation_id: int | None, pacer: Pacer | None,
               reauthorize: Reauthorize | None = None) -> Requester:
    """Make ``requester`` pace its requests with ``pacer`` and count them for ``installation_id``;
    with ``reauthorize``, a 401 is retried once with a new token."""
    original = getattr(requester, _RAW, None)
    if original is None or not callable(original):
        raise PyGithubIncompatible(f"PyGithub Requester has no {_RAW}; pin PyGithub 2.x or update bot.github.requester")
    if getattr(original, "_release_bot_instrumented", False):
        return requester

    def send(cnx: Any, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if pacer is not None:
            pacer.acquire(verb)
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

    @functools.wraps(original)
    def request_raw(cnx: Any, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
        status, headers, output = send(cnx, verb, url, *args, **kwargs)
        if status != 401 or reauthorize is None:
            return status, headers, output
        request_headers = args[0] if args else kwargs.get("requestHeaders")
        body = args[1] if len(args) > 1 else kwargs.get("input")
        if not isinstance(request_headers, dict) or isinstance(body, IOBase):
            return status, headers, output  # a streamed body cannot be sent twice
        if not reauthorize(request_headers):
            return status, headers, output
        return send(cnx, verb, url, *args, **kwargs)

    request_raw._release_bot_instrumented = True  # type: ignore[attr-defined]
    setattr(requester, _RAW, request_raw)
    return requester
