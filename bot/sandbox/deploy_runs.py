"""A workflow job that deploys to an environment, played as GitHub Actions plays it.

``request_deployment`` (``POST /_sandbox/deployments/request``) creates the environment if the job
names a new one (as Actions does), the deployment (``deployment`` ``created``), and a run waiting on
the environment's custom deployment protection rules: each App whose rule is enabled and which is
installed on the repository receives ``deployment_protection_rule`` ``requested`` with a
``deployment_callback_url``. ``review`` is that URL's endpoint: the App's ``approved`` or
``rejected``. Once every rule approved, the job deploys (``deployment_status`` ``success``); the
first rejection fails it (``failure``, the App's comment as the description). With no rule
enabled the job deploys at once. A rule answers once: after it, the run no longer waits on it.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.http import ApiError, api_url
from bot.sandbox.state import Deployment, DeploymentStatus, DeployRun, Environment, Repo, SandboxState
from bot.sandbox.webhooks import emit

# GitHub's deployment status description holds 140 characters.
MAX_STATUS_DESCRIPTION = 140


def ensure_environment(st: SandboxState, repo: Repo, name: str) -> Environment:
    env = repo.environments.get(name.lower())
    if env is None:
        now = st.now()
        env = Environment(id=st.next_id("environment"), name=name, created_at=now, updated_at=now)
        repo.environments[name.lower()] = env
    return env


def enabled_apps(st: SandboxState, repo: Repo, env: Environment) -> list[int]:
    """Apps whose rule is enabled on ``env`` and which are installed on the repository."""
    return sorted(
        {
            rule.app_id
            for rule in env.rules.values()
            if rule.enabled and rule.app_id in st.apps and st.app_installation_for(rule.app_id, repo)
        }
    )


def callback_url(repo: Repo, run_id: int) -> str:
    return api_url(f"/repos/{repo.full_name}/actions/runs/{run_id}/deployment_protection_rule")


def request_deployment(
    st: SandboxState, repo: Repo, ref: str, sha: str, environment: str, by: str, event: str
) -> tuple[Deployment, DeployRun]:
    """Under ``st.lock``: the deployment and its run (already deployed when no rule is enabled)."""
    from bot.sandbox.api.deployments import deployment_json

    env = ensure_environment(st, repo, environment)
    now = st.now()
    deployment = Deployment(
        id=st.next_id("deployment"),
        sha=sha,
        ref=ref,
        task="deploy",
        environment=env.name,
        creator=by,
        created_at=now,
        updated_at=now,
        original_environment=env.name,
        production_environment=env.name.lower() == "production",
    )
    repo.deployments[deployment.id] = deployment
    emit(
        "deployment",
        "created",
        lambda: {
            "deployment": deployment_json(st, repo, deployment, webhook=True),
            "workflow": None,
            "workflow_run": None,
        },
        repo,
        sender=by,
    )
    run = DeployRun(id=st.next_id("workflow_run"), deployment_id=deployment.id, environment=env.name)
    repo.deploy_runs[run.id] = run
    apps = enabled_apps(st, repo, env)
    if not apps:
        _finish(st, repo, run, "approved", "")
        return deployment, run
    run.answers = {app_id: "pending" for app_id in apps}
    emit(
        "deployment_protection_rule",
        "requested",
        lambda: {
            "environment": env.name,
            "event": event,
            "deployment_callback_url": callback_url(repo, run.id),
            "deployment": deployment_json(st, repo, deployment, webhook=True),
            "pull_requests": [],
        },
        repo,
        sender=by,
        app_ids=apps,
    )
    return deployment, run


def review(
    st: SandboxState,
    repo: Repo,
    run: DeployRun,
    app_id: int,
    environment: str,
    state: str | None,
    comment: str,
) -> None:
    """One App's answer for ``run`` (under ``st.lock``). ``state`` None: a comment only, the rule
    keeps waiting. Refused (422) when the App's rule is not waiting on this run's environment."""
    if environment.lower() != run.environment.lower() or run.answers.get(app_id) != "pending":
        raise ApiError(
            422,
            f"No pending custom deployment protection rule of this app for environment '{environment}' "
            "in this workflow run.",
        )
    app = st.apps[app_id]
    run.comments.append({"app": app.slug, "state": state, "comment": comment})
    if state is None:
        return
    run.answers[app_id] = state
    if state == "rejected":
        _finish(st, repo, run, "rejected", comment)
    elif all(answer == "approved" for answer in run.answers.values()):
        _finish(st, repo, run, "approved", comment)


def _finish(st: SandboxState, repo: Repo, run: DeployRun, outcome: str, comment: str) -> None:
    """The job deploys (``success``) or fails on the rejection (``failure``)."""
    from bot.sandbox.api.deployments import deployment_json, status_json

    run.state = outcome
    deployment = repo.deployments.get(run.deployment_id)
    if deployment is None:  # deleted through the REST API meanwhile: nothing left to report on
        return
    now = st.now()
    status = DeploymentStatus(
        id=st.next_id("deployment_status"),
        deployment_id=deployment.id,
        state="success" if outcome == "approved" else "failure",
        creator=deployment.creator,
        created_at=now,
        updated_at=now,
        description=(comment or ("Deployed" if outcome == "approved" else "Rejected"))[
            :MAX_STATUS_DESCRIPTION
        ],
        environment=deployment.environment,
    )
    if status.state == "success":
        from bot.sandbox.api.deployments import mark_earlier_inactive

        mark_earlier_inactive(st, repo, deployment, deployment.creator, now)
    deployment.statuses.append(status)
    deployment.updated_at = now
    emit(
        "deployment_status",
        "created",
        lambda: {
            "deployment_status": status_json(st, repo, deployment, status, webhook=True),
            "deployment": deployment_json(st, repo, deployment, webhook=True),
        },
        repo,
        sender=deployment.creator,
    )


def run_json(st: SandboxState, run: DeployRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "deployment_id": run.deployment_id,
        "environment": run.environment,
        "state": run.state,
        "rules": [
            {"app_id": app_id, "slug": st.apps[app_id].slug if app_id in st.apps else None, "state": answer}
            for app_id, answer in sorted(run.answers.items())
        ],
        "comments": list(run.comments),
    }
