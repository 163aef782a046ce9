"""The calendar feed's per-repository token: an HMAC of the repository's name under ``SESSION_SECRET``.

A calendar client cannot sign in, so the feed's address carries its own proof: whoever holds the
address may read that one repository's calendar, no other (the token names the repository, case
folded as GitHub folds names). It never expires by itself; rotating ``SESSION_SECRET`` revokes
every calendar address at once (and signs everybody out of the web pages). Pure: ``hmac`` and
``hashlib`` only.
"""

from __future__ import annotations

import hashlib
import hmac

_PURPOSE = b"release-bot calendar v1\x00"  # a token of this kind is good for nothing else
TOKEN_CHARS = 32  # 128 bits of the digest, hex


def calendar_token(secret: str, repo: str) -> str:
    mac = hmac.new(secret.encode(), _PURPOSE + repo.lower().encode(), hashlib.sha256)
    return mac.hexdigest()[:TOKEN_CHARS]


def token_matches(secret: str, repo: str, token: str | None) -> bool:
    """Constant-time comparison of a presented token with the repository's."""
    if not token or len(token) != TOKEN_CHARS:
        return False
    return hmac.compare_digest(calendar_token(secret, repo), token)


def calendar_path(repo: str) -> str:
    owner, _, name = repo.partition("/")
    return f"/calendar/{owner}/{name}.ics"


def calendar_url(public_url: str, secret: str, repo: str) -> str:
    """The subscribable address of ``repo``'s feed on the bot's public address."""
    return f"{public_url.rstrip('/')}{calendar_path(repo)}?token={calendar_token(secret, repo)}"
