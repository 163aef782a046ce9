"""The ``repo:`` reconciler: config-change detection, cache invalidation, fan-out, discovery hook.

Against the session's sandbox (tests/world.py): each test builds its own organization, so its
org-wide ``.github`` repository and ``_extends`` targets are seen by no other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from memory_store import MemoryStore as Store
from world import BOT, Repo, World, unique

from bot.github.auth import GitHubApp
from bot.github.pacer import PacerLimits
from bot.intake.routing import route
from bot.jobs import JobSpec, repo_key
from bot.reconcilers import dispatch
from bot.reconcilers.context import JobContext
from bot.services import Services

RB = ".github/release-bot.yml"


@dataclass
class Rocket:
    """``{org}/rocket``: milestones v1.4.0, Backlog and 1.5.0-rc.1; open pull requests into
    ``release/1.4``, ``main`` and ``hotfix/x``."""

    repo: Repo
    installation_id: int
    milestones: dict[str, int]  # title -> number
    pulls: dict[str, int]  # base -> number

    @property
    def id(self) -> int:
        return self.repo.id


def _pulls_into(repo: Repo, *bases: str) -> list[int]:
    """One open pull request into each of ``bases`` (created first, at the default branch's tip)."""
    main = repo.head(repo.default_branch)
    repo.push_refs({base: main for base in bases if base != repo.default_branch} | {"topic": main})
    sha = repo.commit("topic", "dev")
    heads = [f"topic-{i}" for i in range(len(bases))]
    repo.push_refs(dict.fromkeys(heads, sha))
    return [repo.pull(head, base, title=f"into {base}") for head, base in zip(heads, bases, strict=True)]


@pytest.fixture
def org(sandbox_world: World) -> str:
    return unique("org")


@pytest.fixture
def rocket(sandbox_world: World, org: str) -> Rocket:
    repo = sandbox_world.repo("rocket", owner=org)
    milestones = {title: repo.milestone(title) for title in ("v1.4.0", "Backlog", "1.5.0-rc.1")}
    bases = ("release/1.4", "main", "hotfix/x")
    pulls = dict(zip(bases, _pulls_into(repo, *bases), strict=True))
    return Rocket(repo, sandbox_world.installation_id(repo.full_name), milestones, pulls)


@pytest.fixture
def services(sandbox: object, sandbox_world: World) -> Iterator[Services]:
    """Fresh services (a new App client: its bot login is read again, the caches are empty)."""
    key = Path(sandbox.app_key_path).read_text()  # type: ignore[attr-defined]
    app = GitHubApp(1, key, base_url=sandbox.api_url, pacer_limits=PacerLimits(0, 0))  # type: ignore[attr-defined]
    yield Services(app, Store())
    app.close()


@pytest.fixture(autouse=True)
def no_discoveries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatch, "DISCOVERIES", ())


def push(repo: Rocket | Repo, installation_id: int, ref: str, paths: list[str]) -> JobSpec:
    full_name = repo.repo.full_name if isinstance(repo, Rocket) else repo.full_name
    return JobSpec(
        repo_key(repo.id), installation_id, full_name, "push", {"refs": [ref], "changed_config_paths": paths}
    )


def keys(services: Services) -> list[str]:
    return sorted(j.key for j in services.store.enqueued)


def pr(rocket: Rocket, base: str) -> str:
    return f"pr:{rocket.id}#{rocket.pulls[base]}"


def release(rocket: Rocket, title: str) -> str:
    return f"release:{rocket.id}@{rocket.milestones[title]}"


def test_config_push_on_default_branch_reloads_and_fans_out(services: Services, rocket: Rocket) -> None:
    rocket.repo.file(RB, "gate:\n  hold_label: one\n")
    loader = services.config_loader
    gh = services.client_for(rocket.installation_id)
    assert loader.load(gh, rocket.repo.full_name).config["gate"]["hold_label"] == "one"
    rocket.repo.file(RB, "gate:\n  hold_label: two\n  release_branches: ['release/*', 'hotfix/*']\n")

    dispatch.run_job(push(rocket, rocket.installation_id, "refs/heads/main", [RB]), services)

    assert loader.load(gh, rocket.repo.full_name).config["gate"]["hold_label"] == "two"
    # open version milestones (v1.4.0 and 1.5.0-rc.1, not Backlog); PRs into release/* and
    # hotfix/* per the NEW config
    assert keys(services) == sorted(
        [
            pr(rocket, "release/1.4"),
            pr(rocket, "hotfix/x"),
            release(rocket, "v1.4.0"),
            release(rocket, "1.5.0-rc.1"),
        ]
    )
    assert all(
        j.installation_id == rocket.installation_id and j.repo == rocket.repo.full_name
        for j in services.store.enqueued
    )


