"""``/_sandbox/``: the few operations GitHub has no API for (contract, last section).

Unauthenticated on purpose: it is the test harness's control panel on a loopback-only server.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import serializers
from bot.sandbox.http import ApiError, json_body, no_content, not_found, respond, state, validation_failed
from bot.sandbox.state import ROLES, Chaos, Fault, Installation, iso
from bot.sandbox.webhooks import emitter

URL_PREFIX = "/_sandbox"
bp = Blueprint("sandbox_admin", __name__)

LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


# --------------------------------------------------------------------------- request log, faults, clock


@bp.get("/requests")
def requests_log() -> Response:
    try:
        since = int(request.args.get("since", 0))
    except ValueError:
        raise ApiError(422, "since must be an integer") from None
    st = state()
    with st.lock:
        rows = [
            {"seq": r.seq, "method": r.method, "path": r.path, "status": r.status, "actor": r.actor}
            for r in st.requests_since(since)
        ]
        last = st.request_seq
    return respond(rows, headers={"X-Sandbox-Last-Seq": str(last)})


@bp.post("/faults")
def add_fault() -> Response:
    """``{"method", "path" (regex), "status", "times", "after", "probability", "seed", "retry_after",
    "delay_ms", "rate_limit_exhausted", "message", "applied", "actor"}``: see ``state.Fault``."""
    body = json_body()
    path = body.get("path")
    if not isinstance(path, str) or not path:
        validation_failed("Fault", "path", "missing_field")
    try:
        re.compile(path)
    except re.error as err:
        validation_failed("Fault", "path", "invalid", f"not a regular expression: {err}")
    who = body.get("actor")
    if who is not None:
        if not isinstance(who, str):
            validation_failed("Fault", "actor", "invalid", "actor must be a regular expression")
        try:
            re.compile(who)
        except re.error as err:
            validation_failed("Fault", "actor", "invalid", f"not a regular expression: {err}")
    method = body.get("method")
    if method is not None and not isinstance(method, str):
        validation_failed("Fault", "method", "invalid", "method must be a string")
    times = _opt_int(body, "times")
    probability = body.get("probability", 1.0)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        validation_failed("Fault", "probability", "invalid", "probability must be a number in [0, 1]")
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        validation_failed("Fault", "message", "invalid", "message must be a string")
    fault = Fault(
        path=path,
        method=(method or None),
        status=_opt_int(body, "status"),
        times=1 if times is None else times,
        retry_after=_opt_int(body, "retry_after"),
        delay_ms=_opt_int(body, "delay_ms") or 0,
        rate_limit_exhausted=bool(body.get("rate_limit_exhausted", False)),
        after=_opt_int(body, "after") or 0,
        probability=float(probability),
        seed=_opt_int(body, "seed"),
        message=message,
        applied=bool(body.get("applied", False)),
        actor=who,
    )
    if fault.status is not None and not 100 <= fault.status <= 599:
        validation_failed("Fault", "status", "invalid", "status must be an HTTP status code")
    if fault.times == 0 or fault.after < 0 or fault.delay_ms < 0:
        validation_failed(
            "Fault",
            "times",
            "invalid",
            "times must be non-zero (negative: until cleared); after and delay_ms >= 0",
        )
    if fault.applied and (fault.status is None or fault.status < 500 or fault.rate_limit_exhausted):
        validation_failed("Fault", "applied", "invalid", "an applied fault answers a 5xx status")
    if fault.status is None and not fault.delay_ms and not fault.rate_limit_exhausted:
        validation_failed(
            "Fault", "status", "missing_field", "a fault needs a status, a delay_ms or rate_limit_exhausted"
        )
    if fault.seed is not None:
        fault.rng.seed(fault.seed)
    st = state()
    with st.lock:
        fault.id = st.next_id("fault")
        st.faults.append(fault)
    return respond(_fault_json(fault), status=201)


@bp.get("/faults")
def list_faults() -> Response:
    """The faults still armed and, with ``?all=1``, those used up (with how often each fired)."""
    st = state()
    show_all = request.args.get("all") in ("1", "true")
    with st.lock:
        rows = [_fault_json(f) for f in st.faults if show_all or not f.exhausted]
    return respond(rows)


@bp.delete("/faults")
def clear_faults() -> Response:
    st = state()
    with st.lock:
        st.faults.clear()
    return no_content()


def _fault_json(f: Fault) -> dict[str, Any]:
    return {
        "id": f.id,
        "method": f.method,
        "path": f.path,
        "status": f.status,
        "times": f.times,
        "after": f.after,
        "probability": f.probability,
        "seed": f.seed,
        "retry_after": f.retry_after,
        "delay_ms": f.delay_ms,
        "rate_limit_exhausted": f.rate_limit_exhausted,
        "message": f.message,
        "applied": f.applied,
        "actor": f.actor,
        "hits": f.hits,
    }


@bp.post("/tokens")
def token_settings() -> Response:
    """``{"ttl_seconds": N}``: installation tokens minted from now on expire after N seconds of the
    sandbox's clock (GitHub: an hour); ``{"expire": true}`` expires every outstanding installation
    token now, as if its hour had run out in the middle of a job."""
    body = json_body()
    ttl = body.get("ttl_seconds")
    st = state()
    with st.lock:
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 1:
                validation_failed("Tokens", "ttl_seconds", "invalid", "ttl_seconds must be a number >= 1")
            st.token_ttl = timedelta(seconds=ttl)
        expired = 0
        if body.get("expire"):
            now = st.now()
            for tok in st.tokens.values():
                if tok.kind == "installation" and (tok.expires_at is None or tok.expires_at > now):
                    tok.expires_at = now
                    expired += 1
        return respond({"ttl_seconds": st.token_ttl.total_seconds(), "expired": expired})


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        validation_failed("Fault", key, "invalid", f"{key} must be a number")
    return int(value)


@bp.post("/rate-limit")
def rate_limit_settings() -> Response:
    """``{"enforce": true, "limit": 100}``: refuse with 403 once an actor used its hourly budget."""
    body = json_body()
    limit = body.get("limit", 5000)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        validation_failed("RateLimit", "limit", "invalid", "limit must be a positive integer")
    st = state()
    with st.lock:
        st.rate_limit = limit
        st.rate_limit_enforced = bool(body.get("enforce", False))
        if body.get("reset"):
            st.rate_used.clear()
    return respond({"limit": st.rate_limit, "enforce": st.rate_limit_enforced})


@bp.post("/limits")
def secondary_limits_settings() -> Response:
    """``{"enforce": true}`` (and optionally ``writes_per_minute``, ``writes_per_hour``,
    ``points_per_minute``, ``concurrent``): GitHub's secondary limits per installation, answered 403
    with Retry-After."""
    body = json_body()
    values = {}
    defaults = (
        ("writes_per_minute", 80),
        ("writes_per_hour", 500),
        ("points_per_minute", 900),
        ("concurrent", 100),
    )
    for name, default in defaults:
        value = body.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            validation_failed("Limits", name, "invalid", f"{name} must be a positive integer")
        values[name] = value
    limits = state().secondary_limits
    limits.configure(
        bool(body.get("enforce", False)),
        values["writes_per_minute"],
        values["points_per_minute"],
        values["concurrent"],
        values["writes_per_hour"],
    )
    return respond({"enforce": limits.enforce, **values})


@bp.get("/limits")
def secondary_limits_status() -> Response:
    limits = state().secondary_limits
    return respond(
        {
            "enforce": limits.enforce,
            "writes_per_minute": limits.writes_per_minute,
            "writes_per_hour": limits.writes_per_hour,
            "points_per_minute": limits.points_per_minute,
            "concurrent": limits.concurrent,
            "refused": limits.refused,
        }
    )


@bp.post("/clock")
def clock() -> Response:
    body = json_body()
    seconds = body.get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        validation_failed("Clock", "advance_seconds", "invalid", "advance_seconds must be a number >= 0")
    st = state()
    st.advance_clock(seconds)
    return respond({"now": iso(st.now()), "offset_seconds": st.clock_offset.total_seconds()})


@bp.get("/clock")
def get_clock() -> Response:
    st = state()
    return respond({"now": iso(st.now()), "offset_seconds": st.clock_offset.total_seconds()})


# --------------------------------------------------------------------------- deliveries


@bp.post("/deliveries/chaos")
def chaos_on() -> Response:
    body = json_body()
    try:
        chaos = Chaos(
            shuffle=bool(body.get("shuffle", False)),
            duplicate=float(body.get("duplicate", 0)),
            drop=float(body.get("drop", 0)),
            delay_ms=int(body.get("delay_ms", 0)),
        )
    except (TypeError, ValueError):
        raise ApiError(422, "chaos settings must be numbers") from None
    if not (0 <= chaos.duplicate <= 1 and 0 <= chaos.drop <= 1 and chaos.delay_ms >= 0):
        raise ApiError(422, "duplicate and drop are probabilities in [0, 1]; delay_ms >= 0")
    st = state()
    seed = body.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ApiError(422, "seed must be an integer")
        emitter(st).reseed(seed)  # reproducible chaos for tests
    with st.lock:
        st.chaos = chaos
    return respond(vars(chaos))


@bp.delete("/deliveries/chaos")
def chaos_off() -> Response:
    st = state()
    with st.lock:
        st.chaos = Chaos()
    return no_content()


@bp.get("/deliveries")
def deliveries() -> Response:
    st = state()
    with st.lock:
        rows = [
            {
                "id": d.id,
                "guid": d.guid,
                "event": d.event,
                "action": d.action,
                "installation_id": d.installation_id,
                "repository_id": d.repository_id,
                "status": d.status,
                "status_code": d.status_code,
                "duration": round(d.duration, 4),
                "redelivery": d.redelivery,
                "delivered_at": iso(d.delivered_at),
                "done": d.done,
            }
            for d in st.deliveries
        ]
    if request.args.get("payloads") in ("1", "true"):
        with st.lock:
            by_id = {d.id: d.payload for d in st.deliveries}
        for row in rows:
            row["payload"] = by_id[row["id"]]
    return respond(rows)


@bp.post("/wait-idle")
def wait_idle() -> Response:
    try:
        timeout = float(request.args.get("timeout", 30))
    except ValueError:
        raise ApiError(422, "timeout must be a number") from None
    if not emitter(state()).wait_idle(timeout):
        raise ApiError(504, "webhook deliveries still pending after timeout")
    return respond({"idle": True})


# --------------------------------------------------------------------------- users and repositories


@bp.post("/users")
def add_user() -> Response:
    body = json_body()
    login = body.get("login")
    if not isinstance(login, str) or not LOGIN_RE.match(login):
        validation_failed("User", "login", "invalid")
    permission = body.get("permission")
    if permission is not None and permission not in ROLES:
        validation_failed("User", "permission", "invalid", f"permission must be one of {', '.join(ROLES)}")
    teams = body.get("teams") or []
    if not isinstance(teams, list) or not all(isinstance(t, str) for t in teams):
        validation_failed("User", "teams", "invalid")
    st = state()
    with st.lock:
        if st.account(login) is not None:
            validation_failed("User", "login", "already_exists")
        user = st.add_user(login)
        org = st.org("acme")
        if org is not None:
            org.members.add(login)
        repo = st.repo("acme", "rocket")
        if permission is not None and repo is not None:
            repo.permissions[login] = permission
        for team in teams:
            org_name, _, slug = team.rpartition("/")
            st.add_team(org_name or "acme", slug, [login])
    return respond({"login": user.login, "token": f"sandbox-token-{user.login}", "id": user.id}, status=201)


@bp.post("/repos")
def add_repo() -> Response:
    body = json_body()
    owner, name = body.get("owner"), body.get("name")
    if not isinstance(owner, str) or not LOGIN_RE.match(owner):
        validation_failed("Repository", "owner", "invalid")
    if not isinstance(name, str) or not NAME_RE.match(name):
        validation_failed("Repository", "name", "invalid")
    perms = body.get("permissions")
    if perms is not None and (not isinstance(perms, dict) or any(v not in ROLES for v in perms.values())):
        validation_failed("Repository", "permissions", "invalid")
    st = state()
    with st.lock:
        if st.repo(owner, name) is not None:
            validation_failed("Repository", "name", "already_exists", "name already exists on this account")
        for login in perms or {}:
            if st.user(login) is None:
                validation_failed("Repository", "permissions", "invalid", f"unknown user {login}")
        new_org = st.org(owner) is None
        if new_org:
            st.add_org(owner, owners=["admin"])
        repo = st.add_repo(owner, name, private=bool(body.get("private", False)), permissions=perms)
        inst = next(
            (
                i
                for i in st.installations.values()
                if i.app_id == 1 and i.account.lower() == owner.lower() and not i.deleted
            ),
            None,
        )
        if inst is None:
            now = st.now()
            inst = Installation(
                id=st.next_id("installation"),
                app_id=1,
                account=st.org(owner).login,
                created_at=now,
                updated_at=now,
            )
            st.installations[inst.id] = inst
            emitter(st).emit(
                "installation",
                "created",
                lambda: {
                    "installation": serializers.installation(st, inst),
                    "repositories": [_repo_lite(r) for r in st.installation_repos(inst)],
                    "requester": serializers.user(st, "admin"),
                },
                None,
                installation=inst,
                sender="admin",
            )
        elif inst.repository_selection == "selected":
            inst.repository_ids.add(repo.id)
        elif not new_org:
            # GitHub tells an "all repositories" installation about a new repository.
            emitter(st).emit(
                "installation_repositories",
                "added",
                lambda: {
                    "installation": serializers.installation(st, inst),
                    "repository_selection": inst.repository_selection,
                    "repositories_added": [_repo_lite(repo)],
                    "repositories_removed": [],
                    "requester": None,
                },
                None,
                installation=inst,
                sender="admin",
            )
        out = serializers.repository(st, repo)
    return respond(out, status=201)


def _repo_lite(repo: Any) -> dict[str, Any]:
    return {
        "id": repo.id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
    }


# --------------------------------------------------------------------------- installations


def _installation(inst_id: int) -> Installation:
    st = state()
    inst = st.installations.get(inst_id)
    if inst is None or inst.deleted:
        not_found()
    return inst


@bp.post("/installations")
def create_installation() -> Response:
    body = json_body()
    account = body.get("account")
    app_id = body.get("app_id", 1)
    st = state()
    with st.lock:
        if not isinstance(account, str) or st.account(account) is None:
            validation_failed("Installation", "account", "invalid", "unknown account")
        if app_id not in st.apps:
            validation_failed("Installation", "app_id", "invalid", "unknown app")
        if any(
            i.app_id == app_id and i.account.lower() == account.lower() and not i.deleted
            for i in st.installations.values()
        ):
            validation_failed("Installation", "account", "already_exists")
        now = st.now()
        acc = st.account(account)
        inst = Installation(
            id=st.next_id("installation"), app_id=app_id, account=acc.login, created_at=now, updated_at=now
        )
        selected = body.get("repositories")
        if isinstance(selected, list):
            inst.repository_selection = "selected"
            for full in selected:
                r = st.repo(*full.split("/", 1)) if "/" in str(full) else st.repo(acc.login, str(full))
                if r is not None:
                    inst.repository_ids.add(r.id)
        st.installations[inst.id] = inst
        emitter(st).emit(
            "installation",
            "created",
            lambda: {
                "installation": serializers.installation(st, inst),
                "repositories": [_repo_lite(r) for r in st.installation_repos(inst)],
                "requester": serializers.user(st, "admin"),
            },
            None,
            installation=inst,
            sender="admin",
        )
        out = serializers.installation(st, inst)
    return respond(out, status=201)


@bp.post("/installations/<int:inst_id>/repositories")
def change_installation_repos(inst_id: int) -> Response:
    body = json_body()
    st = state()
    with st.lock:
        inst = _installation(inst_id)
        add = _resolve_repos(inst, body.get("add") or [])
        remove = _resolve_repos(inst, body.get("remove") or [])
        before = {r.id for r in st.installation_repos(inst)}
        if inst.repository_selection == "all":
            inst.repository_selection = "selected"
            inst.repository_ids = set(before)
        inst.repository_ids |= {r.id for r in add}
        inst.repository_ids -= {r.id for r in remove}
        after = {r.id for r in st.installation_repos(inst)}
        added = [r for r in add if r.id in after and r.id not in before]
        removed = [r for r in remove if r.id in before and r.id not in after]
        inst.updated_at = st.now()
        if added or removed:
            emitter(st).emit(
                "installation_repositories",
                "added" if added else "removed",
                lambda: {
                    "installation": serializers.installation(st, inst),
                    "repository_selection": inst.repository_selection,
                    "repositories_added": [_repo_lite(r) for r in added],
                    "repositories_removed": [_repo_lite(r) for r in removed],
                    "requester": None,
                },
                None,
                installation=inst,
                sender="admin",
            )
        out = {"repositories": [r.full_name for r in st.installation_repos(inst)]}
    return respond(out)


def _resolve_repos(inst: Installation, names: list[Any]) -> list[Any]:
    st = state()
    out = []
    for full in names:
        if not isinstance(full, str):
            validation_failed("Installation", "repositories", "invalid")
        owner, _, name = full.rpartition("/")
        repo = st.repo(owner or inst.account, name)
        if repo is None or repo.owner.lower() != inst.account.lower():
            validation_failed("Installation", "repositories", "invalid", f"unknown repository {full}")
        out.append(repo)
    return out


@bp.post("/installations/<int:inst_id>/suspend")
def suspend_installation(inst_id: int) -> Response:
    st = state()
    with st.lock:
        inst = _installation(inst_id)
        if inst.suspended_at is None:
            inst.suspended_at = st.now()
            inst.suspended_by = "admin"
            emitter(st).emit(
                "installation",
                "suspend",
                lambda: {
                    "installation": serializers.installation(st, inst),
                    "repositories": [_repo_lite(r) for r in st.installation_repos(inst)],
                    "requester": None,
                },
                None,
                installation=inst,
                sender="admin",
            )
        out = serializers.installation(st, inst)
    return respond(out)


@bp.post("/installations/<int:inst_id>/unsuspend")
def unsuspend_installation(inst_id: int) -> Response:
    st = state()
    with st.lock:
        inst = _installation(inst_id)
        if inst.suspended_at is not None:
            inst.suspended_at = None
            inst.suspended_by = None
            emitter(st).emit(
                "installation",
                "unsuspend",
                lambda: {
                    "installation": serializers.installation(st, inst),
                    "repositories": [_repo_lite(r) for r in st.installation_repos(inst)],
                    "requester": None,
                },
                None,
                installation=inst,
                sender="admin",
            )
        out = serializers.installation(st, inst)
    return respond(out)


@bp.delete("/installations/<int:inst_id>")
def delete_installation(inst_id: int) -> Response:
    st = state()
    with st.lock:
        inst = _installation(inst_id)
        # The webhook goes out before the installation disappears (GitHub sends it on uninstall).
        was_suspended = inst.suspended_at
        inst.suspended_at = None
        emitter(st).emit(
            "installation",
            "deleted",
            lambda: {
                "installation": serializers.installation(st, inst),
                "repositories": [_repo_lite(r) for r in st.installation_repos(inst)],
                "requester": None,
            },
            None,
            installation=inst,
            sender="admin",
        )
        inst.suspended_at = was_suspended
        inst.deleted = True
        for tok in [t for t in st.tokens.values() if t.installation_id == inst.id]:
            del st.tokens[tok.token]
    return no_content()


# --------------------------------------------------------------------------- pushes and pull requests


@bp.post("/repos/<owner>/<name>/push")
def push_refs(owner: str, name: str) -> Response:
    """Several ref changes in one push (``{"pusher", "refs": {"refs/tags/v1": sha | null}}``), as
    ``git push`` can do and the REST API cannot: GitHub's >3-tags rule applies to these."""
    from bot.sandbox.pushes import RefChange, push

    body = json_body()
    refs = body.get("refs")
    pusher = body.get("pusher") or "admin"
    if not isinstance(refs, dict) or not refs:
        validation_failed("Push", "refs", "missing_field")
    st = state()
    with st.lock:
        repo = st.repo(owner, name)
        if repo is None:
            not_found()
        if st.user(pusher) is None:
            validation_failed("Push", "pusher", "invalid", f"unknown user {pusher}")
        changes = []
        for ref, sha in refs.items():
            if not isinstance(ref, str) or not ref.startswith(("refs/heads/", "refs/tags/")):
                validation_failed("Push", "refs", "invalid", f"not a branch or tag ref: {ref}")
            if sha is not None and sha not in repo.commits and sha not in repo.tags:
                validation_failed("Push", "refs", "invalid", f"unknown object {sha}")
            before = repo.refs.get(ref)
            if before is None and sha is None:
                continue
            changes.append(RefChange(ref, before, sha))
        push(st, repo, changes, st.user(pusher).login)
        out = {ch.ref: ch.after for ch in changes}
    return respond(out)


