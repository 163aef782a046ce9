"""Release discovery on `repo:` jobs: adoption, labels, tags and branches found without `create` events.

Against the session's sandbox (tests/world.py): a fresh repository per test, the bot's real client.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from memory_store import MemoryStore as Store
from world import BOT, Repo, World, unique

from bot.config.defaults import default_config
from bot.github.auth import GitHubApp
from bot.jobs import JobSpec, release_key, repo_key
from bot.reconcilers.context import JobContext
from bot.reconcilers.release_discovery import discover_releases, stages_key


class Discovery:
    """One repository, the bot's store, and the requests the bot made since ``clear``."""

    def __init__(self, world: World, app: GitHubApp) -> None:
        self.world = world
        self.repo: Repo = world.repo(unique("disc"))
        self.gh = app.client_for(world.installation_id(self.repo.full_name))
        self.store = Store()
        self.main = self.repo.head("main")
        self.clear()

    def __call__(self, reason: str = "push", hints: dict[str, Any] | None = None) -> list[int]:
        ctx = JobContext(
            job=JobSpec(repo_key(self.repo.id), 1, self.repo.full_name, reason, hints or {}),
            gh=self.gh,
            repo_full_name=self.repo.full_name,
            bot_login=BOT,
            app_id=1,
            config=default_config(),
            config_error=None,
            store=self.store,
            enqueue=lambda jobs: None,
            log=logging.getLogger("test"),
        )
        jobs = discover_releases(ctx)
        return [int(j.key.split("@")[1]) for j in jobs if j.key.startswith("release:")]

    def clear(self) -> None:
        self.since = self.world.log.seq()

    def calls(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.world.log.since(self.since, actor=BOT)]

    def reads(self) -> list[tuple[str, str]]:
        return [c for c in self.calls() if c[0] == "GET"]

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls() if c[0] != "GET"]

    def labels(self) -> set[str]:
        return {label["name"] for label in self.repo.get("/labels", per_page=100)}

    def close_milestone(self, number: int) -> None:
        self.repo.api().patch(
            self.repo.path(f"/milestones/{number}"), json={"state": "closed"}
        ).raise_for_status()

    def set_stages(self, stages: dict[int, str]) -> None:
        self.store.set_state(stages_key(self.repo.id), {str(m): stage for m, stage in stages.items()})


@pytest.fixture
def discover(sandbox_world: World, sandbox_app: GitHubApp) -> Discovery:
    return Discovery(sandbox_world, sandbox_app)


def test_adoption_labels_and_ref_discovery(discover: Discovery) -> None:
    repo = discover.repo
    v14 = repo.milestone("v1.4.0")
    v141 = repo.milestone("v1.4.1")
    repo.milestone("Backlog")
    old = repo.milestone("v1.3.0")
    discover.close_milestone(old)
    assert discover() == [v14, v141]  # adoption: open version milestones only
    assert {"release-tracking", "uat-passed", "release-approved", "hold", "released"} <= discover.labels()
    discover.clear()
    assert discover() == [] and discover.writes() == []
    assert len(discover.reads()) == 2  # tags + release branches, nothing else when nothing changed

    tags = [
        "v1.4.0-rc.1",
        "v1.4.0-rc.2",
        "v1.4.0",
        "v1.3.0",
        "unrelated",
    ]  # > 3 tags at once: no create events
    repo.push_refs({f"refs/tags/{tag}": discover.main for tag in tags})
    assert discover() == [v14, old]  # a closed milestone's own tag still wakes it (publishing)
    repo.push_refs({"release/1.4": discover.main})
    assert discover() == [v14]  # the lowest open milestone of the line
    discover.close_milestone(v14)
    repo.push_refs({"release/1.4": None})
    assert discover() == [v141]


def events(*names: str) -> dict[str, Any]:
    return {"release_events": list(names)}


def test_release_events_wake_only_the_releases_whose_stage_cares(discover: Discovery) -> None:
    repo = discover.repo
    m = repo.milestone("v2.0.0")
    discover()
    other = repo.milestone("v2.1.0")
    building = repo.milestone("v2.2.0")
    discover(hints={"fan_out": True})
    discover.set_stages({m: "monitor", other: "deploy", building: "build_test"})
    discover.clear()
    assert discover(reason="issues.opened", hints=events("issues")) == [m]
    # From the stages map alone: no milestone listing, only the two ref listings of every repo: job.
    assert len(discover.reads()) == 2 and discover.writes() == []
    assert discover(reason="deployment_status.created", hints=events("deployment_status")) == [m, other]
    assert discover(reason="release.published", hints=events("release")) == [m, other]
    assert discover(reason="push") == []
    # Coalesced jobs: the reason is the last event's, the hint keeps them all.
    assert discover(reason="push", hints=events("issues", "deployment_status")) == [m, other]
    # An event name the discovery does not know wakes nothing.
    assert discover(reason="push", hints=events("gollum")) == []
    # The reason alone (no hint) is not a release event: jobs enqueued before this hint existed
    # carried `fan_out` instead.
    assert discover(reason="issues.opened") == []


def test_release_events_without_a_stages_map_wake_every_open_release(discover: Discovery) -> None:
    m = discover.repo.milestone("v2.0.0")
    discover()
    other = discover.repo.milestone("v2.1.0")
    assert discover.store.get_state(stages_key(discover.repo.id)) is None  # no release reconciled yet
    assert discover(reason="issues.opened", hints=events("issues")) == [m, other]


def test_fan_out_hint_readopts(discover: Discovery) -> None:
    m = discover.repo.milestone("v2.0.0")
    discover()
    assert discover(hints={"fan_out": True}) == [m]
    assert release_key(discover.repo.id, m) == f"release:{discover.repo.id}@{m}"


def test_labels_are_checked_on_adoption_not_on_every_release_event(discover: Discovery) -> None:
    m = discover.repo.milestone("v2.0.0")
    discover()
    discover.set_stages({m: "monitor"})
    discover.clear()
    assert discover(reason="issues.opened", hints=events("issues")) == [m]
    assert ("GET", f"/repos/{discover.repo.full_name}/labels") not in discover.calls()
    # deleted by someone: the next adoption puts it back
    discover.repo.api().delete(discover.repo.path("/labels/hold")).raise_for_status()
    assert discover(reason="issues.labeled", hints=events("issues")) == [m]
    assert "hold" not in discover.labels()
    # An adoption coalesced with a later event keeps `fan_out` but not its reason: still an adoption.
    assert discover(reason="push", hints={"fan_out": True, **events("issues")}) == [m]
    assert "hold" in discover.labels()
