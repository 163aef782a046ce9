"""Environments and their custom deployment protection rules, and the rules' callback.

``PUT/GET/DELETE /repos/{o}/{r}/environments/{name}``, ``GET /repos/{o}/{r}/environments``;
``GET/POST …/environments/{name}/deployment_protection_rules``, ``GET …/apps`` (the Apps that may be
enabled: installed on the repository and subscribed to ``deployment_protection_rule``),
``GET/DELETE …/deployment_protection_rules/{id}``; ``POST /repos/{o}/{r}/actions/runs/{run_id}/
deployment_protection_rule`` (an App reviews its own rule: ``bot.sandbox.deploy_runs.review``).
Changing environments and rules takes admin rights (the App: ``administration: write``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from bot.sandbox import deploy_runs
from bot.sandbox.http import (
    ApiError,
    actor,
    api_url,
    found,
    get_repo,
    html_url,
    json_value,
    no_content,
    paginate,
    read_in_repo,
    respond,
    state,
)
from bot.sandbox.state import App, Environment, ProtectionRule, Repo, SandboxState, iso

bp = Blueprint("sandbox_environments", __name__)

RULE_EVENT = "deployment_protection_rule"
MAX_WAIT_TIMER = 43_200  # minutes (30 days), GitHub's limit
MAX_NAME = 255


def environment_json(repo: Repo, env: Environment) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    if env.wait_timer:
        rules.append(
            {
                "id": env.id * 10 + 1,
                "node_id": f"GA_{env.id}_wait",
                "type": "wait_timer",
                "wait_timer": env.wait_timer,
            }
        )
    if env.deployment_branch_policy is not None:
        rules.append({"id": env.id * 10 + 2, "node_id": f"GA_{env.id}_branch", "type": "branch_policy"})
    return {
        "id": env.id,
        "node_id": env.node_id,
        "name": env.name,
        "url": api_url(f"/repos/{repo.full_name}/environments/{env.name}"),
        "html_url": html_url(f"/{repo.full_name}/deployments/activity_log?environments_filter={env.name}"),
        "created_at": iso(env.created_at),
        "updated_at": iso(env.updated_at),
        "protection_rules": rules,
        "deployment_branch_policy": dict(env.deployment_branch_policy)
        if env.deployment_branch_policy is not None
        else None,
    }


def rule_app_json(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "slug": app.slug,
        "integration_url": api_url(f"/apps/{app.slug}"),
        "node_id": app.node_id,
    }


def rule_json(st: SandboxState, rule: ProtectionRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "node_id": rule.node_id,
        "enabled": rule.enabled,
        "app": rule_app_json(st.apps[rule.app_id]),
    }


def _invalid(field: str, message: str | None = None, resource: str = "Environment") -> ApiError:
    error: dict[str, Any] = {"resource": resource, "field": field, "code": "invalid"}
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


def _environment(repo: Repo, name: str) -> Environment:
    return found(repo.environments.get(name.lower()))


@bp.get("/repos/<owner>/<name>/environments")
def list_environments(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, app_permission="actions")
        rows = [
            environment_json(repo, e)
            for e in sorted(repo.environments.values(), key=lambda e: e.name.lower())
        ]
    return paginate(rows, wrap="environments")


@bp.get("/repos/<owner>/<name>/environments/<env_name>")
def get_environment(owner: str, name: str, env_name: str) -> Response:
    return read_in_repo(owner, name, lambda st, repo: environment_json(repo, _environment(repo, env_name)))


def _settings(body: Any) -> dict[str, Any]:
    """The body of ``PUT …/environments/{name}`` checked as GitHub checks it (null: no settings)."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    allowed = {"wait_timer", "prevent_self_review", "reviewers", "deployment_branch_policy"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _invalid(unknown[0], f"{unknown[0]} is not a permitted key")
    out: dict[str, Any] = {}
    if "wait_timer" in body:
        timer = body["wait_timer"]
        if not isinstance(timer, int) or isinstance(timer, bool) or not 0 <= timer <= MAX_WAIT_TIMER:
            raise _invalid("wait_timer", f"wait_timer must be an integer between 0 and {MAX_WAIT_TIMER}")
        out["wait_timer"] = timer
    if "prevent_self_review" in body:
        if not isinstance(body["prevent_self_review"], bool):
            raise _invalid("prevent_self_review")
        out["prevent_self_review"] = body["prevent_self_review"]
    if body.get("reviewers"):
        # Required reviewers are a built-in rule the sandbox does not play; refused, not ignored.
        raise _invalid("reviewers", "required reviewers are not simulated by the sandbox")
    if "deployment_branch_policy" in body:
        policy = body["deployment_branch_policy"]
        if policy is not None:
            if not isinstance(policy, dict) or not all(
                isinstance(policy.get(k), bool) for k in ("protected_branches", "custom_branch_policies")
            ):
                raise _invalid("deployment_branch_policy")
            if policy["protected_branches"] == policy["custom_branch_policies"]:
                raise ApiError(
                    422,
                    "Only one of protected_branches and custom_branch_policies can be set to true",
                )
            policy = {k: policy[k] for k in ("protected_branches", "custom_branch_policies")}
        out["deployment_branch_policy"] = policy
    return out


