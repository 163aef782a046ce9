"""The ``repo:`` reconciler: config-change detection, cache invalidation, fan-out, discovery hook."""

from __future__ import annotations

import pytest
import responses
from dispatch_fake_github import FakeGitHub, make_app_key
from memory_store import MemoryStore as Store

from bot.github.auth import GitHubApp
from bot.github.pacer import PacerLimits
from bot.intake.routing import route
from bot.jobs import JobSpec, repo_key
from bot.reconcilers import dispatch
from bot.reconcilers.context import JobContext
from bot.services import Services

RB = ".github/release-bot.yml"


@pytest.fixture(scope="module")
def app_key() -> str:
    return make_app_key()


@pytest.fixture
def fake() -> FakeGitHub:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        github = FakeGitHub(mock)
        github.milestones["acme/rocket"] = [
            {"number": 1, "title": "v1.4.0"}, {"number": 2, "title": "Backlog"}, {"number": 3, "title": "1.5.0-rc.1"},
        ]
        github.pulls["acme/rocket"] = [
            {"number": 10, "base": {"ref": "release/1.4"}}, {"number": 11, "base": {"ref": "main"}},
            {"number": 12, "base": {"ref": "hotfix/x"}},
        ]
        yield github


@pytest.fixture
def services(app_key, fake) -> Services:
    return Services(GitHubApp(7, app_key, pacer_limits=PacerLimits(0, 0)), Store())


@pytest.fixture(autouse=True)
def no_discoveries(monkeypatch):
    monkeypatch.setattr(dispatch, "DISCOVERIES", ())


def push(repo_name: str, repo_id: int, ref: str, paths: list[str]) -> JobSpec:
    return JobSpec(repo_key(repo_id), 5, repo_name, "push", {"refs": [ref], "changed_config_paths": paths})


def keys(services: Services) -> list[str]:
    return sorted(j.key for j in services.store.enqueued)


def test_config_push_on_default_branch_reloads_and_fans_out(services, fake):
    fake.put("acme/rocket", RB, "gate:\n  hold_label: one\n")
    loader = services.config_loader
    assert loader.load(services.client_for(5), "acme/rocket").config["gate"]["hold_label"] == "one"
    fake.put("acme/rocket", RB, "gate:\n  hold_label: two\n  release_branches: ['release/*', 'hotfix/*']\n")

    dispatch.run_job(push("acme/rocket", 42, "refs/heads/main", [RB]), services)

    assert loader.load(services.client_for(5), "acme/rocket").config["gate"]["hold_label"] == "two"
    # open version milestones (v1.4.0 and 1.5.0-rc.1, not Backlog); PRs into release/* and hotfix/* per the NEW config
    assert keys(services) == ["pr:42#10", "pr:42#12", "release:42@1", "release:42@3"]
    assert all(j.installation_id == 5 and j.repo == "acme/rocket" for j in services.store.enqueued)


def test_push_elsewhere_changes_nothing(services, fake):
    fake.put("acme/rocket", RB, "gate:\n  hold_label: one\n")
    loader = services.config_loader
    loader.load(services.client_for(5), "acme/rocket")
    fake.put("acme/rocket", RB, "gate:\n  hold_label: two\n")
    dispatch.run_job(push("acme/rocket", 42, "refs/heads/feature", [RB]), services)
    assert services.store.enqueued == []
    assert loader.load(services.client_for(5), "acme/rocket").config["gate"]["hold_label"] == "one"


def test_push_without_config_paths_costs_no_call(services, fake):
    services.config_loader.load(services.client_for(5), "acme/rocket")
    report = dispatch.run_job(JobSpec(repo_key(42), 5, "acme/rocket", "push", {"refs": ["refs/heads/main"]}),
                              services)
    assert report.api_calls == 1  # GET /app (bot login): config cached, no repository read, no fan-out
    assert services.store.enqueued == []


def test_org_config_push_reruns_dependent_repositories(services, fake):
    gh = services.client_for(5)
    services.config_loader.load(gh, "acme/rocket", repo_id=42, installation_id=5)  # reads acme/.github fallback
    services.config_loader.load(gh, "acme/engine", repo_id=43, installation_id=5)
    fake.put("acme/.github", RB, "gate:\n  hold_label: org\n")

    dispatch.run_job(push("acme/.github", 99, "refs/heads/main", ["profile/README.yml"]), services)

    dependents = {j.key: j for j in services.store.enqueued if j.key.startswith("repo:")}
    assert set(dependents) == {"repo:42", "repo:43"}
    assert dependents["repo:42"].hints == {"config_changed": True} and dependents["repo:42"].repo == "acme/rocket"
    assert services.config_loader.load(gh, "acme/rocket").config["gate"]["hold_label"] == "org"