def test_push_elsewhere_changes_nothing(services: Services, rocket: Rocket) -> None:
    rocket.repo.file(RB, "gate:\n  hold_label: one\n")
    loader = services.config_loader
    gh = services.client_for(rocket.installation_id)
    loader.load(gh, rocket.repo.full_name)
    rocket.repo.file(RB, "gate:\n  hold_label: two\n")  # changed, but the push names another branch
    dispatch.run_job(push(rocket, rocket.installation_id, "refs/heads/feature", [RB]), services)
    assert services.store.enqueued == []
    assert loader.load(gh, rocket.repo.full_name).config["gate"]["hold_label"] == "one"


def test_push_without_config_paths_costs_no_call(services: Services, rocket: Rocket) -> None:
    services.config_loader.load(services.client_for(rocket.installation_id), rocket.repo.full_name)
    job = JobSpec(
        repo_key(rocket.id),
        rocket.installation_id,
        rocket.repo.full_name,
        "push",
        {"refs": ["refs/heads/main"]},
    )
    report = dispatch.run_job(job, services)
    assert report.api_calls == 1  # GET /app (bot login): config cached, no repository read, no fan-out
    assert services.store.enqueued == []


def test_org_config_push_reruns_dependent_repositories(
    services: Services, sandbox_world: World, org: str, rocket: Rocket
) -> None:
    engine = sandbox_world.repo("engine", owner=org)
    org_config = sandbox_world.repo(".github", owner=org)
    gh = services.client_for(rocket.installation_id)
    # both read the org's .github fallback (it has no release-bot.yml yet)
    services.config_loader.load(
        gh, rocket.repo.full_name, repo_id=rocket.id, installation_id=rocket.installation_id
    )
    services.config_loader.load(
        gh, engine.full_name, repo_id=engine.id, installation_id=rocket.installation_id
    )
    org_config.file(RB, "gate:\n  hold_label: org\n")

    dispatch.run_job(
        push(org_config, rocket.installation_id, "refs/heads/main", ["profile/README.yml"]), services
    )

    dependents = {j.key: j for j in services.store.enqueued if j.key.startswith("repo:")}
    assert set(dependents) == {f"repo:{rocket.id}", f"repo:{engine.id}"}
    # Jobs a reconciler enqueues say so (never the echo of a write: bot.reconcilers.echoes).
    assert dependents[f"repo:{rocket.id}"].hints == {"config_changed": True, "senders": ["(a reconciler)"]}
    assert dependents[f"repo:{rocket.id}"].repo == rocket.repo.full_name
    assert services.config_loader.load(gh, rocket.repo.full_name).config["gate"]["hold_label"] == "org"


def test_extends_target_push(services: Services, sandbox_world: World, org: str, rocket: Rocket) -> None:
    gh = services.client_for(rocket.installation_id)
    shared = sandbox_world.repo("shared", owner=org)
    rocket.repo.file(RB, f"_extends: {org}/shared:base.yml\n")
    shared.file("base.yml", "gate:\n  uat_label: a\n")
    services.config_loader.load(
        gh, rocket.repo.full_name, repo_id=rocket.id, installation_id=rocket.installation_id
    )
    shared.file("base.yml", "gate:\n  uat_label: b\n")
    dispatch.run_job(push(shared, rocket.installation_id, "refs/heads/main", ["base.yml"]), services)
    assert [j.key for j in services.store.enqueued] == [f"repo:{rocket.id}"]
    assert services.config_loader.load(gh, rocket.repo.full_name).config["gate"]["uat_label"] == "b"


def test_config_changed_hint_fans_out(services: Services, rocket: Rocket) -> None:
    job = JobSpec(
        repo_key(rocket.id),
        rocket.installation_id,
        rocket.repo.full_name,
        "fan-out",
        {"config_changed": True},
    )
    dispatch.run_job(job, services)
    assert keys(services) == sorted(
        [pr(rocket, "release/1.4"), release(rocket, "v1.4.0"), release(rocket, "1.5.0-rc.1")]
    )


