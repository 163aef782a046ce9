"""The App's side of the API: ``GET /app``, installations, installation access tokens, the
installation's repositories, and the App's webhook deliveries (list by cursor, get, redeliver).

Endpoints under ``/app`` take the App's JWT (checked against its public key by ``http.authenticate``);
``/installation/...`` takes an installation token. Tokens expire an hour after minting by the sandbox's
clock; a suspended installation gets no token (403), a deleted one is not found.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from bot.sandbox import serializers
from bot.sandbox.http import (
    ApiError,
    actor,
    api_url,
    found,
    json_body,
    no_content,
    not_found,
    paginate,
    require_app_jwt,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.state import App, Delivery, Installation, Repo, SandboxState, iso
from bot.sandbox.webhooks import emitter

bp = Blueprint("sandbox_app_auth", __name__)


def _app() -> App:
    a = require_app_jwt()
    app = state().apps.get(a.app_id or -1)
    if app is None:
        raise ApiError(401, "Integration not found")
    return app


def _installation(app: App, inst_id: int) -> Installation:
    inst = state().installations.get(inst_id)
    if inst is None or inst.deleted or inst.app_id != app.id:
        not_found()
    return inst


def _repo_shape(st: SandboxState, repo: Repo) -> dict[str, Any]:
    return serializers.repository(st, repo, full=False)


# --------------------------------------------------------------------------- the App and its installations


@bp.get("/app")
def get_app() -> Response:
    st = state()
    with st.lock:
        return respond(serializers.app(st, _app()))


@bp.get("/app/installations")
def list_installations() -> Response:
    st = state()
    with st.lock:
        app = _app()
        items = sorted(
            (i for i in st.installations.values() if i.app_id == app.id and not i.deleted), key=lambda i: i.id
        )
        body = [serializers.installation(st, i) for i in items]
    return paginate(body)


@bp.get("/app/installations/<int:inst_id>")
def get_installation(inst_id: int) -> Response:
    st = state()
    with st.lock:
        return respond(serializers.installation(st, _installation(_app(), inst_id)))


@bp.post("/app/installations/<int:inst_id>/access_tokens")
def create_access_token(inst_id: int) -> Response:
    st = state()
    data = json_body()
    with st.lock:
        app = _app()
        inst = _installation(app, inst_id)
        if inst.suspended_at is not None:
            raise ApiError(403, "This installation has been suspended")
        covered = {r.id: r for r in st.installation_repos(inst)}
        narrowed: set[int] | None = None
        names = data.get("repositories")
        ids = data.get("repository_ids")
        if names is not None or ids is not None:
            narrowed = set()
            for name in names or []:
                repo = next((r for r in covered.values() if r.name.lower() == str(name).lower()), None)
                if repo is None:
                    raise ApiError(
                        422,
                        f"There is at least one repository that does not exist or is not "
                        f"accessible to the parent installation: {name}",
                    )
                narrowed.add(repo.id)
            for rid in ids or []:
                if not isinstance(rid, int) or rid not in covered:
                    raise ApiError(
                        422,
                        "There is at least one repository that does not exist or is not "
                        "accessible to the parent installation.",
                    )
                narrowed.add(rid)
        permissions = dict(app.permissions)
        asked = data.get("permissions")
        if asked is not None:
            if not isinstance(asked, dict):
                validation_failed("Token", "permissions")
            for key, level in asked.items():
                granted = app.permissions.get(key)
                if (
                    granted is None
                    or (level == "write" and granted != "write")
                    or level not in ("read", "write")
                ):
                    raise ApiError(
                        422, f"The permissions requested are not granted to this installation. ({key})"
                    )
            permissions = dict(asked)
        token = st.issue_token(inst.id, repository_ids=narrowed)
        body: dict[str, Any] = {
            "token": token.token,
            "expires_at": iso(token.expires_at),
            "permissions": permissions,
            "repository_selection": "selected" if narrowed is not None else inst.repository_selection,
        }
        if narrowed is not None:
            body["repositories"] = [_repo_shape(st, covered[rid]) for rid in sorted(narrowed)]
    return respond(body, 201)


@bp.get("/repos/<owner>/<name>/installation")
def repo_installation(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        app = _app()
        repo = st.repo(owner, name)
        inst = st.app_installation_for(app.id, repo) if repo is not None else None
        if inst is None:
            not_found()
        return respond(serializers.installation(st, inst))


@bp.get("/orgs/<org>/installation")
@bp.get("/users/<org>/installation")
def account_installation(org: str) -> Response:
    st = state()
    with st.lock:
        app = _app()
        inst = next(
            (
                i
                for i in st.installations.values()
                if i.app_id == app.id and not i.deleted and i.account.lower() == org.lower()
            ),
            None,
        )
        if inst is None:
            not_found()
        return respond(serializers.installation(st, inst))


# --------------------------------------------------------------------------- with an installation token


@bp.get("/installation/repositories")
def installation_repositories() -> Response:
    st = state()
    with st.lock:
        a = actor()
        if a.kind != "installation":
            raise ApiError(
                403,
                "You must authenticate with an installation access token in order to "
                "list repositories for an installation.",
            )
        inst = st.installations[a.installation_id or -1]
        repos = st.installation_repos(inst)
        if a.repository_ids is not None:
            repos = [r for r in repos if r.id in a.repository_ids]
        body = [_repo_shape(st, r) for r in repos]
        selection = "selected" if a.repository_ids is not None else inst.repository_selection
    return paginate(body, wrap="repositories", extra={"repository_selection": selection})


@bp.delete("/installation/token")
def revoke_token() -> Response:
    st = state()
    with st.lock:
        a = actor()
        if a.kind != "installation" or a.token is None:
            raise ApiError(401, "Bad credentials")
        st.tokens.pop(a.token, None)
    return no_content()


# --------------------------------------------------------------------------- webhook deliveries


def delivery_item(d: Delivery) -> dict[str, Any]:
    """``hook-delivery-item``."""
    return {
        "id": d.id,
        "guid": d.guid,
        "delivered_at": iso(d.delivered_at),
        "redelivery": d.redelivery,
        "duration": round(d.duration, 3),
        "status": d.status,
        "status_code": d.status_code,
        "event": d.event,
        "action": d.action,
        "installation_id": d.installation_id,
        "repository_id": d.repository_id,
        "throttled_at": None,
    }


# GitHub keeps deliveries, and lets them be redelivered, for 3 days.
DELIVERY_RETENTION = timedelta(days=3)


def _outcome(d: Delivery) -> str:
    """``status=success|failure`` classifies by ``status_code`` range, as GitHub documents: success
    200-399, failure 400-599 (a delivery that got no HTTP answer, status code 0, is neither)."""
    if 200 <= d.status_code <= 399:
        return "success"
    if 400 <= d.status_code <= 599:
        return "failure"
    return ""


@bp.get("/app/hook/deliveries")
def list_deliveries() -> Response:
    """Newest first, paged by an opaque ``cursor`` (as GitHub does here, instead of ``page``);
    ``status=success|failure`` filters by status code range. Only the last 3 days are kept."""
    st = state()
    try:
        per_page = max(1, min(int(request.args.get("per_page", 30)), 100))
    except ValueError:
        validation_failed("HookDelivery", "per_page")
    wanted = request.args.get("status")
    if wanted is not None and wanted not in ("success", "failure"):
        validation_failed("HookDelivery", "status", "invalid", "status must be one of: success, failure")
    cursor = request.args.get("cursor")
    with st.lock:
        app = _app()
        horizon = st.now() - DELIVERY_RETENTION
        items = [
            d
            for d in reversed(st.deliveries)
            if d.app_id == app.id
            and d.delivered_at >= horizon
            and d.status != "pending"
            and (wanted is None or _outcome(d) == wanted)
        ]
        if cursor:
            try:
                before = int(cursor.removeprefix("v1_"))
            except ValueError:
                raise ApiError(400, "Invalid cursor") from None
            items = [d for d in items if d.id < before]
        chunk = items[:per_page]
        body = [delivery_item(d) for d in chunk]
    headers = {}
    if len(items) > per_page:
        args = {k: v for k, v in request.args.items() if k not in ("cursor", "per_page")}
        args.update(per_page=str(per_page), cursor=f"v1_{chunk[-1].id}")
        headers["Link"] = f'<{api_url("/app/hook/deliveries")}?{urlencode(args)}>; rel="next"'
    return respond(body, headers=headers)


def _find_delivery(app: App, delivery_id: str) -> Delivery:
    st = state()
    try:
        wanted = int(delivery_id)
    except ValueError:
        not_found()
    return found(next((d for d in st.deliveries if d.id == wanted and d.app_id == app.id), None))


@bp.get("/app/hook/deliveries/<delivery_id>")
def get_delivery(delivery_id: str) -> Response:
    st = state()
    with st.lock:
        d = _find_delivery(_app(), delivery_id)
        body = delivery_item(d)
        body.update(
            {
                "url": d.url,
                "request": {"headers": dict(d.request_headers) or None, "payload": d.payload},
                "response": {"headers": dict(d.response_headers) or None, "payload": d.response_body or None},
            }
        )
    return respond(body)


@bp.post("/app/hook/deliveries/<delivery_id>/attempts")
def redeliver(delivery_id: str) -> Response:
    st = state()
    with st.lock:
        d = _find_delivery(_app(), delivery_id)
        if d.delivered_at < st.now() - DELIVERY_RETENTION:
            raise ApiError(422, "Cannot redeliver deliveries older than 3 days")
        target = d.id
    emitter(st).redeliver(target)
    return respond({}, 202)
