"""The deploy reconciler against the sandbox (real REST calls): the answers it gives without a
release to judge, what it refuses to do with a wrong callback, and a job run twice answering once.

Each test builds its own repository (tests/world.py), requests a deploying workflow job from the
sandbox and runs the reconciler the way a worker does; the outcome is read back from the sandbox.
The whole way (a release signed off, the deployment approved and succeeding) is end to end in
tests/e2e/test_deploy_rule.py.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from memory_store import MemoryStore
from world import BOT, World, ok, unique

from bot.config.defaults import default_config
from bot.config.merge import deep_merge
from bot.github.auth import GitHubApp
from bot.jobs import JobSpec, deploy_key
from bot.reconcilers import deploy
from bot.reconcilers.context import JobContext

CONFIG = {"deploy": {"environments": {"production": {"requires": ["uat"]}}}}


class Deployments:
    def __init__(self, world: World, app: GitHubApp) -> None:
        self.world, self.app = world, app
        self.repo = world.repo(unique("dep"))
        self.store = MemoryStore()
        admin = self.repo.api("admin")
        for env in ("production", "qa"):
            ok(admin.put(self.repo.path(f"/environments/{env}")))
            ok(
                admin.post(
                    self.repo.path(f"/environments/{env}/deployment_protection_rules"),
                    json={"integration_id": 1},
                )
            )

    def request(self, ref: str = "main", environment: str = "production") -> dict[str, Any]:
        body = {"repo": self.repo.full_name, "ref": ref, "environment": environment}
        return ok(self.world.admin_api.post("/deployments/request", json=body))

    def run_job(
        self,
        asked: dict[str, Any],
        callback_url: str | None = None,
        config: Any = None,
        config_valid: bool = True,
    ) -> None:
        url = callback_url or (
            f"{self.world.handle.api_url}/repos/{self.repo.full_name}/actions/runs/{asked['run_id']}"
            "/deployment_protection_rule"
        )
        ctx = JobContext(
            job=JobSpec(
                deploy_key(self.repo.id, asked["deployment_id"]),
                1,
                self.repo.full_name,
                "test",
                {"callback_url": url},
            ),
            gh=self.app.client_for(1),
            repo_full_name=self.repo.full_name,
            bot_login=BOT,
            app_id=1,
            config=deep_merge(default_config(), CONFIG if config is None else config),
            config_error=None,
            store=self.store,
            enqueue=self.store.enqueued.extend,
            log=logging.getLogger("test"),
            config_valid=config_valid,
        )
        deploy.reconcile(ctx)

    def run(self, asked: dict[str, Any]) -> dict[str, Any]:
        return ok(self.world.admin_api.get(f"/deployments/{asked['deployment_id']}"))


@pytest.fixture
def deployments(sandbox_world: World, sandbox_app: GitHubApp) -> Deployments:
    return Deployments(sandbox_world, sandbox_app)


def test_a_branch_is_no_release_tag(deployments: Deployments) -> None:
    asked = deployments.request("main")
    deployments.run_job(asked)
    run = deployments.run(asked)
    assert run["state"] == "rejected"
    assert "`main` is not a tag of an open release" in run["comments"][0]["comment"]


def test_an_unconfigured_environment_is_refused(deployments: Deployments) -> None:
    asked = deployments.request("main", "qa")
    deployments.run_job(asked)
    assert (
        "`qa` is not configured in `deploy.environments`" in deployments.run(asked)["comments"][0]["comment"]
    )


def test_without_any_valid_configuration_everything_is_refused(deployments: Deployments) -> None:
    asked = deployments.request("main")
    deployments.run_job(asked, config_valid=False)
    assert "check-config" in deployments.run(asked)["comments"][0]["comment"]


def test_a_callback_of_another_repository_is_never_called(deployments: Deployments, caplog: Any) -> None:
    asked = deployments.request("main")
    api = deployments.world.handle.api_url
    other = f"{api}/repos/acme/rocket/actions/runs/{asked['run_id']}/deployment_protection_rule"
    with caplog.at_level(logging.ERROR):
        deployments.run_job(asked, callback_url=other)
    assert deployments.run(asked)["state"] == "waiting"
    assert "names no workflow run" in caplog.text


def test_a_job_run_twice_answers_once_and_keeps_its_first_decision(deployments: Deployments) -> None:
    asked = deployments.request("main")
    deployments.run_job(asked)
    # A second run, now with the environment open to anything: it sends the decision it kept.
    deployments.run_job(asked, config={"deploy": {"environments": {"production": {"requires": []}}}})
    run = deployments.run(asked)
    assert run["state"] == "rejected" and len(run["comments"]) == 1
    kept = deployments.store.get_state(deploy.decisions_key(deployments.repo.id))
    assert kept[str(asked["deployment_id"])]["state"] == "rejected"


def test_a_deleted_deployment_is_not_answered(deployments: Deployments) -> None:
    asked = deployments.request("main")
    admin = deployments.repo.api("admin")
    ok(
        admin.post(
            deployments.repo.path(f"/deployments/{asked['deployment_id']}/statuses"),
            json={"state": "inactive"},
        )
    )
    assert admin.delete(deployments.repo.path(f"/deployments/{asked['deployment_id']}")).status_code == 204
    deployments.run_job(asked)
    assert deployments.run(asked)["comments"] == []
