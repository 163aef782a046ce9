"""The sandbox's pages of an App: its public page and GitHub's install page.

``GET /apps/{slug}`` shows the App; ``GET /apps/{slug}/installations/new`` lets a person pick the
account to install it on (the organizations, and the App's owner), and the form's ``POST`` installs
it on all that account's repositories, as GitHub's page does: the App receives ``installation``
``created``. Then the browser is sent to the App's setup URL when the manifest gave one, as GitHub
does, else to a page saying where the App is installed.
"""

from __future__ import annotations

import html

from flask import Blueprint, Response, redirect, request

from bot.sandbox import serializers
from bot.sandbox.http import state
from bot.sandbox.pages import _page
from bot.sandbox.state import App, Installation, SandboxState
from bot.sandbox.webhooks import emitter

URL_PREFIX = ""
bp = Blueprint("sandbox_pages_apps", __name__)


def _app(st: SandboxState, slug: str) -> App | None:
    return next((a for a in st.apps.values() if a.slug == slug), None)


def _accounts(st: SandboxState, app: App) -> list[str]:
    orgs = sorted(o.login for o in st.orgs.values())
    owner = st.account(app.owner)
    return orgs + ([owner.login] if owner is not None and owner.login not in orgs else [])


@bp.get("/apps/<slug>")
def app_page(slug: str) -> Response:
    st = state()
    with st.lock:
        app = _app(st, slug)
        if app is None:
            return _page("Not Found", "<h1>404</h1><p>No such App.</p>", 404)
        perms = "".join(
            f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in sorted(app.permissions.items())
        )
        body = (
            f"<h1>{html.escape(app.name)}</h1><p class='meta'>by {html.escape(app.owner)}</p>"
            f"<p>{html.escape(app.description)}</p><h2>Permissions</h2><ul>{perms}</ul>"
            f"<p><a href='/apps/{html.escape(app.slug)}/installations/new'>Install</a></p>"
        )
    return _page(app.name, body)


@bp.get("/apps/<slug>/installations/new")
def install_form(slug: str) -> Response:
    st = state()
    with st.lock:
        app = _app(st, slug)
        if app is None:
            return _page("Not Found", "<h1>404</h1><p>No such App.</p>", 404)
        options = "".join(
            f"<div><input type='radio' name='account' id='acc-{i}' value='{html.escape(a)}'"
            f"{' checked' if i == 0 else ''}>"
            f"<label for='acc-{i}'>{html.escape(a)}</label></div>"
            for i, a in enumerate(_accounts(st, app))
        )
        body = (
            f"<h1>Install {html.escape(app.name)}</h1>"
            f"<form method='post'><fieldset><legend>Where do you want to install it?</legend>{options}"
            f"</fieldset><p>All repositories of the account.</p><button type='submit'>Install</button></form>"
        )
    return _page(f"Install {app.name}", body)


@bp.post("/apps/<slug>/installations/new")
def install(slug: str) -> Response:
    st = state()
    with st.lock:
        app = _app(st, slug)
        if app is None:
            return _page("Not Found", "<h1>404</h1><p>No such App.</p>", 404)
        account = st.account(request.form.get("account", ""))
        if account is None or account.login not in _accounts(st, app):
            return _page("Unknown account", "<p>Pick one of the accounts offered.</p>", 422)
        existing = next(
            (
                i
                for i in st.installations.values()
                if i.app_id == app.id and i.account.lower() == account.login.lower() and not i.deleted
            ),
            None,
        )
        if existing is None:
            now = st.now()
            inst = Installation(
                id=st.next_id("installation"),
                app_id=app.id,
                account=account.login,
                created_at=now,
                updated_at=now,
            )
            st.installations[inst.id] = inst
            repos = [
                {
                    "id": r.id,
                    "node_id": r.node_id,
                    "name": r.name,
                    "full_name": r.full_name,
                    "private": r.private,
                }
                for r in st.installation_repos(inst)
            ]
            requester = (
                app.owner if st.user(app.owner) is not None and st.user(app.owner).type == "User" else "admin"
            )  # type: ignore[union-attr]
            emitter(st).emit(
                "installation",
                "created",
                lambda: {
                    "installation": serializers.installation(st, inst),
                    "repositories": repos,
                    "requester": serializers.user(st, requester),
                },
                None,
                installation=inst,
                sender=requester,
            )
        else:
            inst = existing
        setup_url = st.extra.get("app_setup_urls", {}).get(app.id)
    if setup_url:
        return redirect(f"{setup_url}?installation_id={inst.id}&setup_action=install", code=302)  # type: ignore[return-value]
    return _page(
        "Installed",
        f"<h1>{html.escape(app.name)} is installed</h1><p>On {html.escape(inst.account)}, "
        f"installation {inst.id}.</p>",
    )
