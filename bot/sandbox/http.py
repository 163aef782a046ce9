"""HTTP plumbing shared by every sandbox API module.

GitHub-shaped errors, authentication (user tokens, App JWTs, installation tokens) into an ``Actor``,
role checks, pagination with ``Link`` headers, URL builders, rate-limit headers and accounting,
ETags, the request log and fault injection. API modules use these and never touch Flask's request
plumbing for these concerns themselves.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlencode

import jwt
from flask import Flask, Response, current_app, g, has_request_context, request

from bot.sandbox import gitobjects
from bot.sandbox.state import Fault, Repo, SandboxState, role_at_least

T = TypeVar("T")

API_PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
RATE_LIMIT = 5000
RATE_WINDOW = 3600


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """Raise anywhere in a handler to answer with GitHub's error body."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, documentation_url: str = DOCS) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def not_found() -> NoReturn:
    raise ApiError(404, "Not Found")


def found(value: T | None) -> T:
    """``value``, or GitHub's 404 when a look-up found nothing."""
    if value is None:
        not_found()
    return value


def validation_failed(resource: str, field: str, code: str = "invalid", message: str | None = None) -> NoReturn:
    err: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message:
        err["message"] = message
    raise ApiError(422, "Validation Failed", errors=[err])


def unprocessable(message: str) -> NoReturn:
    raise ApiError(422, message)


# --------------------------------------------------------------------------- state and JSON


def state() -> SandboxState:
    return current_app.config["SANDBOX_STATE"]


def json_value() -> Any:
    """The request body parsed as JSON, whatever its Content-Type (``None`` when empty); GitHub
    answers 400 "Problems parsing JSON" for a body that is not JSON.

    GitHub reads the body as JSON whatever its Content-Type, so ``curl -d '{…}'`` (sent as
    application/x-www-form-urlencoded) works there; ``request.data`` would be empty for that type.
    Every endpoint reads its body through here (or :func:`json_body`), so none can differ."""
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None


def json_body() -> dict[str, Any]:
    """The request's JSON object (``{}`` when the body is empty); see :func:`json_value`."""
    data = json_value()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "Problems parsing JSON")
    return data


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["Content-Type"] = "application/json; charset=utf-8"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def created(body: dict[str, Any]) -> Response:
    """201 with ``Location``: the new object's ``url``, as GitHub answers a create."""
    return respond(body, 201, headers={"Location": body["url"]})


def no_content() -> Response:
    return Response(status=204)


# --------------------------------------------------------------------------- URLs


def site_base() -> str:
    """``http://host:port`` the client used (PyGithub rejects URLs from another host)."""
    if has_request_context():
        return request.host_url.rstrip("/")
    st = state() if _has_app() else None
    return (st.base_url if st and st.base_url else "http://127.0.0.1").rstrip("/")


def _has_app() -> bool:
    try:
        _ = current_app.name
        return True
    except RuntimeError:
        return False


def api_url(path: str = "") -> str:
    return f"{site_base()}{API_PREFIX}{path}"


def html_url(path: str = "") -> str:
    return f"{site_base()}{path}"


def quote_ref(name: str) -> str:
    """A branch or tag name inside a URL path (``release/1.4`` stays readable, as GitHub writes it)."""
    return quote(name, safe="/")


# --------------------------------------------------------------------------- authentication


@dataclass(frozen=True)
class Actor:
    """Who is calling. ``login`` is what the request log shows."""

    kind: str  # "anonymous" | "user" | "installation" | "app"
    login: str | None = None
    app_id: int | None = None
    installation_id: int | None = None
    repository_ids: frozenset[int] | None = None
    token: str | None = None

    @property
    def is_app_side(self) -> bool:
        return self.kind in ("installation", "app")

    @property
    def rate_key(self) -> str:
        if self.kind == "installation":
            return f"installation:{self.installation_id}"
        if self.kind == "app":
            return f"app:{self.app_id}"
        if self.kind == "user":
            return f"user:{(self.login or '').lower()}"
        return f"ip:{request.remote_addr if has_request_context() else '-'}"


ANONYMOUS = Actor(kind="anonymous")


