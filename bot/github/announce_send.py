"""Delivering one announcement to its webhook (Slack, Teams, any JSON receiver): one POST.

Not GitHub, but its transport and its retry policy are the GitHub calls' own (``bot.github.retry``
mounted on ``requests``, PyGithub's transport): a refused connection is retried (nothing was sent),
a ``429``/``403`` with ``Retry-After`` is waited for up to the policy's ``max_wait`` and beyond that
raises ``RetryLater`` (the queue brings the job back then), and a ``5xx`` is not replayed inside the
request, since a POST that failed may have been delivered: the job fails and its rerun decides again
from the release record. Which is why the caller records what was delivered at once.

The URL is a secret (a Slack webhook URL is its own credential): it is never logged, never put in
an error message, and registered with the log scrubber (``bot.logging.register_secret``) in case a
library below logs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from bot.github.retry import GitHubRetry
from bot.logging import register_secret

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
USER_AGENT = "release-bot announcements"


class AnnounceRetry(GitHubRetry):
    counts_calls = False  # not a GitHub call
    peer = "an announcement webhook"


@dataclass(frozen=True)
class SendOutcome:
    delivered: bool
    permanent: bool  # refused for good (4xx): sending the same again would not help
    status: int | None = None
    reason: str = ""  # for a log line: never the URL


def usable_url(url: str) -> bool:
    """An http(s) URL with a host: anything else in the variable is reported, never requested."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def protect(url: str) -> None:
    """Keep the URL, and its path (what a connection pool logs), out of every log line."""
    register_secret(url)
    path = urlsplit(url).path
    if len(path) >= 12:  # a short path like '/hook' would scrub ordinary text
        register_secret(path)


def send(url: str, body: bytes, content_type: str, *, timeout: float = TIMEOUT_SECONDS) -> SendOutcome:
    """POST ``body``; raises ``RetryLater`` when the receiver asks for a long wait."""
    if not usable_url(url):
        return SendOutcome(False, True, None, "the variable does not hold an http(s) URL")
    protect(url)
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=AnnounceRetry(max_wait=5.0))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    try:
        response = session.post(
            url,
            data=body,
            headers={"Content-Type": content_type, "User-Agent": USER_AGENT},
            timeout=timeout,
            allow_redirects=False,  # a redirect would re-send a secret payload elsewhere
        )
    except requests.RequestException as exc:
        # The exception's text names the URL: only its kind is kept.
        return SendOutcome(False, False, None, f"no answer ({type(exc).__name__})")
    finally:
        session.close()
    status = response.status_code
    if 200 <= status < 300:
        return SendOutcome(True, False, status, "delivered")
    if status == 429 or status >= 500:
        return SendOutcome(False, False, status, f"the receiver answered {status}")
    return SendOutcome(False, True, status, f"the receiver refused it with {status}")