@bp.put("/repos/<owner>/<name>/environments/<env_name>")
def put_environment(owner: str, name: str, env_name: str) -> Response:
    if not env_name.strip() or len(env_name) > MAX_NAME or any(c in env_name for c in "/,'\""):
        raise _invalid("name", f"Environment name {env_name!r} is invalid")
    settings = _settings(json_value())
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "admin", app_permission="administration")
        env = deploy_runs.ensure_environment(st, repo, env_name)
        for key, value in settings.items():
            setattr(env, key, value)
        env.updated_at = st.now()
        out = environment_json(repo, env)
    return respond(out)


@bp.delete("/repos/<owner>/<name>/environments/<env_name>")
def delete_environment(owner: str, name: str, env_name: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "admin", app_permission="administration")
        _environment(repo, env_name)
        del repo.environments[env_name.lower()]
    return no_content()


# --------------------------------------------------------------------------- custom protection rules


@bp.get("/repos/<owner>/<name>/environments/<env_name>/deployment_protection_rules")
def list_rules(owner: str, name: str, env_name: str) -> Response:
    def build(st: SandboxState, repo: Repo) -> dict[str, Any]:
        env = _environment(repo, env_name)
        rules = [
            rule_json(st, r) for r in sorted(env.rules.values(), key=lambda r: r.id) if r.app_id in st.apps
        ]
        return {"total_count": len(rules), "custom_deployment_protection_rules": rules}

    return read_in_repo(owner, name, build)


def _available(st: SandboxState, repo: Repo) -> list[App]:
    """Apps that can be a rule here: installed on the repository, subscribed to the event."""
    return [
        app
        for app_id, app in sorted(st.apps.items())
        if RULE_EVENT in app.events and st.app_installation_for(app_id, repo) is not None
    ]


@bp.get("/repos/<owner>/<name>/environments/<env_name>/deployment_protection_rules/apps")
def list_rule_apps(owner: str, name: str, env_name: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "admin", app_permission="administration")
        _environment(repo, env_name)
        rows = [rule_app_json(app) for app in _available(st, repo)]
    return paginate(rows, wrap="available_custom_deployment_protection_rule_integrations")


@bp.post("/repos/<owner>/<name>/environments/<env_name>/deployment_protection_rules")
def create_rule(owner: str, name: str, env_name: str) -> Response:
    body = json_value()
    integration = body.get("integration_id") if isinstance(body, dict) else None
    if not isinstance(integration, int) or isinstance(integration, bool):
        raise _invalid("integration_id", "integration_id must be an integer", "DeploymentProtectionRule")
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "admin", app_permission="administration")
        env = _environment(repo, env_name)
        if integration not in {app.id for app in _available(st, repo)}:
            raise _invalid(
                "integration_id",
                f"integration {integration} is not installed on this repository or is not a deployment "
                "protection rule app",
                "DeploymentProtectionRule",
            )
        if any(r.app_id == integration for r in env.rules.values()):
            raise ApiError(
                422, "This app is already enabled as a deployment protection rule on this environment"
            )
        rule = ProtectionRule(id=st.next_id("protection_rule"), app_id=integration)
        env.rules[rule.id] = rule
        env.updated_at = st.now()
        out = rule_json(st, rule)
    return respond(out, status=201)


@bp.get("/repos/<owner>/<name>/environments/<env_name>/deployment_protection_rules/<int:rule_id>")
def get_rule(owner: str, name: str, env_name: str, rule_id: int) -> Response:
    def build(st: SandboxState, repo: Repo) -> dict[str, Any]:
        rule = found(_environment(repo, env_name).rules.get(rule_id))
        return rule_json(st, rule)

    return read_in_repo(owner, name, build)


@bp.delete("/repos/<owner>/<name>/environments/<env_name>/deployment_protection_rules/<int:rule_id>")
def delete_rule(owner: str, name: str, env_name: str, rule_id: int) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "admin", app_permission="administration")
        env = _environment(repo, env_name)
        found(env.rules.get(rule_id))
        del env.rules[rule_id]
    return no_content()


# --------------------------------------------------------------------------- the callback


@bp.post("/repos/<owner>/<name>/actions/runs/<int:run_id>/deployment_protection_rule")
def review_rule(owner: str, name: str, run_id: int) -> Response:
    body = json_value()
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    environment, review_state, comment = body.get("environment_name"), body.get("state"), body.get("comment")
    if not isinstance(environment, str) or not environment:
        raise _invalid("environment_name", "environment_name is required", "DeploymentProtectionRule")
    if review_state is not None and review_state not in ("approved", "rejected"):
        raise _invalid("state", "state must be approved or rejected", "DeploymentProtectionRule")
    if comment is not None and not isinstance(comment, str):
        raise _invalid("comment", "comment must be a string", "DeploymentProtectionRule")
    if review_state is None and not comment:
        raise _invalid("comment", "comment is required when state is not given", "DeploymentProtectionRule")
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="deployments")
        who = actor()
        if who.kind != "installation" or who.app_id is None:
            # Only an App reviews a custom rule, its own (people review pending deployments elsewhere).
            raise ApiError(403, "Resource not accessible by personal access token")
        run = found(repo.deploy_runs.get(run_id))
        deploy_runs.review(st, repo, run, who.app_id, environment, review_state, comment or "")
    return no_content()
