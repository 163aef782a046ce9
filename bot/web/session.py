"""Signed-cookie sessions for the web pages.

Flask's session is a cookie signed with itsdangerous (``SESSION_SECRET``). When the variable is
unset, a secret is generated once into ``SESSION_SECRET_FILE`` (mode 0600, created exclusively so
every gunicorn process of one deployment reads the same one) and kept across restarts, so a
restart does not sign everybody out.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (not sent on cross-site posts)
and ``Secure`` unless the page is served on a loopback host (``localhost``, 127.0.0.1, ::1), where
browsers allow plain http. A signed cookie is readable by whoever holds it, so the user's GitHub
token inside is encrypted as well (Fernet, keyed from the same secret): a cookie copied out of a
browser profile or a proxy log does not hand out a GitHub token.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, Request, Response, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from bot.session_secret import load_session_secret
from bot.settings import Settings

SESSION_LIFETIME = timedelta(hours=8)  # GitHub's user access tokens of an App expire after 8 hours
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_NO_SESSION_PATHS = frozenset({"/healthz", "/metrics"})


def is_loopback(host: str) -> bool:
    hostname = urlsplit(f"//{host}").hostname or ""
    return hostname in _LOOPBACK


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, with ``Secure`` decided per request from the host served.

    The secret is loaded on the first request that can use a session, so a process that only
    answers health checks and webhooks never creates the secret file."""

    def __init__(self, load_secret: Callable[[], str]) -> None:
        self._load_secret = load_secret
        self._lock = threading.Lock()

    def ensure_secret(self, app: Flask) -> str:
        with self._lock:
            if not app.secret_key:
                app.secret_key = self._load_secret()
            return str(app.secret_key)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path in _NO_SESSION_PATHS:
            return self.session_class()
        self.ensure_secret(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not app.secret_key:
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        return not is_loopback(request.host)


class TokenBox:
    """Encrypts the user's token for the cookie; a cookie from another secret opens to nothing."""

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret

    def _fernet(self) -> Fernet:
        key = hashlib.sha256(b"release-bot web session token\0" + self._secret().encode()).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def seal(self, token: str) -> str:
        return self._fernet().encrypt(token.encode()).decode("ascii")

    def open(self, sealed: str | None) -> str | None:
        if not sealed:
            return None
        try:
            return (
                self._fernet()
                .decrypt(sealed.encode("ascii"), ttl=int(SESSION_LIFETIME.total_seconds()))
                .decode()
            )
        except (InvalidToken, ValueError):
            return None


def configure_sessions(app: Flask, settings: Settings) -> TokenBox:
    interface = _SessionInterface(lambda: load_session_secret(settings))
    app.session_interface = interface
    app.config.update(
        SESSION_COOKIE_NAME="release_bot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    return TokenBox(lambda: interface.ensure_secret(app))


def signed_in_login() -> str | None:
    login = session.get("login")
    return login if isinstance(login, str) and login else None
