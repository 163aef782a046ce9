"""Sign in with GitHub: the App's OAuth web flow (``/login``, ``/login/callback``, ``/logout``).

``/login`` sends the browser to GitHub's authorize page with a fresh ``state`` kept in the session;
the callback accepts only that state (a forged callback cannot sign anyone in, nor swap in an
attacker's account), trades the code for the user's token, reads who it belongs to
(``GET /user``) and starts a new session. Signing out is a POST with a CSRF token.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

import requests
from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for

from bot.github.errors import GithubException
from bot.github.user_io import SignInFailed, authorize_url, exchange_code, read_viewer, user_client
from bot.web.reads import SignedIn

log = logging.getLogger(__name__)

bp = Blueprint("web_auth", __name__, template_folder="templates")


def not_found_page(_exc: Exception) -> tuple[str, int]:
    """HTML answers for the pages' own 404s (the rest of the app answers JSON)."""
    return render_template(
        "message.html", title="Not found", message="There is nothing here that you can see."
    ), 404


bp.register_error_handler(404, not_found_page)


def web_state() -> Any:
    return current_app.extensions["release_bot_web"]


def current_user() -> SignedIn | None:
    login = session.get("login")
    token = web_state().tokens.open(session.get("token"))
    if not isinstance(login, str) or not login or token is None:
        return None
    return SignedIn(login=login, token=token)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an open redirect would let a link to /login send people elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web_dashboard.overview")


def sign_in_required(view: Callable[..., Response | str]) -> Callable[..., Response | str]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response | str:
        user = current_user()
        if user is None:
            session.clear()
            return render_template(
                "signin.html", next=request.full_path.rstrip("?"), configured=web_state().oauth_configured
            ), 401  # type: ignore[return-value]
        try:
            return view(user, *args, **kwargs)
        except GithubException as exc:
            if exc.status == 401:  # the token expired or was revoked: sign in again
                web_state().reads.forget(user)
                session.clear()
                return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))
            log.warning("page %s: GitHub answered %s", request.path, exc.status)
            return _github_unavailable(f"GitHub answered {exc.status} to a read this page needs.")
        except requests.RequestException as exc:
            log.warning("page %s: GitHub unreachable: %s", request.path, type(exc).__name__)
            return _github_unavailable("GitHub could not be reached.")

    return wrapper


def _github_unavailable(reason: str) -> tuple[str, int]:
    # A clear page, never a 500: the reason (GitHub down, rate limited) is GitHub's, so is the remedy.
    return render_template(
        "message.html", title="GitHub did not answer", message=f"{reason} Try again in a minute."
    ), 502  # type: ignore[return-value]


@bp.get("/login")
def login() -> Response | tuple[str, int]:
    state = web_state()
    if not state.oauth_configured:
        return render_template(
            "message.html",
            title="Sign-in is not configured",
            message="Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the App's OAuth "
            "client) to let people sign in with GitHub.",
        ), 503
    nonce = secrets.token_urlsafe(24)
    session["oauth_state"] = nonce
    session["next"] = _safe_next(request.args.get("next"))
    hint = request.args.get("login")
    target = authorize_url(
        state.settings.github_api_url,
        state.client_id,
        url_for("web_auth.callback", _external=True),
        nonce,
        login=hint if hint and hint.isascii() and len(hint) <= 39 else None,
    )
    return redirect(target, code=302)


@bp.get("/login/callback")
def callback() -> Response | tuple[str, int]:
    state = web_state()
    expected = session.pop("oauth_state", None)
    given = request.args.get("state", "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
        return render_template(
            "message.html",
            title="Sign-in failed",
            message="This sign-in link is not the one this browser started (or it was "
            "used already). Start again from the sign-in page.",
        ), 400
    if request.args.get("error"):
        return render_template(
            "message.html",
            title="Sign-in cancelled",
            message=f"GitHub answered: {request.args.get('error_description') or request.args['error']}",
        ), 400
    code = request.args.get("code", "")
    if not code:
        return render_template("message.html", title="Sign-in failed", message="GitHub sent no code."), 400
    try:
        token = exchange_code(state.settings.github_api_url, state.client_id, state.client_secret, code)
        gh = user_client(state.settings.github_api_url, token)
        try:
            viewer = read_viewer(gh)
        finally:
            gh.close()
    except SignInFailed as exc:
        return render_template("message.html", title="Sign-in failed", message=f"GitHub answered: {exc}"), 400
    target = _safe_next(session.get("next"))
    session.clear()  # a new session for the signed-in person (no fixation of an older one)
    session.permanent = True
    session["login"] = viewer.login
    session["token"] = state.tokens.seal(token)
    log.info("signed in: %s", viewer.login)
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> Response:
    user = current_user()
    if user is not None:
        web_state().reads.forget(user)
    session.clear()
    return redirect(url_for("web_dashboard.overview"), code=303)