def test_milestone_pattern_from_config(services: Services, rocket: Rocket) -> None:
    rocket.repo.file(RB, "releases:\n  milestone_pattern: '^(?P<version>\\d+\\.\\d+\\.\\d+)$'\n")
    job = JobSpec(
        repo_key(rocket.id), rocket.installation_id, rocket.repo.full_name, "reconcile", {"fan_out": True}
    )
    dispatch.run_job(job, services)
    # 'v1.4.0' (prefix) and '1.5.0-rc.1' (suffix) do not match the stricter pattern
    assert keys(services) == [pr(rocket, "release/1.4")]


def test_fan_out_wakes_exactly_the_pull_requests_the_gate_gates(
    services: Services, sandbox_world: World, org: str
) -> None:
    """GitHub's branch patterns: '*' stops at '/', '**' does not — the gate's own matcher decides."""
    repo = sandbox_world.repo(unique("fan"), owner=org)
    repo.file(RB, "gate:\n  release_branches: ['release/*', 'hotfix/**']\n")
    # release/1.4/docs is not gated: '*' does not cross '/'
    gated, _, deep = _pulls_into(repo, "release/1.4", "release/1.4/docs", "hotfix/1.4/urgent")
    job = JobSpec(
        repo_key(repo.id),
        sandbox_world.installation_id(repo.full_name),
        repo.full_name,
        "reconcile",
        {"fan_out": True},
    )
    dispatch.run_job(job, services)
    assert keys(services) == sorted([f"pr:{repo.id}#{gated}", f"pr:{repo.id}#{deep}"])


@pytest.mark.parametrize(
    "event,body",
    [
        ("issues", {"action": "opened", "issue": {"number": 5}}),
        ("release", {"action": "published", "release": {"id": 1, "body": "by hand"}}),
        ("deployment_status", {"action": "created", "deployment_status": {"id": 1}}),
    ],
)
def test_events_that_only_concern_releases_do_not_fan_out(
    services: Services, rocket: Rocket, sandbox_world: World, event: str, body: dict
) -> None:
    """Events that only concern releases in some stages (release discovery wakes those) must not list
    the milestones and pull requests nor enqueue a `pr:` job: the gate depends on none of them."""
    services.config_loader.load(services.client_for(rocket.installation_id), rocket.repo.full_name)
    payload = {
        **body,
        "repository": {"id": rocket.id, "full_name": rocket.repo.full_name},
        "installation": {"id": rocket.installation_id},
    }
    routed = route(event, payload)
    assert [job.key for job in routed.jobs] == [f"repo:{rocket.id}"]
    before = sandbox_world.log.seq()
    report = dispatch.run_job(routed.jobs[0], services)
    assert services.store.enqueued == []
    paths = [r["path"] for r in sandbox_world.log.since(before, actor=BOT)]
    assert [p for p in paths if "/pulls" in p or "/milestones" in p] == []
    assert report.api_calls == 1  # GET /app (bot login), as for any repo: job with nothing to do


def test_fan_out_pages_through_hundreds(services: Services, sandbox_world: World, org: str) -> None:
    repo = sandbox_world.repo(unique("many"), owner=org)
    numbers = [repo.milestone(f"v1.{n}.0") for n in range(1, 202)]
    before = sandbox_world.log.seq()
    job = JobSpec(
        repo_key(repo.id),
        sandbox_world.installation_id(repo.full_name),
        repo.full_name,
        "reconcile",
        {"fan_out": True},
    )
    dispatch.run_job(job, services)
    assert keys(services) == sorted(f"release:{repo.id}@{n}" for n in numbers)
    listed = [r for r in sandbox_world.log.since(before, actor=BOT) if r["path"].endswith("/milestones")]
    assert len(listed) == 3  # 100 + 100 + 1


def test_discovery_extension_point(
    services: Services, rocket: Rocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[JobContext] = []

    def discover(ctx: JobContext) -> list[JobSpec]:
        seen.append(ctx)
        return [JobSpec(f"release:{rocket.id}@9", ctx.job.installation_id, ctx.repo_full_name, "tag v1.9.0")]

    monkeypatch.setattr(dispatch, "DISCOVERIES", (discover,))  # the one list of discoveries
    job = JobSpec(
        repo_key(rocket.id), rocket.installation_id, rocket.repo.full_name, "create", {"refs": ["tag:v1.9.0"]}
    )
    dispatch.run_job(job, services)
    assert len(seen) == 1 and seen[0].job.hints == {"refs": ["tag:v1.9.0"]}
    assert keys(services) == [f"release:{rocket.id}@9"]
