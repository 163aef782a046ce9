"""Branch protection (``PUT/GET/DELETE …/branches/{branch}/protection``) and repository rulesets
(``POST/GET/PUT/DELETE …/rulesets``, ``GET …/rules/branches/{branch}``). What they demand of a merge
is evaluated by ``bot.sandbox.rules``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from bot.sandbox import rules as rules_mod
from bot.sandbox.http import (
    ApiError,
    api_url,
    found,
    get_repo,
    html_url,
    json_body,
    no_content,
    paginate,
    quote_ref,
    read_in_repo,
    respond,
    state,
)
from bot.sandbox.state import Repo, Ruleset, iso

bp = Blueprint("sandbox_protection", __name__)

REQUIRED_KEYS = ("required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions")


# --------------------------------------------------------------------------- branch protection


def _missing(key: str) -> ApiError:
    return ApiError(
        422,
        f'Invalid request.\n\nNo subschema in "anyOf" matched.\n"{key}" wasn\'t supplied.',
        documentation_url="https://docs.github.com/rest/branches/branch-protection#update-branch-protection",
    )


def _normalize(body: dict[str, Any]) -> dict[str, Any]:
    for key in REQUIRED_KEYS:
        if key not in body:
            raise _missing(key)
    out: dict[str, Any] = {}
    rsc = body["required_status_checks"]
    if rsc is not None:
        if not isinstance(rsc, dict) or not isinstance(rsc.get("strict"), bool):
            raise ApiError(422, 'Invalid request.\n\n"strict" wasn\'t supplied.')
        checks = rsc.get("checks")
        contexts = rsc.get("contexts")
        if checks is None and contexts is None:
            raise ApiError(422, 'Invalid request.\n\n"contexts" wasn\'t supplied.')
        norm_checks = []
        for chk in checks or []:
            if not isinstance(chk, dict) or not isinstance(chk.get("context"), str):
                raise ApiError(422, 'Invalid request.\n\n"context" wasn\'t supplied.')
            app_id = chk.get("app_id")
            if app_id is not None and (isinstance(app_id, bool) or not isinstance(app_id, int)):
                raise ApiError(422, "Invalid request.\n\nFor 'properties/app_id', is not an integer.")
            norm_checks.append({"context": chk["context"], "app_id": app_id if app_id is not None else None})
        for ctx in contexts or []:
            if not isinstance(ctx, str):
                raise ApiError(422, "Invalid request.\n\nFor 'items', is not a string.")
            if not any(c["context"] == ctx for c in norm_checks):
                norm_checks.append({"context": ctx, "app_id": None})
        out["required_status_checks"] = {
            "strict": rsc["strict"],
            "checks": norm_checks,
            "contexts": [c["context"] for c in norm_checks],
        }
    else:
        out["required_status_checks"] = None
    ea = body["enforce_admins"]
    if ea is not None and not isinstance(ea, bool):
        raise ApiError(422, "Invalid request.\n\nFor 'properties/enforce_admins', is not a boolean.")
    out["enforce_admins"] = {"enabled": bool(ea)}
    reviews = body["required_pull_request_reviews"]
    if reviews is not None:
        if not isinstance(reviews, dict):
            raise ApiError(
                422, "Invalid request.\n\nFor 'properties/required_pull_request_reviews', is not an object."
            )
        count = reviews.get("required_approving_review_count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 6:
            raise ApiError(
                422, "Invalid request.\n\nrequired_approving_review_count must be between 0 and 6."
            )
        out["required_pull_request_reviews"] = {
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews", False)),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews", False)),
            "required_approving_review_count": count,
            "require_last_push_approval": bool(reviews.get("require_last_push_approval", False)),
        }
    else:
        out["required_pull_request_reviews"] = None
    restr = body["restrictions"]
    if restr is not None:
        if not isinstance(restr, dict):
            raise ApiError(422, "Invalid request.\n\nFor 'properties/restrictions', is not an object.")
        out["restrictions"] = {
            "users": list(restr.get("users") or []),
            "teams": list(restr.get("teams") or []),
            "apps": list(restr.get("apps") or []),
        }
    else:
        out["restrictions"] = None
    for flag in (
        "required_linear_history",
        "allow_force_pushes",
        "allow_deletions",
        "block_creations",
        "required_conversation_resolution",
        "lock_branch",
        "allow_fork_syncing",
    ):
        out[flag] = {"enabled": bool(body.get(flag) or False)}
    return out


def protection_json(repo: Repo, branch: str, prot: dict[str, Any]) -> dict[str, Any]:
    from bot.sandbox import serializers
    from bot.sandbox.http import state as _state

    st = _state()
    url = api_url(f"/repos/{repo.full_name}/branches/{quote_ref(branch)}/protection")
    out: dict[str, Any] = {"url": url}
    rsc = prot.get("required_status_checks")
    if rsc is not None:
        out["required_status_checks"] = {
            "url": f"{url}/required_status_checks",
            "strict": rsc["strict"],
            "contexts": list(rsc["contexts"]),
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": c["context"], "app_id": c["app_id"]} for c in rsc["checks"]],
        }
    out["enforce_admins"] = {"url": f"{url}/enforce_admins", "enabled": prot["enforce_admins"]["enabled"]}
    reviews = prot.get("required_pull_request_reviews")
    if reviews is not None:
        out["required_pull_request_reviews"] = {"url": f"{url}/required_pull_request_reviews", **reviews}
    restr = prot.get("restrictions")
    if restr is not None:
        out["restrictions"] = {
            "url": f"{url}/restrictions",
            "users_url": f"{url}/restrictions/users",
            "teams_url": f"{url}/restrictions/teams",
            "apps_url": f"{url}/restrictions/apps",
            "users": [serializers.user(st, u) for u in restr["users"] if st.user(u)],
            "teams": [],
            "apps": [],
        }
    for flag in (
        "required_linear_history",
        "allow_force_pushes",
        "allow_deletions",
        "block_creations",
        "required_conversation_resolution",
        "lock_branch",
        "allow_fork_syncing",
    ):
        out[flag] = dict(prot[flag])
    out["required_signatures"] = {"url": f"{url}/required_signatures", "enabled": False}
    return out


def _admin_repo(owner: str, name: str) -> Repo:
    return get_repo(owner, name, "admin", app_permission="administration")


@bp.put("/repos/<owner>/<name>/branches/<path:branch>/protection")
def put_protection(owner: str, name: str, branch: str) -> Response:
    body = json_body()
    st = state()
    with st.lock:
        repo = _admin_repo(owner, name)
        if repo.branch_sha(branch) is None:
            raise ApiError(404, "Branch not found")
        prot = _normalize(body)
        repo.protection[branch] = prot
        out = protection_json(repo, branch, prot)
    return respond(out)


@bp.get("/repos/<owner>/<name>/branches/<path:branch>/protection")
def get_protection(owner: str, name: str, branch: str) -> Response:
    st = state()
    with st.lock:
        repo = _admin_repo(owner, name)
        if repo.branch_sha(branch) is None:
            raise ApiError(404, "Branch not found")
        prot = repo.protection.get(branch)
        if prot is None:
            raise ApiError(404, "Branch not protected")
        return respond(protection_json(repo, branch, prot))


@bp.delete("/repos/<owner>/<name>/branches/<path:branch>/protection")
def delete_protection(owner: str, name: str, branch: str) -> Response:
    st = state()
    with st.lock:
        repo = _admin_repo(owner, name)
        if repo.protection.pop(branch, None) is None:
            raise ApiError(404, "Branch not protected")
    return no_content()


@bp.get("/repos/<owner>/<name>/branches/<path:branch>/protection/required_status_checks")
def get_required_checks(owner: str, name: str, branch: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        prot = repo.protection.get(branch)
        if prot is None or prot.get("required_status_checks") is None:
            raise ApiError(404, "Required status checks not enabled")
        return respond(protection_json(repo, branch, prot)["required_status_checks"])


# --------------------------------------------------------------------------- rulesets


def _validate_ruleset(body: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    if not partial and (not isinstance(body.get("name"), str) or not body["name"]):
        raise ApiError(422, 'Invalid request.\n\n"name" wasn\'t supplied.')
    if not partial and body.get("enforcement") not in ("active", "disabled", "evaluate"):
        raise ApiError(422, 'Invalid request.\n\n"enforcement" wasn\'t supplied.')
    if "enforcement" in body and body["enforcement"] not in ("active", "disabled", "evaluate"):
        raise ApiError(422, "Invalid request.\n\nenforcement must be active, disabled or evaluate.")
    if body.get("target", "branch") not in ("branch", "tag", "push"):
        raise ApiError(422, "Invalid request.\n\ntarget must be branch, tag or push.")
    for rule in body.get("rules") or []:
        if not isinstance(rule, dict) or not isinstance(rule.get("type"), str):
            raise ApiError(422, 'Invalid request.\n\nEvery rule needs a "type".')
        if rule["type"] == "required_status_checks":
            params = rule.get("parameters") or {}
            checks = params.get("required_status_checks")
            if not isinstance(checks, list) or not all(
                isinstance(c, dict) and isinstance(c.get("context"), str) for c in checks
            ):
                raise ApiError(422, 'Invalid request.\n\n"required_status_checks" wasn\'t supplied.')
    cond = body.get("conditions")
    if cond is not None and not isinstance(cond, dict):
        raise ApiError(422, "Invalid request.\n\nconditions must be an object.")
    return body


def ruleset_json(repo: Repo, rs: Ruleset) -> dict[str, Any]:
    url = api_url(f"/repos/{repo.full_name}/rulesets/{rs.id}")
    return {
        "id": rs.id,
        "name": rs.name,
        "target": rs.target,
        "source_type": "Repository",
        "source": repo.full_name,
        "enforcement": rs.enforcement,
        "bypass_actors": [dict(b, bypass_mode=b.get("bypass_mode", "always")) for b in rs.bypass_actors],
        "current_user_can_bypass": "never",
        "node_id": rs.node_id,
        "_links": {"self": {"href": url}, "html": {"href": html_url(f"/{repo.full_name}/rules/{rs.id}")}},
        "conditions": rs.conditions,
        "rules": rs.rules,
        "created_at": iso(rs.created_at),
        "updated_at": iso(rs.updated_at),
    }


@bp.post("/repos/<owner>/<name>/rulesets")
def create_ruleset(owner: str, name: str) -> Response:
    body = _validate_ruleset(json_body())
    st = state()
    with st.lock:
        repo = _admin_repo(owner, name)
        if any(r.name == body["name"] for r in repo.rulesets.values()):
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "Ruleset", "field": "name", "code": "already_exists"}],
            )
        now = st.now()
        rs = Ruleset(
            id=st.next_id("ruleset"),
            name=body["name"],
            target=body.get("target", "branch"),
            enforcement=body["enforcement"],
            conditions=body.get("conditions") or {},
            rules=list(body.get("rules") or []),
            bypass_actors=list(body.get("bypass_actors") or []),
            created_at=now,
            updated_at=now,
        )
        repo.rulesets[rs.id] = rs
        out = ruleset_json(repo, rs)
    return respond(out, status=201)


@bp.get("/repos/<owner>/<name>/rulesets")
def list_rulesets(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        rows = []
        for rs in sorted(repo.rulesets.values(), key=lambda r: r.id):
            full = ruleset_json(repo, rs)
            rows.append(
                {
                    k: full[k]
                    for k in (
                        "id",
                        "name",
                        "target",
                        "source_type",
                        "source",
                        "enforcement",
                        "node_id",
                        "_links",
                        "created_at",
                        "updated_at",
                    )
                }
            )
    return paginate(rows)


def _ruleset(repo: Repo, ruleset_id: int) -> Ruleset:
    return found(repo.rulesets.get(ruleset_id))


@bp.get("/repos/<owner>/<name>/rulesets/<int:ruleset_id>")
def get_ruleset(owner: str, name: str, ruleset_id: int) -> Response:
    return read_in_repo(owner, name, lambda st, repo: ruleset_json(repo, _ruleset(repo, ruleset_id)))


@bp.put("/repos/<owner>/<name>/rulesets/<int:ruleset_id>")
def update_ruleset(owner: str, name: str, ruleset_id: int) -> Response:
    body = _validate_ruleset(json_body(), partial=True)
    st = state()
    with st.lock:
        repo = _admin_repo(owner, name)
        rs = _ruleset(repo, ruleset_id)
        for key in ("name", "target", "enforcement", "conditions", "rules", "bypass_actors"):
            if key in body:
                setattr(rs, key, body[key])
        rs.updated_at = st.now()
        out = ruleset_json(repo, rs)
    return respond(out)


@bp.delete("/repos/<owner>/<name>/rulesets/<int:ruleset_id>")
def delete_ruleset(owner: str, name: str, ruleset_id: int) -> Response:
    st = state()
    with st.lock:
        repo = _admin_repo(owner, name)
        _ruleset(repo, ruleset_id)
        del repo.rulesets[ruleset_id]
    return no_content()


@bp.get("/repos/<owner>/<name>/rules/branches/<path:branch>")
def rules_for_branch(owner: str, name: str, branch: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        rows = []
        for rs in sorted(repo.rulesets.values(), key=lambda r: r.id):
            if rules_mod.ruleset_applies(rs, repo, branch):
                for rule in rs.rules:
                    rows.append(
                        {
                            **rule,
                            "ruleset_source_type": "Repository",
                            "ruleset_source": repo.full_name,
                            "ruleset_id": rs.id,
                        }
                    )
    return paginate(rows)
