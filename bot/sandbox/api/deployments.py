"""Deployments and deployment statuses → ``deployment`` ``created``, ``deployment_status`` ``created``.

``required_contexts`` is honoured as on GitHub (by default every commit-status context of the ref
must be ``success``; 409 otherwise). ``auto_merge`` (merging the default branch into the ref first)
is not simulated: the sandbox deploys the ref as it is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import serializers
from bot.sandbox import serializers_issues as shapes
from bot.sandbox.api.git import resolve
from bot.sandbox.http import (
    ApiError,
    actor_login,
    api_url,
    found,
    get_repo,
    json_body,
    list_in_repo,
    no_content,
    paginate,
    read_in_repo,
    respond,
    state,
)
from bot.sandbox.state import Deployment, DeploymentStatus, Repo, SandboxState, iso
from bot.sandbox.webhooks import emit

bp = Blueprint("sandbox_deployments", __name__)

STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")


def deployment_json(st: SandboxState, repo: Repo, d: Deployment, *, webhook: bool = False) -> dict[str, Any]:
    url = api_url(f"/repos/{repo.full_name}/deployments/{d.id}")
    return {
        "url": url,
        "id": d.id,
        "node_id": d.node_id,
        "sha": d.sha,
        "ref": d.ref,
        "task": d.task,
        "payload": d.payload,
        "original_environment": d.original_environment or d.environment,
        "environment": d.environment,
        "description": d.description,
        "creator": serializers.user(st, d.creator),
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
        "statuses_url": f"{url}/statuses",
        "repository_url": api_url(f"/repos/{repo.full_name}"),
        "transient_environment": d.transient_environment,
        "production_environment": d.production_environment,
        "performed_via_github_app": shapes.performed_via_app(st, d.creator, webhook=webhook),
    }


def status_json(
    st: SandboxState, repo: Repo, d: Deployment, s: DeploymentStatus, *, webhook: bool = False
) -> dict[str, Any]:
    durl = api_url(f"/repos/{repo.full_name}/deployments/{d.id}")
    out = {
        "url": f"{durl}/statuses/{s.id}",
        "id": s.id,
        "node_id": s.node_id,
        "state": s.state,
        "creator": serializers.user(st, s.creator),
        "description": s.description,
        "environment": s.environment,
        "target_url": s.target_url,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "deployment_url": durl,
        "repository_url": api_url(f"/repos/{repo.full_name}"),
        "environment_url": s.environment_url,
        "log_url": s.log_url,
        "performed_via_github_app": shapes.performed_via_app(st, s.creator, webhook=webhook),
    }
    if webhook and not s.log_url:
        del out["log_url"]  # the webhook schema wants a URI when present; GitHub leaves it out
    return out


def _validation(field: str, code: str = "invalid") -> ApiError:
    return ApiError(
        422, "Validation Failed", errors=[{"resource": "Deployment", "field": field, "code": code}]
    )


@bp.post("/repos/<owner>/<name>/deployments")
def create_deployment(owner: str, name: str) -> Response:
    body = json_body()
    ref = body.get("ref")
    if not isinstance(ref, str) or not ref:
        raise _validation("ref", "missing_field")
    payload = body.get("payload", {})
    if isinstance(payload, str):
        try:
            payload = json.loads(payload) if payload else {}
        except ValueError:
            raise _validation("payload") from None
    if not isinstance(payload, dict | str):
        raise _validation("payload")
    environment = body.get("environment") or "production"
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="deployments")
        sha = resolve(repo, ref)
        if sha is None:
            raise ApiError(422, f"No ref found for: {ref}")
        required = body.get("required_contexts")
        latest: dict[str, str] = {}
        for s in sorted(repo.statuses, key=lambda s: s.id):
            if s.sha == sha:
                latest[s.context] = s.state
        for run in sorted(repo.check_runs.values(), key=lambda r: r.id):
            if run.head_sha == sha:
                latest[run.name] = (
                    "success"
                    if run.conclusion in ("success", "neutral", "skipped")
                    else ("pending" if run.status != "completed" else "failure")
                )
        contexts = list(latest) if required is None else list(required)
        failing = [c for c in contexts if latest.get(c) != "success"]
        if failing:
            raise ApiError(
                409,
                f"Conflict: Commit status checks failed for {ref}.",
                errors=[
                    {
                        "contexts": [{"context": c, "state": latest.get(c, "missing")} for c in failing],
                        "resource": "Deployment",
                        "field": "required_contexts",
                        "code": "invalid",
                    }
                ],
            )
        now = st.now()
        d = Deployment(
            id=st.next_id("deployment"),
            sha=sha,
            ref=ref,
            task=body.get("task") or "deploy",
            environment=environment,
            creator=actor_login(),
            created_at=now,
            updated_at=now,
            payload=payload,
            description=body.get("description"),
            original_environment=environment,
            transient_environment=bool(body.get("transient_environment", False)),
            production_environment=bool(body.get("production_environment", environment == "production")),
        )
        repo.deployments[d.id] = d
        emit(
            "deployment",
            "created",
            lambda: {
                "deployment": deployment_json(st, repo, d, webhook=True),
                "workflow": None,
                "workflow_run": None,
            },
            repo,
        )
        out = deployment_json(st, repo, d)
    return respond(out, status=201)


@bp.get("/repos/<owner>/<name>/deployments")
def list_deployments(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        rows = []
        for d in sorted(repo.deployments.values(), key=lambda d: d.id, reverse=True):
            if any(
                request.args.get(k) and request.args.get(k) != getattr(d, k)
                for k in ("sha", "ref", "task", "environment")
            ):
                continue
            rows.append(deployment_json(st, repo, d))
    return paginate(rows)


def _deployment(repo: Repo, deployment_id: int) -> Deployment:
    return found(repo.deployments.get(deployment_id))


@bp.get("/repos/<owner>/<name>/deployments/<int:deployment_id>")
def get_deployment(owner: str, name: str, deployment_id: int) -> Response:
    return read_in_repo(
        owner, name, lambda st, repo: deployment_json(st, repo, _deployment(repo, deployment_id))
    )


@bp.delete("/repos/<owner>/<name>/deployments/<int:deployment_id>")
def delete_deployment(owner: str, name: str, deployment_id: int) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="deployments")
        d = _deployment(repo, deployment_id)
        if d.statuses and d.statuses[-1].state != "inactive":
            raise ApiError(
                422,
                "We cannot delete an active deployment unless it is the only deployment in a "
                "given environment.",
            )
        del repo.deployments[d.id]
    return no_content()


@bp.post("/repos/<owner>/<name>/deployments/<int:deployment_id>/statuses")
def create_deployment_status(owner: str, name: str, deployment_id: int) -> Response:
    body = json_body()
    state_name = body.get("state")
    if state_name not in STATES:
        raise ApiError(
            422,
            "Validation Failed",
            errors=[{"resource": "DeploymentStatus", "field": "state", "code": "invalid"}],
        )
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="deployments")
        d = _deployment(repo, deployment_id)
        now = st.now()
        environment = body.get("environment") or d.environment
        s = DeploymentStatus(
            id=st.next_id("deployment_status"),
            deployment_id=d.id,
            state=state_name,
            creator=actor_login(),
            created_at=now,
            updated_at=now,
            description=body.get("description") or "",
            environment=environment,
            target_url=body.get("target_url") or body.get("log_url") or "",
            log_url=body.get("log_url") or body.get("target_url") or "",
            environment_url=body.get("environment_url") or "",
        )
        d.statuses.append(s)
        d.updated_at = now
        if environment != d.environment:
            d.environment = environment
        if state_name == "success" and body.get("auto_inactive", True):
            mark_earlier_inactive(st, repo, d, actor_login(), now)
        emit(
            "deployment_status",
            "created",
            lambda: {
                "deployment_status": status_json(st, repo, d, s, webhook=True),
                "deployment": deployment_json(st, repo, d, webhook=True),
            },
            repo,
        )
        out = status_json(st, repo, d, s)
    return respond(out, status=201)


@bp.get("/repos/<owner>/<name>/deployments/<int:deployment_id>/statuses")
def list_deployment_statuses(owner: str, name: str, deployment_id: int) -> Response:
    def build(st: SandboxState, repo: Repo) -> list[dict[str, Any]]:
        d = _deployment(repo, deployment_id)
        return [status_json(st, repo, d, s) for s in reversed(d.statuses)]

    return list_in_repo(owner, name, build)


@bp.get("/repos/<owner>/<name>/deployments/<int:deployment_id>/statuses/<int:status_id>")
def get_deployment_status(owner: str, name: str, deployment_id: int, status_id: int) -> Response:
    def build(st: SandboxState, repo: Repo) -> dict[str, Any]:
        d = _deployment(repo, deployment_id)
        return status_json(st, repo, d, found(next((s for s in d.statuses if s.id == status_id), None)))

    return read_in_repo(owner, name, build)


def mark_earlier_inactive(
    st: SandboxState, repo: Repo, deployment: Deployment, creator: str, now: datetime
) -> None:
    """As GitHub does on a successful deployment status (REST, or a deploying job): earlier
    successful deployments of the environment become inactive. GitHub sends no webhooks for that."""
    for other in repo.deployments.values():
        if (
            other.id != deployment.id
            and other.environment == deployment.environment
            and other.statuses
            and other.statuses[-1].state == "success"
        ):
            other.statuses.append(
                DeploymentStatus(
                    id=st.next_id("deployment_status"),
                    deployment_id=other.id,
                    state="inactive",
                    creator=creator,
                    created_at=now,
                    updated_at=now,
                    environment=other.environment,
                )
            )
