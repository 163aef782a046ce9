"""The web side, as on GitHub Enterprise Server: the App's OAuth web flow and the App manifest flow.

OAuth: ``GET /login/oauth/authorize`` shows a page to pick who signs in (``login=<user>`` signs that
user in at once, for scripted tests) and redirects to ``redirect_uri`` with a one-time ``code``;
``POST /login/oauth/access_token`` trades it for a user token (``ghu_…``), JSON or form-encoded as the
``Accept`` header asks, with GitHub's ``{"error": "bad_verification_code"}`` answers (status 200).

Manifest: ``POST /settings/apps/new`` (or ``/organizations/{org}/settings/apps/new``) with a ``manifest``
form field redirects to the manifest's ``redirect_url`` with a ``code``;
``POST /api/v3/app-manifests/{code}/conversions`` creates the App and returns its ``id``, ``pem``,
``webhook_secret``, ``client_id`` and ``client_secret``.

User text (manifest fields, query parameters) is escaped in every page and never evaluated.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Response, redirect, request

from bot.sandbox import serializers
from bot.sandbox.http import (
    ApiError,
    actor,
    paginate,
    require_auth,
    respond,
    state,
)
from bot.sandbox.state import App, SandboxState, Token, iso

URL_PREFIX = ""  # web pages live at the host root; the API routes below spell out /api/v3
bp = Blueprint("sandbox_oauth", __name__)

CODE_TTL = timedelta(minutes=10)  # GitHub's OAuth codes expire after ten minutes
MANIFEST_CODE_TTL = timedelta(hours=1)
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_PERMISSION_LEVELS = ("read", "write", "admin")


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(doc, status=status, mimetype="text/html")


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _app_by_client_id(st: SandboxState, client_id: str | None) -> App | None:
    return next((a for a in st.apps.values() if client_id and a.client_id == client_id), None)


def _safe_redirect(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in ("http", "https")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- OAuth web flow


@bp.get("/login/oauth/authorize")
def authorize() -> Response:
    st = state()
    args = request.args
    with st.lock:
        app = _app_by_client_id(st, args.get("client_id"))
        if app is None:
            return _page("Not Found", "<p>No application is registered with this client_id.</p>", 404)
        redirect_uri = args.get("redirect_uri") or app.external_url
        if not _safe_redirect(redirect_uri):
            return _page("Redirect URI mismatch", "<p>The redirect_uri is not a valid http(s) URL.</p>", 400)
        login = args.get("login")
        if not login:
            users = sorted((u for u in st.users.values() if u.type == "User"), key=lambda u: u.login.lower())
            links = "".join(
                f"<li><a href='{html.escape(_with_query(request.url, {'login': u.login}))}'>"
                f"{html.escape(u.login)}</a></li>"
                for u in users
            )
            return _page(f"Sign in to {app.name}", f"<p>Pick the user who signs in:</p><ul>{links}</ul>")
        user = st.user(login)
        if user is None or user.type != "User":
            return _page("Unknown user", f"<p>There is no user {html.escape(login)}.</p>", 404)
        code = secrets.token_hex(10)
        st.oauth_codes[code] = {
            "app_id": app.id,
            "login": user.login,
            "redirect_uri": redirect_uri,
            "expires_at": st.now() + CODE_TTL,
        }
        params = {"code": code}
        if args.get("state") is not None:
            params["state"] = args["state"]
    return redirect(_with_query(redirect_uri, params), code=302)


def _oauth_answer(body: dict[str, Any]) -> Response:
    if "json" in request.headers.get("Accept", ""):
        return respond(body)
    return Response(urlencode(body), mimetype="application/x-www-form-urlencoded")


def _oauth_error(code: str, description: str) -> Response:
    # GitHub answers these with status 200 and an error field.
    return _oauth_answer(
        {
            "error": code,
            "error_description": description,
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
            "troubleshooting-oauth-app-access-token-request-errors",
        }
    )


@bp.post("/login/oauth/access_token")
def access_token() -> Response:
    st = state()
    params: dict[str, Any] = dict(request.values)
    if request.is_json:
        params.update(request.get_json(silent=True) or {})
    with st.lock:
        app = _app_by_client_id(st, params.get("client_id"))
        if app is None or params.get("client_secret") != app.client_secret:
            return _oauth_error(
                "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect."
            )
        grant = st.oauth_codes.pop(str(params.get("code", "")), None)
        if grant is None or grant["app_id"] != app.id or st.now() >= grant["expires_at"]:
            return _oauth_error("bad_verification_code", "The code passed is incorrect or expired.")
        if params.get("redirect_uri") and params["redirect_uri"] != grant["redirect_uri"]:
            return _oauth_error(
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
            )
        token = "ghu_" + secrets.token_hex(18)
        st.tokens[token] = Token(token=token, kind="user", login=grant["login"])
        st.extra.setdefault("oauth_token_apps", {})[token] = app.id
    return _oauth_answer({"access_token": token, "token_type": "bearer", "scope": ""})


# --------------------------------------------------------------------------- the signed-in user


def _token_app_ids(st: SandboxState) -> set[int]:
    """Apps whose installations the caller's token may see: the App that issued a ``ghu_`` token;
    every App for a plain user token (the sandbox's personal tokens)."""
    a = actor()
    app_id = st.extra.get("oauth_token_apps", {}).get(a.token)
    return {app_id} if app_id is not None else set(st.apps)


def _explicit_role(st: SandboxState, repo: Any, login: str) -> str | None:
    """The user's role on ``repo`` when it is explicit — owner, organization owner or member (the
    base permission), collaborator — as GitHub's ``/user/installations`` lists need: anyone may read
    a public repository, but only explicit access puts it (and its installation) in those lists."""
    role = st.role(repo, login)
    if role is None or repo.private:
        return role
    lg = login.lower()
    org = st.org(repo.owner)
    explicit = (
        lg == repo.owner.lower()
        or lg in {k.lower() for k in repo.permissions}
        or (org is not None and lg in {m.lower() for m in org.members | org.owners})
    )
    return role if explicit else None


def _user_installations(st: SandboxState, login: str) -> list[Any]:
    apps = _token_app_ids(st)
    out = []
    for inst in sorted(st.installations.values(), key=lambda i: i.id):
        if inst.deleted or inst.app_id not in apps:
            continue
        if any(_explicit_role(st, r, login) is not None for r in st.installation_repos(inst)) or (
            inst.account.lower() == login.lower()
        ):
            out.append(inst)
    return out


def _require_user() -> str:
    a = require_auth()
    if a.kind != "user" or not a.login:
        raise ApiError(403, "Resource not accessible by integration")
    return a.login


@bp.get("/api/v3/user")
def current_user() -> Response:
    st = state()
    login = _require_user()
    with st.lock:
        acc = st.user(login)
        if acc is None:
            raise ApiError(401, "Bad credentials")
        body = serializers.user(st, acc.login) or {}
        owned = [r for r in st.repos.values() if r.owner.lower() == acc.login.lower()]
        body.update(
            {
                "name": acc.name,
                "company": None,
                "blog": "",
                "location": None,
                "email": acc.email,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": sum(1 for r in owned if not r.private),
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": iso(acc.created_at),
                "updated_at": iso(acc.created_at),
                "user_view_type": "public",
            }
        )
    return respond(body)


@bp.get("/api/v3/user/installations")
def user_installations() -> Response:
    st = state()
    login = _require_user()
    with st.lock:
        body = [serializers.installation(st, i) for i in _user_installations(st, login)]
    return paginate(body, wrap="installations")


@bp.get("/api/v3/user/installations/<int:inst_id>/repositories")
def user_installation_repositories(inst_id: int) -> Response:
    st = state()
    login = _require_user()
    with st.lock:
        inst = next((i for i in _user_installations(st, login) if i.id == inst_id), None)
        if inst is None:
            raise ApiError(404, "Not Found")
        repos = [r for r in st.installation_repos(inst) if _explicit_role(st, r, login) is not None]
        body = [serializers.repository(st, r, full=False, viewer=login) for r in repos]
        selection = inst.repository_selection
    return paginate(body, wrap="repositories", extra={"repository_selection": selection})


# --------------------------------------------------------------------------- App manifest flow


def _validate_manifest(raw: str | None) -> dict[str, Any]:
    if not raw:
        raise ValueError("the manifest form field is missing")
    try:
        manifest = json.loads(raw)
    except ValueError as err:
        raise ValueError(f"the manifest is not valid JSON: {err}") from None
    if not isinstance(manifest, dict):
        raise ValueError("the manifest must be a JSON object")
    url = manifest.get("url")
    if not isinstance(url, str) or not _safe_redirect(url):
        raise ValueError("url is required and must be an http(s) URL")
    redirect_url = manifest.get("redirect_url")
    if redirect_url is not None and not (isinstance(redirect_url, str) and _safe_redirect(redirect_url)):
        raise ValueError("redirect_url must be an http(s) URL")
    hook = manifest.get("hook_attributes") or {}
    if not isinstance(hook, dict) or (hook.get("url") is not None and not _safe_redirect(hook.get("url"))):
        raise ValueError("hook_attributes.url must be an http(s) URL")
    perms = manifest.get("default_permissions") or {}
    if not isinstance(perms, dict) or any(v not in _PERMISSION_LEVELS for v in perms.values()):
        raise ValueError("default_permissions must map permission names to read, write or admin")
    events = manifest.get("default_events") or []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ValueError("default_events must be a list of event names")
    name = manifest.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 34):
        raise ValueError("name must be a non-empty string of at most 34 characters")
    return manifest