@bp.delete("/repos/<owner>/<name>/pulls/<int:number>")
def vanish_pull(owner: str, name: str, number: int) -> Response:
    """A pull request disappears (404 from then on), for fault tests."""
    st = state()
    with st.lock:
        repo = st.repo(owner, name)
        it = repo.issues.get(number) if repo else None
        if it is None or it.pull is None or it.deleted:
            not_found()
        it.deleted = True
    return no_content()


@bp.post("/merge-queue")
def merge_queue_add() -> Response:
    """``{"repo": "acme/rocket", "pull_numbers": [n, ...], "by": "admin"}`` → a merge group."""
    from bot.sandbox import merge_queue

    body = json_body()
    full, numbers = body.get("repo"), body.get("pull_numbers")
    if not isinstance(full, str) or "/" not in full:
        validation_failed("MergeGroup", "repo", "invalid")
    if not isinstance(numbers, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in numbers
    ):
        validation_failed("MergeGroup", "pull_numbers", "invalid")
    st = state()
    with st.lock:
        repo = st.repo(*full.split("/", 1))
        if repo is None:
            not_found()
        by = body.get("by") or "admin"
        if st.user(by) is None:
            validation_failed("MergeGroup", "by", "invalid", f"unknown user {by}")
        group = merge_queue.enqueue(st, repo, numbers, st.user(by).login)
        out = {k: group[k] for k in ("id", "head_sha", "head_ref", "base_sha", "pull_numbers", "status")}
        out["base_ref"] = f"refs/heads/{group['base']}"
    return respond(out, status=201)


@bp.get("/merge-queue")
def merge_queue_list() -> Response:
    st = state()
    with st.lock:
        rows = [
            {k: g[k] for k in ("id", "head_sha", "head_ref", "base_sha", "pull_numbers", "status")}
            | {"repository_id": g["repo_id"], "base_ref": f"refs/heads/{g['base']}"}
            for g in st.merge_groups
        ]
    return respond(rows)
