"""``/_sandbox/deployments``: a workflow job that deploys (GitHub has no API that starts one with a
given environment and ref; the sandbox plays it, ``bot.sandbox.deploy_runs``)."""

from __future__ import annotations

from flask import Blueprint, Response

from bot.sandbox import deploy_runs
from bot.sandbox.gitobjects import resolve
from bot.sandbox.http import json_body, not_found, respond, state, validation_failed

URL_PREFIX = "/_sandbox"
bp = Blueprint("sandbox_deploy_requests", __name__)


@bp.post("/deployments/request")
def request_deployment() -> Response:
    """``{"repo": "acme/rocket", "ref": "v1.4.0", "environment": "production", "by": "admin",
    "event": "workflow_dispatch"}`` → ``202 {"deployment_id", "run_id"}``."""
    body = json_body()
    full, ref, environment = body.get("repo"), body.get("ref"), body.get("environment")
    by, event = body.get("by") or "admin", body.get("event") or "workflow_dispatch"
    if not isinstance(full, str) or full.count("/") != 1:
        validation_failed("Deployment", "repo", "invalid", "repo must be 'owner/name'")
    if not isinstance(ref, str) or not ref:
        validation_failed("Deployment", "ref", "missing_field", "ref is required")
    if (
        not isinstance(environment, str)
        or not environment.strip()
        or len(environment) > 255
        or any(c in environment for c in "/,'\"")
    ):
        validation_failed("Deployment", "environment", "invalid", "environment must be an environment name")
    if not isinstance(by, str) or not isinstance(event, str):
        validation_failed("Deployment", "by", "invalid", "by and event must be strings")
    st = state()
    with st.lock:
        repo = st.repo(*full.split("/", 1))
        if repo is None:
            not_found()
        user = st.user(by)
        if user is None:
            validation_failed("Deployment", "by", "invalid", f"unknown user {by}")
        sha = resolve(repo, ref)
        if sha is None:
            validation_failed("Deployment", "ref", "invalid", f"No ref found for: {ref}")
        deployment, run = deploy_runs.request_deployment(st, repo, ref, sha, environment, user.login, event)
        out = {"deployment_id": deployment.id, "run_id": run.id, "state": run.state}
    return respond(out, status=202)


@bp.get("/deployments/<int:deployment_id>")
def deployment_run(deployment_id: int) -> Response:
    """The run behind a requested deployment: its state and every rule's answer and comment."""
    st = state()
    with st.lock:
        for repo in st.repos.values():
            for run in repo.deploy_runs.values():
                if run.deployment_id == deployment_id:
                    return respond(deploy_runs.run_json(st, run))
    not_found()