def _new_manifest(org: str | None) -> Response:
    st = state()
    try:
        manifest = _validate_manifest(request.form.get("manifest"))
    except ValueError as err:
        return _page("Invalid manifest", f"<p>{html.escape(str(err))}</p>", 422)
    with st.lock:
        if org is not None and st.org(org) is None:
            return _page("Not Found", "<p>No such organization.</p>", 404)
        owner = st.org(org).login if org is not None else (request.values.get("login") or "admin")  # type: ignore[union-attr]
        if st.account(owner) is None:
            return _page("Unknown user", f"<p>There is no user {html.escape(owner)}.</p>", 404)
        name = (manifest.get("name") or f"{owner}-app").strip()
        if any(a.name.lower() == name.lower() for a in st.apps.values()):
            return _page("Name already taken", f"<p>An App named {html.escape(name)} exists.</p>", 422)
        code = secrets.token_hex(10)
        st.manifest_codes[code] = {
            "manifest": manifest,
            "owner": owner,
            "name": name,
            "expires_at": st.now() + MANIFEST_CODE_TTL,
        }
    target = manifest.get("redirect_url") or manifest["url"]
    params = {"code": code}
    if request.values.get("state") is not None:
        params["state"] = request.values["state"]
    return redirect(_with_query(target, params), code=302)


