"""Fidelity harness: check the sandbox against what GitHub publishes, not against itself.

- ``assert_valid_response(method, path, status, body)`` validates a REST response body against the
  response schema of the matching operation in GitHub's OpenAPI description (api.github.com,
  OpenAPI 3.0, so ``nullable`` is understood through openapi-schema-validator's ``OAS30Validator``).
- ``assert_valid_webhook(event, payload)`` validates a webhook payload against
  ``@octokit/webhooks-schemas`` for its event and action.
- ``WebhookRecorder`` (and the ``webhook_recorder`` fixture) is a tiny HTTP receiver that records the
  deliveries the sandbox POSTs, checks their signature, and lets a test wait for a sequence.

The published references live in the fixtures cache filled by ``scripts/fetch-fixtures``; they are
parsed once per test process (the OpenAPI description is 13 MB).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

ROOT = Path(__file__).resolve().parents[2]
API_PREFIX = "/api/v3"


# --------------------------------------------------------------------------- references


@cache
def fixtures_root() -> Path:
    """The pinned references cache (same lookup as the ``fixtures_dir`` fixture in tests/conftest.py)."""
    env = os.environ.get("RELEASE_BOT_FIXTURES")
    if env and Path(env).is_dir():
        return Path(env)
    out = subprocess.run(
        [str(ROOT / "scripts" / "fetch-fixtures")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


@cache
def openapi_spec() -> dict[str, Any]:
    with open(fixtures_root() / "openapi" / "api.github.com.json", encoding="utf-8") as fh:
        spec = json.load(fh)
    _allow_null_in_nullable_enums(spec)
    _drop_discriminators_over_arrays(spec)
    return spec


def _drop_discriminators_over_arrays(spec: dict[str, Any]) -> None:
    """``GET …/contents/{path}`` answers a directory as an array, one ``oneOf`` branch; its
    ``discriminator`` (on ``type``) cannot apply to an array, and the validator would refuse every
    directory listing. Without the discriminator, ``oneOf`` alone decides, as the spec means."""
    schemas = spec["components"]["schemas"]

    def is_array(branch: Any) -> bool:
        if isinstance(branch, dict) and "$ref" in branch:
            branch = schemas.get(branch["$ref"].rsplit("/", 1)[-1], {})
        return isinstance(branch, dict) and branch.get("type") == "array"

    stack: list[Any] = [spec]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            branches = cur.get("oneOf") or cur.get("anyOf") or []
            if "discriminator" in cur and any(is_array(b) for b in branches):
                del cur["discriminator"]
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def _fix_user_or_enterprise(schema: dict[str, Any]) -> None:
    """A known slip in the description: some inlined copies of ``installation.account`` say
    ``allOf: [Simple User, Enterprise]`` where the component says ``anyOf`` (an account is one or the
    other; nothing is both). Read them as the component does."""
    parts = schema.get("allOf")
    if isinstance(parts, list) and len(parts) == 2:
        titles = {p.get("title") for p in parts if isinstance(p, dict)}
        if titles == {"Simple User", "Enterprise"}:
            schema["anyOf"] = schema.pop("allOf")


def _allow_null_in_nullable_enums(node: Any) -> None:
    """``nullable: true`` with an ``enum`` that lacks null: GitHub means "or null" (an open issue's
    ``state_reason`` is null), but OAS 3.0.3's reading makes the enum refuse it. Add null to such enums."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            enum = cur.get("enum")
            if cur.get("nullable") is True and isinstance(enum, list) and None not in enum:
                cur["enum"] = [*enum, None]
            _fix_user_or_enterprise(cur)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


@cache
def webhook_schema() -> dict[str, Any]:
    with open(fixtures_root() / "webhooks-schemas" / "schema.json", encoding="utf-8") as fh:
        schema = json.load(fh)
    _allow_deployment_protection_rule_events(schema)
    return schema


