"""The hook every GitHub request passes through: pacing, call counting, rate-limit metrics.

PyGithub has no public per-request hook with the method (its ``Auth.authentication`` sees only
headers). Every request it makes — JSON, blobs, streams, GraphQL, redirects and the 202 re-polls —
goes through ``Requester.__requestRaw``, so we wrap that one method *on the instance* we built
(never on the class: other PyGithub users in the process stay untouched). ``instrument`` checks the
method exists and fails loudly at start-up if a PyGithub release renames it; the call-counting
tests fail as well, so an upgrade cannot silently drop pacing.

PyGithub's own sleeps are switched off where clients are built (``seconds_between_requests=0``,
``seconds_between_writes=0``); the pacer below replaces them.
"""

from __future__ import annotations

import functools
from typing import Any

from github.Requester import Requester

from bot.errors import RetryLater
from bot.github import accounting
from bot.github.pacer import InstallationPacer

_RAW = "_Requester__requestRaw"


class PyGithubIncompatible(RuntimeError):
    """The installed PyGithub no longer has the request hook this layer relies on."""


def instrument(requester: Requester, installation_id: int | None, pacer: InstallationPacer | None) -> Requester:
    """Make ``requester`` pace its requests with ``pacer`` and count them for ``installation_id``."""
    original = getattr(requester, _RAW, None)
    if original is None or not callable(original):
        raise PyGithubIncompatible(f"PyGithub Requester has no {_RAW}; pin PyGithub 2.x or update bot.github.requester")
    if getattr(original, "_release_bot_instrumented", False):
        return requester

    @functools.wraps(original)
    def request_raw(cnx: Any, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
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

    request_raw._release_bot_instrumented = True  # type: ignore[attr-defined]
    setattr(requester, _RAW, request_raw)
    return requester