def authenticate(st: SandboxState) -> Actor:
    """Turn the Authorization header into an Actor; bad credentials are 401, as on GitHub."""
    header = request.headers.get("Authorization", "")
    if not header:
        return ANONYMOUS
    scheme, _, cred = header.partition(" ")
    cred = cred.strip()
    if scheme.lower() not in ("token", "bearer") or not cred:
        if scheme.lower() == "basic":
            return _basic_auth(st, cred)
        raise ApiError(401, "Bad credentials")
    if cred.count(".") == 2 and not cred.startswith(("ghs_", "sandbox-token-", "gho_", "ghu_")):
        return _app_jwt(st, cred)
    with st.lock:
        tok = st.tokens.get(cred)
        if tok is None:
            raise ApiError(401, "Bad credentials")
        if tok.expires_at is not None and st.now() >= tok.expires_at:
            raise ApiError(401, "Bad credentials")
        if tok.kind == "installation":
            inst = st.installations.get(tok.installation_id or -1)
            if inst is None or inst.deleted:
                raise ApiError(401, "Bad credentials")
            if inst.suspended_at is not None:
                raise ApiError(403, "This installation has been suspended")
            return Actor(kind="installation", login=tok.login, app_id=inst.app_id, installation_id=inst.id,
                         repository_ids=frozenset(tok.repository_ids) if tok.repository_ids else None,
                         token=cred)
        return Actor(kind="user", login=_canonical_login(st, tok.login), token=cred)


def _basic_auth(st: SandboxState, cred: str) -> Actor:
    # OAuth client credentials (client_id:client_secret) — used by a few App endpoints.
    import base64

    try:
        user, _, pw = base64.b64decode(cred).decode().partition(":")
    except ValueError:
        raise ApiError(401, "Bad credentials") from None
    for app in st.apps.values():
        if app.client_id == user and app.client_secret == pw:
            return Actor(kind="oauth_app", login=app.slug, app_id=app.id)
    tok = st.tokens.get(pw)
    if tok is not None and tok.kind == "user":
        return Actor(kind="user", login=_canonical_login(st, tok.login), token=pw)
    raise ApiError(401, "Bad credentials")


def _canonical_login(st: SandboxState, login: str | None) -> str | None:
    user = st.user(login) if login else None
    return user.login if user else login