def test_extends_target_push(services, fake):
    gh = services.client_for(5)
    fake.put("acme/rocket", RB, "_extends: acme/shared:base.yml\n")
    fake.put("acme/shared", "base.yml", "gate:\n  uat_label: a\n")
    services.config_loader.load(gh, "acme/rocket", repo_id=42, installation_id=5)
    fake.put("acme/shared", "base.yml", "gate:\n  uat_label: b\n")
    dispatch.run_job(push("acme/shared", 50, "refs/heads/main", ["base.yml"]), services)
    assert [j.key for j in services.store.enqueued] == ["repo:42"]
    assert services.config_loader.load(gh, "acme/rocket").config["gate"]["uat_label"] == "b"


def test_config_changed_hint_fans_out(services, fake):
    dispatch.run_job(JobSpec(repo_key(42), 5, "acme/rocket", "fan-out", {"config_changed": True}), services)
    assert keys(services) == ["pr:42#10", "release:42@1", "release:42@3"]


def test_milestone_pattern_from_config(services, fake):
    fake.put("acme/rocket", RB, "releases:\n  milestone_pattern: '^(?P<version>\\d+\\.\\d+\\.\\d+)$'\n")
    dispatch.run_job(JobSpec(repo_key(42), 5, "acme/rocket", "reconcile", {"fan_out": True}), services)
    # 'v1.4.0' (prefix) and '1.5.0-rc.1' (suffix) do not match the stricter pattern
    assert keys(services) == ["pr:42#10"]


def test_fan_out_wakes_exactly_the_pull_requests_the_gate_gates(services, fake):
    """GitHub's branch patterns: '*' stops at '/', '**' does not — the gate's own matcher decides."""
    fake.put("acme/rocket", RB, "gate:\n  release_branches: ['release/*', 'hotfix/**']\n")
    fake.pulls["acme/rocket"] = [
        {"number": 20, "base": {"ref": "release/1.4"}},
        {"number": 21, "base": {"ref": "release/1.4/docs"}},  # not gated: '*' does not cross '/'
        {"number": 22, "base": {"ref": "hotfix/1.4/urgent"}},
    ]
    fake.milestones["acme/rocket"] = []
    dispatch.run_job(JobSpec(repo_key(42), 5, "acme/rocket", "reconcile", {"fan_out": True}), services)
    assert keys(services) == ["pr:42#20", "pr:42#22"]


@pytest.mark.parametrize("event,body", [
    ("issues", {"action": "opened", "issue": {"number": 5}}),
    ("release", {"action": "published", "release": {"id": 1, "body": "by hand"}}),
    ("deployment_status", {"action": "created", "deployment_status": {"id": 1}}),
])
def test_events_that_only_concern_releases_do_not_fan_out(services, fake, event, body):
    """Events that only concern releases in some stages (release discovery wakes those) must not list
    the milestones and pull requests nor enqueue a `pr:` job: the gate depends on none of them."""
    services.config_loader.load(services.client_for(5), "acme/rocket")
    routed = route(event, {**body, "repository": {"id": 42, "full_name": "acme/rocket"}, "installation": {"id": 5}})
    assert [job.key for job in routed.jobs] == ["repo:42"]
    report = dispatch.run_job(routed.jobs[0], services)
    assert services.store.enqueued == []
    assert fake.requests("/pulls") == [] and fake.requests("/milestones") == []
    assert report.api_calls == 1  # GET /app (bot login), as for any repo: job with nothing to do


def test_fan_out_pages_through_hundreds(services, fake):
    fake.milestones["acme/rocket"] = [{"number": n, "title": f"v1.{n}.0"} for n in range(1, 251)]
    fake.pulls["acme/rocket"] = []
    dispatch.run_job(JobSpec(repo_key(42), 5, "acme/rocket", "reconcile", {"fan_out": True}), services)
    assert len(services.store.enqueued) == 250
    assert len(fake.requests("/milestones")) == 3


def test_discovery_extension_point(services, fake, monkeypatch):
    seen: list[JobContext] = []

    def discover(ctx: JobContext) -> list[JobSpec]:
        seen.append(ctx)
        return [JobSpec("release:42@9", ctx.job.installation_id, ctx.repo_full_name, "tag v1.9.0")]

    monkeypatch.setattr(dispatch, "DISCOVERIES", (discover,))  # the one list of discoveries
    dispatch.run_job(JobSpec(repo_key(42), 5, "acme/rocket", "create", {"refs": ["tag:v1.9.0"]}), services)
    assert len(seen) == 1 and seen[0].job.hints == {"refs": ["tag:v1.9.0"]}
    assert keys(services) == ["release:42@9"]
