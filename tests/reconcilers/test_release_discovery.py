"""Release discovery on `repo:` jobs: adoption, labels, tags and branches found without `create` events."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from bot.config.defaults import default_config
from bot.jobs import JobSpec, release_key, repo_key
from bot.reconcilers.context import JobContext
from bot.reconcilers.release_discovery import discover_releases, stages_key

sys.path.insert(0, str(Path(__file__).parent))
from fake_github import BOT, REPO, FakeGitHub  # noqa: E402
from memory_store import MemoryStore as Store  # noqa: E402


def discover(gh: FakeGitHub, store: Store, reason: str = "push", hints: dict[str, Any] | None = None) -> list[int]:
    ctx = JobContext(job=JobSpec(repo_key(1), 1, REPO, reason, hints or {}), gh=gh,  # type: ignore[arg-type]
                     repo_full_name=REPO, bot_login=BOT, app_id=1, config=default_config(), config_error=None,
                     store=store, enqueue=lambda jobs: None, log=logging.getLogger("test"))
    jobs = discover_releases(ctx)
    return [int(j.key.split("@")[1]) for j in jobs if j.key.startswith("release:")]


def test_adoption_labels_and_ref_discovery() -> None:
    gh, store = FakeGitHub(), Store()
    v14 = gh.add_milestone("v1.4.0")
    v141 = gh.add_milestone("v1.4.1")
    gh.add_milestone("Backlog")
    old = gh.add_milestone("v1.3.0")
    gh.milestones[old]["state"] = "closed"
    assert discover(gh, store) == [v14, v141]  # adoption: open version milestones only
    assert {"release-tracking", "uat-passed", "release-approved", "hold", "released"} <= set(gh.labels)
    gh.calls.clear()
    assert discover(gh, store) == [] and gh.writes() == []
    assert len(gh.reads()) == 2  # tags + release branches, nothing else when nothing changed

    gh.tags += ["v1.4.0-rc.1", "v1.4.0-rc.2", "v1.4.0", "v1.3.0", "unrelated"]  # > 3 tags at once: no create events
    assert discover(gh, store) == [v14, old]  # a closed milestone's own tag still wakes it (publishing)
    gh.branches.append("release/1.4")
    assert discover(gh, store) == [v14]  # the lowest open milestone of the line
    gh.milestones[v14]["state"] = "closed"
    gh.branches.remove("release/1.4")
    assert discover(gh, store) == [v141]


def events(*names: str) -> dict[str, Any]:
    return {"release_events": list(names)}


def test_release_events_wake_only_the_releases_whose_stage_cares() -> None:
    gh, store = FakeGitHub(), Store()
    m = gh.add_milestone("v2.0.0")
    discover(gh, store)
    other = gh.add_milestone("v2.1.0")
    building = gh.add_milestone("v2.2.0")
    discover(gh, store, hints={"fan_out": True})
    store.set_state(stages_key(1), {str(m): "monitor", str(other): "deploy", str(building): "build_test"})
    gh.calls.clear()
    assert discover(gh, store, reason="issues.opened", hints=events("issues")) == [m]
    # From the stages map alone: no milestone listing, only the two ref listings of every repo: job.
    assert len(gh.reads()) == 2 and gh.writes() == []
    assert discover(gh, store, reason="deployment_status.created", hints=events("deployment_status")) == [m, other]
    assert discover(gh, store, reason="release.published", hints=events("release")) == [m, other]
    assert discover(gh, store, reason="push") == []
    # Coalesced jobs: the reason is the last event's, the hint keeps them all.
    assert discover(gh, store, reason="push", hints=events("issues", "deployment_status")) == [m, other]
    # An event name the discovery does not know wakes nothing.
    assert discover(gh, store, reason="push", hints=events("gollum")) == []
    # The reason alone (no hint) is not a release event: jobs enqueued before this hint existed
    # carried `fan_out` instead.
    assert discover(gh, store, reason="issues.opened") == []


def test_release_events_without_a_stages_map_wake_every_open_release() -> None:
    gh, store = FakeGitHub(), Store()
    m = gh.add_milestone("v2.0.0")
    discover(gh, store)
    other = gh.add_milestone("v2.1.0")
    assert store.get_state(stages_key(1)) is None  # no release reconciled yet: nothing to narrow by
    assert discover(gh, store, reason="issues.opened", hints=events("issues")) == [m, other]


def test_fan_out_hint_readopts() -> None:
    gh, store = FakeGitHub(), Store()
    m = gh.add_milestone("v2.0.0")
    discover(gh, store)
    assert discover(gh, store, hints={"fan_out": True}) == [m]
    assert release_key(1, m) == f"release:1@{m}"


def test_labels_are_checked_on_adoption_not_on_every_release_event() -> None:
    gh, store = FakeGitHub(), Store()
    m = gh.add_milestone("v2.0.0")
    discover(gh, store)
    store.set_state(stages_key(1), {str(m): "monitor"})
    gh.calls.clear()
    assert discover(gh, store, reason="issues.opened", hints=events("issues")) == [m]
    assert ("GET", f"/repos/{REPO}/labels") not in gh.calls
    gh.labels.remove("hold")  # deleted by someone: the next adoption puts it back
    assert discover(gh, store, reason="issues.labeled", hints=events("issues")) == [m]
    assert "hold" not in gh.labels
    # An adoption coalesced with a later event keeps `fan_out` but not its reason: still an adoption.
    assert discover(gh, store, reason="push", hints={"fan_out": True, **events("issues")}) == [m]
    assert "hold" in gh.labels
