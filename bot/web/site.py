"""The web pages mounted on the bot's Flask app: sign-in, dashboard, setup (``register_web``).

One place sets what every page shares: the signed-cookie session (bot.web.session), CSRF
protection of every form (Flask-WTF's ``CSRFProtect``: a POST without a valid token is refused
with 400), Jinja autoescaping (Flask's default for .html templates), and security headers — a
Content-Security-Policy that allows only this site's own stylesheet and script, no framing, no
MIME sniffing, no referrer sent to other sites.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.settings import Settings
from bot.web import auth, calendar, dashboard, setup_page
from bot.web.calendar import CalendarFeeds
from bot.web.reads import PageReads
from bot.web.session import TokenBox, configure_sessions

SANDBOX_CLIENT_ID = "Iv1.sandbox"  # the sandbox App's OAuth client (docs/sandbox-contract.md)
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self' {web}; base-uri 'none'; frame-ancestors 'none'")


@dataclass
class WebState:
    settings: Settings
    reads: PageReads
    tokens: TokenBox
    client_id: str | None
    client_secret: str | None
    refresh_seconds: int = 5  # how often the pages' optional script re-reads them (0: never)
    calendar: CalendarFeeds | None = None  # the release calendar feeds (bot.web.calendar)

    @property
    def oauth_configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


def register_web(app: Flask, settings: Settings) -> None:
    tokens = configure_sessions(app, settings)
    client_id, client_secret = settings.github_client_id, settings.github_client_secret
    if settings.sandbox and not (client_id and client_secret):
        client_id, client_secret = SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
    app.extensions["release_bot_web"] = WebState(
        settings=settings,
        reads=PageReads(settings.github_api_url, settings.app_id, settings.web_cache_seconds),
        tokens=tokens, client_id=client_id, client_secret=client_secret,
        refresh_seconds=settings.web_refresh_seconds, calendar=CalendarFeeds(settings))
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # the token lives as long as the (8-hour) session
    CSRFProtect(app)
    for bp in (auth.bp, dashboard.bp, setup_page.bp, calendar.bp):
        app.register_blueprint(bp)
    csp = _CSP.format(web=settings.github_web_url)

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> tuple[str, int]:
        return render_template("message.html", title="Form refused",
                               message=f"This form was refused: {exc.description} Reload the page and "
                                       "try again."), 400

    @app.after_request
    def security_headers(response: Response) -> Response:
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", csp)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