def _allow_deployment_protection_rule_events(node: Any) -> None:
    """A known gap in the schemas: the list of events an installation subscribes to predates
    ``deployment_protection_rule``, which the same schemas define as an event and GitHub's App
    settings offer ("Deployment protection rule", docs: "Creating custom deployment protection
    rules"). An App subscribed to it shows it in ``installation.events``; allow it there."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            enum = cur.get("enum")
            if isinstance(enum, list) and "deployment_status" in enum and "deployment_review" in enum:
                if "deployment_protection_rule" not in enum:
                    enum.append("deployment_protection_rule")
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


# --------------------------------------------------------------------------- OpenAPI operations


# Path parameters that may hold slashes when sent decoded (a branch "release/1.4", a file path, a ref).
_GREEDY = {"path", "ref", "branch", "basehead", "tag"}


@dataclass(frozen=True)
class _Template:
    template: str
    regex: re.Pattern[str]
    literals: int  # literal segments: the most specific template wins (…/issues/comments over …/issues/{n})


def _compile(template: str, greedy: bool) -> _Template:
    parts = template.strip("/").split("/")
    pattern = ""
    literals = 0
    for i, part in enumerate(parts):
        whole = re.fullmatch(r"\{([^}]+)\}", part)
        if whole:
            if greedy and whole.group(1) in _GREEDY:
                # a trailing one may also be empty: GET …/contents/ lists the root directory
                pattern += "(?:/.*)?" if i == len(parts) - 1 else "/.+"
            else:
                pattern += "/[^/]+"
        elif "{" in part:
            # a segment mixing text and parameters, e.g. "{base}...{head}"
            pattern += "/" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(part))
            literals += 1
        else:
            pattern += "/" + re.escape(part)
            literals += 1
    return _Template(template, re.compile("^" + pattern + "$"), literals)


@cache
def _templates() -> tuple[list[_Template], list[_Template]]:
    paths = list(openapi_spec()["paths"])
    return [_compile(p, False) for p in paths], [_compile(p, True) for p in paths]


def _api_path(path: str) -> str:
    """Concrete API path without host, query and the GHES ``/api/v3`` prefix."""
    parsed = urlsplit(path)
    path = parsed.path or "/"
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :] or "/"
    return path.rstrip("/") or "/"


@cache
def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """(template, operation object) of the OpenAPI operation serving ``method path``.

    Path parameters match one segment; if nothing matches, parameters may span slashes (a branch
    or file path sent decoded). Among matches the template with the most literal segments wins.
    """
    method = method.lower()
    concrete = _api_path(path)
    paths = openapi_spec()["paths"]
    strict, greedy = _templates()
    for candidates, target in ((strict, concrete), (greedy, concrete), (greedy, unquote(concrete))):
        matches = [t for t in candidates if t.regex.match(target) and method in paths[t.template]]
        if matches:
            best = max(matches, key=lambda t: (t.literals, -len(t.template)))
            return best.template, paths[best.template][method]
    raise AssertionError(f"no operation in GitHub's OpenAPI description for {method.upper()} {concrete}")


def _resolve(obj: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref``s of a Response Object (#/components/responses/...)."""
    spec = openapi_spec()
    seen = 0
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        if not ref.startswith("#/"):
            raise AssertionError(f"non-local $ref {ref}")
        node: Any = spec
        for key in ref[2:].split("/"):
            node = node[key.replace("~1", "/").replace("~0", "~")]
        obj = node
        seen += 1
        if seen > 20:
            raise AssertionError(f"$ref loop at {ref}")
    return obj


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The JSON schema for ``status`` of the operation, None when GitHub documents no body."""
    template, operation = find_operation(method, path)
    responses = operation.get("responses", {})
    key = str(status)
    response = responses.get(key) or responses.get(f"{key[0]}XX") or responses.get("default")
    if response is None:
        if status >= 400:
            # GitHub documents few of its error responses per operation; its errors all share
            # basic-error's shape (validation-error for 422), so hold undocumented ones to that.
            name = "validation-error" if status == 422 else "basic-error"
            return {"$ref": f"#/components/schemas/{name}"}
        raise AssertionError(
            f"{method.upper()} {template}: status {status} is not documented"
            f" (documented: {sorted(responses)})"
        )
    content = _resolve(response).get("content") or {}
    media = content.get("application/json") or next(
        (v for k, v in content.items() if k.endswith("json")), None
    )
    if media is None or "schema" not in media:
        if status >= 400:
            # documented without a body, but GitHub's errors always carry basic-error's JSON
            return {"$ref": "#/components/schemas/basic-error"}
        return None
    return media["schema"]


@cache
def _components_root() -> dict[str, Any]:
    return {"components": openapi_spec()["components"]}


def response_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Every schema violation of ``body`` (empty list when valid)."""
    schema = response_schema(method, path, status)
    if schema is None:
        if body in (None, b"", ""):
            return []
        return [f"GitHub documents no body for {method.upper()} {path} {status}, got {body!r:.200}"]
    # The schema's $refs point into #/components; wrapping keeps them resolvable from the root.
    root = dict(_components_root())
    root["allOf"] = [schema]
    validator = OAS30Validator(root, format_checker=oas30_format_checker)
    return [_describe(e) for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))]