def _app_jwt(st: SandboxState, cred: str) -> Actor:
    try:
        unverified = jwt.decode(cred, options={"verify_signature": False})
        app_id = int(unverified.get("iss"))
    except (jwt.PyJWTError, TypeError, ValueError):
        raise ApiError(401, "A JSON web token could not be decoded") from None
    app = st.apps.get(app_id)
    if app is None or not app.public_key_pem:
        raise ApiError(401, "Integration not found") if app is None else ApiError(
            401, "A JSON web token could not be decoded")
    now = st.now().timestamp()
    try:
        # The sandbox clock decides expiry, so verify exp/iat by hand against it.
        claims = jwt.decode(cred, app.public_key_pem, algorithms=["RS256"],
                            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError:
        raise ApiError(401, "A JSON web token could not be decoded") from None
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise ApiError(401, "Missing 'exp' or 'iat' claim in the JWT")
    if exp < now - 30:
        raise ApiError(401, "'Expiration time' claim ('exp') must be a numeric value representing the "
                            "future time at which the assertion expires")
    if exp - iat > 600 + 60:
        raise ApiError(401, "Expiration time' claim ('exp') is too far in the future")
    if iat > now + 60:
        raise ApiError(401, "'Issued at' claim ('iat') must be an Integer representing the time that "
                            "the assertion was issued")
    return Actor(kind="app", login="app", app_id=app.id, token=None)


def actor() -> Actor:
    return getattr(g, "actor", ANONYMOUS)


def require_auth() -> Actor:
    a = actor()
    if a.kind == "anonymous":
        raise ApiError(401, "Requires authentication")
    return a


def require_app_jwt() -> Actor:
    a = actor()
    if a.kind != "app":
        raise ApiError(401, "A JSON web token could not be decoded")
    return a


def actor_login() -> str:
    """The login that becomes ``user``/``sender`` of what this request creates."""
    a = actor()
    return a.login or "ghost"


# --------------------------------------------------------------------------- repositories and roles


def get_repo(owner: str, name: str, needed: str = "read", *, app_permission: str | None = None,
             app_level: str = "write") -> Repo:
    """The repository if the actor may see it (404 otherwise) and has ``needed`` (403 otherwise).

    For the App's installation token, ``app_permission`` names the App permission that a write needs
    (``contents``, ``issues``, ``checks`` ...); the App acts on installed repositories only.
    """
    st = state()
    repo = st.repo(owner, name)
    if repo is None:
        not_found()
    a = actor()
    if a.kind == "installation":
        inst = st.installations.get(a.installation_id or -1)
        app = st.apps.get(a.app_id or -1)
        covered = inst is not None and st.app_installation_for(inst.app_id, repo) is inst
        if not covered or (a.repository_ids is not None and repo.id not in a.repository_ids):
            not_found()
        if needed != "read" and app is not None:
            perm_name = app_permission or "contents"
            granted = app.permissions.get(perm_name)
            if granted is None or (app_level == "write" and granted != "write"):
                raise ApiError(403, "Resource not accessible by integration")
        return repo
    if a.kind == "app":
        raise ApiError(403, "Resource not accessible by integration") if needed != "read" else ApiError(
            401, "A JSON web token could not be decoded")
    role = st.role(repo, a.login if a.kind == "user" else None)
    if role is None:
        not_found()
    if a.kind == "anonymous" and needed != "read":
        raise ApiError(401, "Requires authentication")
    if not role_at_least(role, needed):
        raise ApiError(403, "Must have admin rights to Repository." if needed == "admin"
                       else "Resource not accessible by personal access token")
    return repo


def read_in_repo(owner: str, name: str, build: Callable[[SandboxState, Repo], Any], *,
                 app_permission: str | None = None) -> Response:
    """The common GET: under the state lock, the repository as the caller may see it (``get_repo``
    answers 404/403), then ``build(state, repo)`` as the JSON answer (``build`` may raise 404 too)."""
    st = state()
    with st.lock:
        return respond(build(st, get_repo(owner, name, app_permission=app_permission)))


def list_in_repo(owner: str, name: str, build: Callable[[SandboxState, Repo], Sequence[Any]], *,
                 app_permission: str | None = None) -> Response:
    """The common listing: like ``read_in_repo``, then one page of ``build(state, repo)``, sliced
    under the lock (a lazily shaped list serializes only that page)."""
    st = state()
    with st.lock:
        return paginate(build(st, get_repo(owner, name, app_permission=app_permission)))


def commit_for_ref(repo: Repo, ref: str) -> str:
    """The commit a branch, tag or sha names; 422 "No commit found" otherwise, as GitHub answers."""
    sha = gitobjects.resolve(repo, ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


def actor_role(repo: Repo) -> str | None:
    """The actor's role on ``repo`` (the App counts as write-capable within its permissions)."""
    a = actor()
    if a.kind == "installation":
        return "write"
    if a.kind == "user":
        return state().role(repo, a.login)
    return None


# --------------------------------------------------------------------------- pagination


def page_params() -> tuple[int, int]:
    try:
        per_page = int(request.args.get("per_page", 30))
        page = int(request.args.get("page", 1))
    except ValueError:
        raise ApiError(422, "Invalid pagination parameters") from None
    per_page = max(1, min(per_page, 100))
    return max(page, 1), per_page


def paginate(items: Sequence[Any], *, wrap: str | None = None, extra: dict[str, Any] | None = None) -> Response:
    """Answer one page of ``items`` with GitHub's ``Link`` header (next/last/first/prev).

    ``wrap`` names an object key for endpoints whose lists come wrapped (``{"total_count", key: [...]}``).
    """
    page, per_page = page_params()
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    last = max(1, math.ceil(len(items) / per_page))
    links = []
    base_args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}

    def link(p: int, rel: str) -> str:
        args = dict(base_args, per_page=per_page, page=p)
        return f'<{api_url(_api_path())}?{urlencode(args)}>; rel="{rel}"'

    if page > 1:
        links.append(link(page - 1, "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
        links.append(link(last, "last"))
    if page > 1:
        links.append(link(1, "first"))
    headers = {"Link": ", ".join(links)} if links else {}
    body: Any = chunk
    if wrap is not None:
        body = {"total_count": len(items), wrap: chunk, **(extra or {})}
    return respond(body, headers=headers)


def _api_path() -> str:
    path = request.path
    return path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path


# --------------------------------------------------------------------------- request hooks


def install_hooks(app: Flask) -> None:
    """Register authentication, faults, rate limits, ETags and the request log on ``app``."""

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return respond(err.body(), status=err.status, headers=err.headers)

    @app.errorhandler(404)
    def _not_found(_err: Exception) -> Response:
        return respond({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status=404)

    @app.errorhandler(405)
    def _method(_err: Exception) -> Response:
        return respond({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status=404)

    @app.before_request
    def _before() -> Response | None:
        g.started = time.monotonic()
        g.actor = ANONYMOUS
        if not request.path.startswith(API_PREFIX):
            return None
        st = state()
        try:
            g.actor = authenticate(st)
        except ApiError as err:
            return respond(err.body(), status=err.status, headers=err.headers)
        fault = _apply_fault(st)
        if fault is not None:
            return fault
        refused = _refuse_over_secondary_limits(st)
        if refused is not None:
            return refused
        return _refuse_if_exhausted(st)

    @app.teardown_request
    def _teardown(_exc: BaseException | None) -> None:
        key = g.pop("secondary_limit_key", None)
        if key is not None:
            state().secondary_limits.done(key)

    @app.after_request
    def _after(resp: Response) -> Response:
        applied = getattr(g, "applied_fault", None)
        if applied is not None:
            # The change happened (and its webhooks went out); the client only sees the failure,
            # as when GitHub's answer is lost behind a 502.
            g.applied_fault = None
            resp = _fault_response(applied, f"SANDBOX:FAULT:{applied.id}:{applied.hits}")
        # GitHub's clock, not the host's: clients that sign JWTs learn the server time from it.
        resp.headers["Date"] = format_datetime(state().now(), usegmt=True)
        if not request.path.startswith(API_PREFIX):
            if request.path.startswith("/login/oauth"):
                _log(resp.status_code)
            return resp
        if request.method == "GET" and resp.status_code == 200 and not resp.direct_passthrough:
            etag = 'W/"' + hashlib.sha256(resp.get_data()).hexdigest()[:32] + '"'
            resp.headers["ETag"] = etag
            if etag in request.headers.get("If-None-Match", ""):
                resp = Response(status=304, headers={k: v for k, v in resp.headers.items()
                                                     if k.lower() not in ("content-type", "content-length")})
        st = state()
        # As on GitHub, a 304 to a conditional request does not count against the rate limit.
        counted = request.path != f"{API_PREFIX}/rate_limit" and resp.status_code != 304
        limit, remaining, reset, used = _account(st, actor(), count=counted)
        if not getattr(g, "rate_headers_set", False):
            resp.headers["X-RateLimit-Limit"] = str(limit)
            resp.headers["X-RateLimit-Remaining"] = str(remaining)
            resp.headers["X-RateLimit-Reset"] = str(reset)
            resp.headers["X-RateLimit-Used"] = str(used)
            resp.headers["X-RateLimit-Resource"] = "core"
        resp.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        resp.headers.setdefault("X-GitHub-Request-Id", f"SANDBOX:{id(resp):X}")
        _log(resp.status_code)
        return resp


def _log(status: int) -> None:
    st = state()
    a = actor()
    path = request.path
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :] or "/"
    st.log_request(request.method, path, status, a.login)


def _account(st: SandboxState, a: Actor, *, count: bool) -> tuple[int, int, int, int]:
    """Count this request against the actor's hourly window; return (limit, remaining, reset, used)."""
    limit = 60 if a.kind == "anonymous" else st.rate_limit
    now = int(st.now().timestamp())
    with st.lock:
        start, used = st.rate_used.get(a.rate_key, (now, 0))
        if now >= start + RATE_WINDOW:
            start, used = now, 0
        if count:
            used += 1
        st.rate_used[a.rate_key] = (start, used)
    return limit, max(0, limit - used), start + RATE_WINDOW, used


def _refuse_if_exhausted(st: SandboxState) -> Response | None:
    """Primary rate limiting, when switched on (``POST /_sandbox/rate-limit``): once the hour's budget
    is used, GitHub answers 403 until the reset. Off by default so benchmarks measure the bot."""
    if not st.rate_limit_enforced or request.path == f"{API_PREFIX}/rate_limit":
        return None
    limit, remaining, reset, used = _account(st, actor(), count=False)
    if remaining > 0:
        return None
    g.rate_headers_set = True
    return respond({"message": f"API rate limit exceeded for {actor().login or 'you'}.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                   status=403, headers={"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                                        "X-RateLimit-Used": str(used), "X-RateLimit-Reset": str(reset),
                                        "X-RateLimit-Resource": "core"})


def _refuse_over_secondary_limits(st: SandboxState) -> Response | None:
    """GitHub's secondary limits per installation, when switched on (bot/sandbox/secondary_limits.py)."""
    a = actor()
    if a.kind != "installation":
        return None
    wait = st.secondary_limits.admit(a.rate_key, request.method)
    if wait is None:
        g.secondary_limit_key = a.rate_key
        return None
    message = SECONDARY_LIMIT_MESSAGE.format(request_id=f"SANDBOX:LIMIT:{st.secondary_limits.refused}")
    return respond({"message": message, "documentation_url": SECONDARY_LIMIT_DOCS},
                   status=403, headers={"Retry-After": str(max(1, math.ceil(wait)))})


def rate_status(st: SandboxState, a: Actor) -> tuple[int, int, int, int]:
    return _account(st, a, count=False)


# GitHub's own words for its limits (docs: "Rate limits for the REST API").
SECONDARY_LIMIT_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                           "If you reach out to GitHub Support for help, please include the request ID {request_id}.")
SECONDARY_LIMIT_DOCS = ("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                        "#about-secondary-rate-limits")
PRIMARY_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
_FAULT_MESSAGES = {500: "Server Error", 502: "Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _matching_fault(st: SandboxState, path: str) -> Fault | None:
    """The first armed fault that fires on this request (counting it), or None."""
    with st.lock:
        for f in st.faults:
            if f.exhausted:
                continue
            if f.method and f.method.upper() != request.method:
                continue
            if not re.search(f.path, path):
                continue
            if f.actor is not None and not re.fullmatch(f.actor, actor().login or ""):
                continue
            if f.after > 0:
                f.after -= 1  # this one passes
                continue
            if f.probability < 1 and f.rng.random() >= f.probability:
                continue
            if f.times > 0:
                f.times -= 1
            f.hits += 1
            return f
    return None


def _apply_fault(st: SandboxState) -> Response | None:
    fault = _matching_fault(st, _api_path())
    if fault is None:
        return None
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
    request_id = f"SANDBOX:FAULT:{fault.id}:{fault.hits}"
    if fault.rate_limit_exhausted:
        # The primary limit: Remaining 0 and the reset time; nothing is served until then.
        reset = int(st.now().timestamp()) + (fault.retry_after or 60)
        g.rate_headers_set = True
        who = actor()
        name = f"installation ID {who.installation_id}" if who.installation_id else (who.login or "you")
        return respond({"message": fault.message or f"API rate limit exceeded for {name}.",
                        "documentation_url": PRIMARY_LIMIT_DOCS},
                       status=fault.status or 403,
                       headers={"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Used": str(RATE_LIMIT), "X-RateLimit-Reset": str(reset),
                                "X-RateLimit-Resource": "core", "X-GitHub-Request-Id": request_id})
    if not fault.status:
        return None  # a latency-only fault: serve normally after the delay
    if fault.applied:
        g.applied_fault = fault  # served first; ``_after`` replaces the answer
        return None
    return _fault_response(fault, request_id)


def _fault_response(fault: Fault, request_id: str) -> Response:
    headers = {"X-GitHub-Request-Id": request_id}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.status in (403, 429):
        # A secondary limit: the primary headers stay healthy (after_request adds them); only the
        # body, and Retry-After when GitHub sends one, tell it from a permission refusal.
        body = {"message": fault.message or SECONDARY_LIMIT_MESSAGE.format(request_id=request_id),
                "documentation_url": SECONDARY_LIMIT_DOCS}
    else:
        body = {"message": fault.message or _FAULT_MESSAGES.get(fault.status, "Injected fault"),
                "documentation_url": DOCS}
    return respond(body, status=fault.status, headers=headers)
