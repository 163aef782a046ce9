"""The releases overview (``/``) and a release's page (``/releases/{owner}/{repo}/{number}``).

Server-rendered; a visitor who is not signed in sees the sign-in page and nothing about any
repository. A repository appears only when GitHub lists it among the App's installations that the
signed-in user can read; any other address answers 404, whether or not the repository exists.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request

from bot.github.accounting import count_job_calls
from bot.web.auth import not_found_page, sign_in_required, web_state
from bot.web.markdown import render_inline, render_markdown
from bot.web.pages import GATE_WORDS, STATE_WORDS, due_words, gate_counts
from bot.web.reads import SignedIn

log = logging.getLogger(__name__)

bp = Blueprint(
    "web_dashboard", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)
bp.register_error_handler(404, not_found_page)
MAX_OVERVIEW_REPOS = 30
CALLS_HEADER = "X-Release-Bot-GitHub-Calls"  # what this page view cost in GitHub API requests


def _render(template: str, calls: int, **context: object) -> Response:
    state = web_state()
    body = render_template(
        template,
        today=datetime.now(UTC).date(),
        due_words=due_words,
        gate_counts=gate_counts,
        inline=render_inline,
        state_words=STATE_WORDS,
        gate_words=GATE_WORDS,
        refresh_seconds=state.refresh_seconds,
        live=True,
        calendar_link=state.calendar.link,  # the repository's subscribable release calendar
        **context,
    )
    response = Response(body, mimetype="text/html")
    response.headers[CALLS_HEADER] = str(calls)
    response.headers["Cache-Control"] = "private, no-store"
    log.debug("page %s cost %d GitHub requests", request.path, calls)
    return response


@bp.get("/")
@sign_in_required
def overview(user: SignedIn) -> Response:
    reads = web_state().reads
    with count_job_calls() as cost:
        repos = reads.repositories(user)
        # A page view's cost stays bounded however many repositories a person can read: the first
        # MAX_OVERVIEW_REPOS in full, the rest as links to their own page.
        sections = [reads.repo_releases(user, repo) for repo in repos[:MAX_OVERVIEW_REPOS]]
    return _render("overview.html", cost.calls, user=user, sections=sections, more=repos[MAX_OVERVIEW_REPOS:])


@bp.get("/repos/<owner>/<name>")
@sign_in_required
def repository(user: SignedIn, owner: str, name: str) -> Response:
    reads = web_state().reads
    with count_job_calls() as cost:
        repo = reads.repository(user, f"{owner}/{name}")
        if repo is None:
            abort(404)
        sections = [reads.repo_releases(user, repo)]
    return _render("overview.html", cost.calls, user=user, sections=sections, more=())


@bp.get("/releases/<owner>/<name>/<int:number>")
@sign_in_required
def release(user: SignedIn, owner: str, name: str, number: int) -> Response:
    reads = web_state().reads
    with count_job_calls() as cost:
        repo = reads.repository(user, f"{owner}/{name}")
        if repo is None:
            abort(404)
        detail = reads.release(user, repo, number)
    if detail is None:
        abort(404)
    notes_html = render_markdown(detail.notes.markdown) if detail.notes else None
    return _render(
        "release.html",
        cost.calls,
        user=user,
        repo=repo,
        detail=detail,
        release=detail.summary,
        notes_html=notes_html,
    )