def assert_valid_response(method: str, path: str, status: int, body: Any) -> None:
    """Fail with every violation when ``body`` does not match GitHub's OpenAPI response schema."""
    errors = response_errors(method, path, status, body)
    if errors:
        template, _ = find_operation(method, path)
        listing = "\n  ".join(errors[:15])
        raise AssertionError(f"{method.upper()} {path} -> {status} does not match {template}:\n  {listing}")


# --------------------------------------------------------------------------- webhooks


def webhook_definition(event: str, action: str | None) -> str:
    """Name of the schema definition for an event (``milestone$created``; ``push$event`` has no action)."""
    defs = webhook_schema()["definitions"]
    for key in (f"{event}${action}" if action else None, f"{event}$event"):
        if key and key in defs:
            return key
    raise AssertionError(f"no webhook schema for event {event!r} action {action!r}")


def _is_uri(value: object) -> bool:
    # jsonschema checks "uri" only when rfc3987 is installed; without a check, '' would satisfy both
    # branches of the schemas' `oneOf: [{enum: ['']}, {format: uri}]` (environment_url, target_url).
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in ("mailto", "urn"))


@cache
def _webhook_format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=list(jsonschema.Draft7Validator.FORMAT_CHECKER.checkers))
    checker.checks("uri")(_is_uri)
    return checker


@cache
def _webhook_validator(definition: str) -> jsonschema.Draft7Validator:
    root = {"definitions": webhook_schema()["definitions"], "$ref": f"#/definitions/{definition}"}
    return jsonschema.Draft7Validator(root, format_checker=_webhook_format_checker())


def webhook_errors(event: str, payload: dict[str, Any]) -> list[str]:
    definition = webhook_definition(event, payload.get("action"))
    validator = _webhook_validator(definition)
    return [_describe(e) for e in sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))]


def assert_valid_webhook(event: str, payload: dict[str, Any]) -> None:
    """Fail with every violation when ``payload`` does not match @octokit/webhooks-schemas."""
    errors = webhook_errors(event, payload)
    if errors:
        listing = "\n  ".join(errors[:15])
        raise AssertionError(
            f"webhook {event}.{payload.get('action')} does not match its schema:\n  {listing}"
        )


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "<root>"
    if not error.context:
        return f"{where}: {error.message[:300]}"
    # anyOf/oneOf: say what failed in each branch, the closest branch (fewest errors) first
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
    ranked = sorted(branches.items(), key=lambda kv: len(kv[1]))
    parts = []
    for index, subs in ranked[:2]:
        msgs = "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or where}: {e.message[:160]}" for e in subs[:4]
        )
        parts.append(f"[branch {index}] {msgs}")
    return f"{where}: {error.message[:120]} -- " + " | ".join(parts)


# --------------------------------------------------------------------------- webhook receiver


@dataclass
class Delivery:
    event: str
    delivery_id: str
    headers: dict[str, str]
    payload: dict[str, Any]
    signature_ok: bool
    received_at: float = field(default_factory=time.monotonic)

    @property
    def action(self) -> str | None:
        return self.payload.get("action")

    @property
    def name(self) -> str:
        """``event.action`` (or just ``event`` for actionless events such as ``push``)."""
        return f"{self.event}.{self.action}" if self.action else self.event