@bp.post("/settings/apps/new")
def manifest_for_user() -> Response:
    return _new_manifest(None)


@bp.post("/organizations/<org>/settings/apps/new")
def manifest_for_org(org: str) -> Response:
    return _new_manifest(org)


@bp.post("/api/v3/app-manifests/<code>/conversions")
def convert_manifest(code: str) -> Response:
    st = state()
    with st.lock:
        grant = st.manifest_codes.pop(code, None)
        if grant is None or st.now() >= grant["expires_at"]:
            raise ApiError(404, "Not Found")
        manifest, owner, name = grant["manifest"], grant["owner"], grant["name"]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        app_id = st.next_id("app")
        slug = _SLUG_RE.sub("-", name.lower()).strip("-") or f"app-{app_id}"
        bot = st.add_user(f"{slug}[bot]", type_="Bot")
        hook = manifest.get("hook_attributes") or {}
        webhook_secret = secrets.token_hex(20)
        now = st.now()
        events = list(manifest.get("default_events") or [])
        app = App(
            id=app_id,
            slug=slug,
            name=name,
            owner=owner,
            client_id=f"Iv1.{secrets.token_hex(8)}",
            client_secret=secrets.token_hex(20),
            webhook_secret=webhook_secret,
            webhook_url=hook.get("url") if hook.get("active", True) else None,
            public_key_pem=public,
            bot_user=bot.login,
            created_at=now,
            updated_at=now,
            hook_id=st.next_id("hook"),
            permissions=dict(manifest.get("default_permissions") or {}),
            events=events,
            description=str(manifest.get("description") or ""),
            external_url=manifest["url"],
            private_key_pem=pem,
        )
        st.apps[app.id] = app
        if isinstance(manifest.get("setup_url"), str) and _safe_redirect(manifest["setup_url"]):
            # where GitHub sends the browser after an installation (bot.sandbox.pages_apps)
            st.extra.setdefault("app_setup_urls", {})[app.id] = manifest["setup_url"]
        body = serializers.app(st, app)
        body.update(
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "webhook_secret": webhook_secret,
                "pem": pem.decode(),
            }
        )
    return respond(body, 201)