class WebhookRecorder:
    """A loopback HTTP server standing in for the bot: records every webhook the sandbox POSTs."""

    def __init__(self, secret: str = "s3cret", status: int = 200) -> None:
        self.secret = secret
        self.status = status  # what the receiver answers; tests may change it to provoke failures
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                recorder._record(dict(self.headers.items()), raw)
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-recorder", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/github/webhooks"

    def _record(self, headers: dict[str, str], raw: bytes) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, lower.get("x-hub-signature-256", ""))
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = {"_unparseable": raw.decode("utf-8", "replace")}
        delivery = Delivery(
            event=lower.get("x-github-event", ""),
            delivery_id=lower.get("x-github-delivery", ""),
            headers=lower,
            payload=payload,
            signature_ok=ok,
        )
        with self._lock:
            self._deliveries.append(delivery)
            self._lock.notify_all()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def for_repo(self, repo: str | None) -> list[Delivery]:
        """Deliveries about ``owner/name`` (all when None)."""
        return [
            d
            for d in self.deliveries
            if repo is None or (d.payload.get("repository") or {}).get("full_name") == repo
        ]

    def names(self, repo: str | None = None) -> list[str]:
        """``event.action`` of every delivery so far, optionally only those about ``owner/name``."""
        return [d.name for d in self.for_repo(repo)]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float = 5.0) -> list[Delivery]:
        """Block until ``predicate(deliveries)`` holds; fail with what arrived after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(list(self._deliveries)):
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [d.name for d in self._deliveries]
                    raise AssertionError(f"webhooks not as expected after {timeout}s; received {got}")
                self._lock.wait(left)
            return list(self._deliveries)

    def wait_count(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        return self.wait_for(lambda ds: len(ds) >= count, timeout)

    def wait_names(self, *names: str, repo: str | None = None, timeout: float = 5.0) -> list[Delivery]:
        """Wait until the given ``event.action`` names have arrived, in this order (others may interleave).

        ``repo`` (``owner/name``) only looks at deliveries about that repository.
        """

        def contains(ds: list[Delivery]) -> bool:
            it = iter(
                d.name
                for d in ds
                if repo is None or (d.payload.get("repository") or {}).get("full_name") == repo
            )
            return all(any(n == got for got in it) for n in names)

        return self.wait_for(contains, timeout)

    def assert_all_valid(self, repo: str | None = None) -> None:
        """Every delivery so far (about ``repo`` when given) is signed and validates against GitHub's
        webhook schemas."""
        problems = []
        for d in self.for_repo(repo):
            if not d.signature_ok:
                problems.append(f"{d.name} ({d.delivery_id}): bad X-Hub-Signature-256")
            problems += [f"{d.name}: {e}" for e in webhook_errors(d.event, d.payload)]
        assert not problems, "invalid webhook deliveries:\n  " + "\n  ".join(problems[:30])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()
    try:
        yield recorder
    finally:
        recorder.close()


# --------------------------------------------------------------------------- validating REST client

#: (METHOD, OpenAPI template, status) of every response validated in this process; test_openapi_fidelity
#: uses it to show which operations were exercised.
VALIDATED: set[tuple[str, str, int]] = set()


class Api:
    """httpx client for the sandbox's REST API that validates every JSON response it gets.

    ``api.get("/repos/acme/rocket", as_="dev")`` sends ``Authorization: token sandbox-token-dev``;
    ``token=`` sends any token (a JWT, an installation token); neither sends no credentials.
    Validation failures raise at once, so every test that uses this client is also a fidelity test.
    """

    def __init__(self, api_url: str, default_user: str | None = "admin", validate: bool = True) -> None:
        import httpx

        self.api_url = api_url.rstrip("/")
        self.default_user = default_user
        self.validate = validate
        self._client = httpx.Client(timeout=15.0)

    def request(
        self,
        method: str,
        path: str,
        *,
        as_: str | None = None,
        token: str | None = None,
        anonymous: bool = False,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        validate: bool | None = None,
    ) -> Any:
        url = path if path.startswith("http") else self.api_url + path
        hdrs = {"Accept": "application/vnd.github+json", **(headers or {})}
        if not anonymous:
            if token is None:
                user = as_ or self.default_user
                token = f"sandbox-token-{user}" if user else None
            if token:
                hdrs["Authorization"] = f"token {token}"
        resp = self._client.request(method, url, json=json, params=params, headers=hdrs)
        if (self.validate if validate is None else validate) and resp.status_code != 304:
            body = resp.json() if resp.content else None
            assert_valid_response(method, urlsplit(str(resp.url)).path, resp.status_code, body)
            template, _ = find_operation(method, urlsplit(str(resp.url)).path)
            VALIDATED.add((method.upper(), template, resp.status_code))
        return resp

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.request("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    def paginate(self, path: str, *, per_page: int = 100, **kw: Any) -> list[Any]:
        """Follow ``Link: rel="next"`` to the end; every URL must be built from the API base."""
        items: list[Any] = []
        params = dict(kw.pop("params", None) or {}, per_page=per_page)
        resp = self.get(path, params=params, **kw)
        while True:
            assert resp.status_code == 200, resp.text
            items.extend(resp.json())
            nxt = resp.links.get("next", {}).get("url")
            if not nxt:
                return items
            assert nxt.startswith(self.api_url + "/"), f"Link URL {nxt} not built from {self.api_url}"
            resp = self.get(nxt, **kw)

    def sandbox(self, method: str, path: str, json: Any = None) -> Any:
        """A ``/_sandbox/`` call (not GitHub's API, so not validated)."""
        root = self.api_url[: -len(API_PREFIX)] if self.api_url.endswith(API_PREFIX) else self.api_url
        return self._client.request(method, root + path, json=json)

    def close(self) -> None:
        self._client.close()


# --------------------------------------------------------------------------- a running sandbox for tests


@dataclass
class RunningSandbox:
    """A sandbox started in-process on a free port, with a webhook recorder as its bot."""

    handle: Any  # what bot.sandbox.server.start_sandbox returned
    api: Api
    recorder: WebhookRecorder
    api_url: str
    root_url: str
    app_key_path: Path
    _repo_seq: int = 0

    def new_repo(self, owner: str = "acme", prefix: str = "r", **extra: Any) -> str:
        """A fresh installed repository (``owner/name``), so tests sharing one sandbox do not collide."""
        self._repo_seq += 1
        name = f"{prefix}{self._repo_seq}-{os.getpid()}"
        resp = self.api.sandbox("POST", "/_sandbox/repos", json={"owner": owner, "name": name, **extra})
        assert resp.status_code in (200, 201), resp.text
        return f"{owner}/{name}"

    def open_pull(
        self, repo: str, branch: str, title: str = "a change", as_: str = "dev", base: str = "main"
    ) -> dict[str, Any]:
        """A pull request from a new branch with one commit (through the git and pulls APIs)."""
        import base64

        api = self.api
        tip = api.get(f"/repos/{repo}/git/ref/heads/{base}").json()["object"]["sha"]
        resp = api.post(f"/repos/{repo}/git/refs", as_=as_, json={"ref": f"refs/heads/{branch}", "sha": tip})
        assert resp.status_code == 201, resp.text
        content = base64.b64encode(f"{branch}\n".encode()).decode()
        resp = api.put(
            f"/repos/{repo}/contents/{branch.replace('/', '-')}.txt",
            as_=as_,
            json={"message": f"add {branch}", "content": content, "branch": branch},
        )
        assert resp.status_code == 201, resp.text
        resp = api.post(f"/repos/{repo}/pulls", as_=as_, json={"title": title, "head": branch, "base": base})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def wait_idle(self) -> None:
        resp = self.api.sandbox("POST", "/_sandbox/wait-idle")
        assert resp.status_code in (200, 204), resp.text

    def app_jwt(self, app_id: int = 1, key_path: Path | None = None, ttl: int = 540) -> str:
        import jwt

        # the sandbox's clock decides a JWT's validity (tests move it forward)
        now = int(self.handle.state.now().timestamp())
        key = (key_path or self.app_key_path).read_text()
        return jwt.encode({"iat": now - 60, "exp": now + ttl, "iss": str(app_id)}, key, algorithm="RS256")

    def installation_token(self, installation_id: int = 1) -> str:
        resp = self.api.post(f"/app/installations/{installation_id}/access_tokens", token=self.app_jwt())
        assert resp.status_code == 201, resp.text
        return resp.json()["token"]


def start_running_sandbox(tmp_dir: Path, secret: str = "s3cret") -> RunningSandbox:
    from bot.sandbox.server import start_sandbox

    recorder = WebhookRecorder(secret=secret)
    key_path = tmp_dir / "sandbox-app.pem"
    handle = start_sandbox(
        port=0, webhook_url=recorder.url, webhook_secret=secret, app_key_path=str(key_path)
    )
    api_url = handle.api_url
    api = Api(api_url)
    return RunningSandbox(
        handle=handle,
        api=api,
        recorder=recorder,
        api_url=api_url,
        root_url=api_url[: -len(API_PREFIX)],
        app_key_path=key_path,
    )


def stop_running_sandbox(sb: RunningSandbox) -> None:
    sb.api.close()
    sb.handle.stop()
    sb.recorder.close()


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox per test module; tests isolate themselves with ``sb.new_repo()``. At the end every
    webhook it delivered must be signed and valid (an error at teardown names the bad payloads)."""
    running = start_running_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield running
        # Issue 3: every webhook payload the sandbox emits in the tests validates against GitHub's
        # published schemas — checked for the whole module's deliveries when it ends.
        running.wait_idle()
        running.recorder.assert_all_valid()
    finally:
        stop_running_sandbox(running)
