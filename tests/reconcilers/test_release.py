"""The release reconciler against the sandbox (real REST calls): artifacts, idempotence, commands, budget.

Each test builds its own repository through GitHub's API (tests/world.py) as the people seeded in
the sandbox would, then calls the reconciler directly with a JobContext, the way a worker does, and
reads the outcome back from GitHub. This module runs a sandbox of its own: some tests move its clock
(a feedback issue opened before Monitor began, a release published on a chosen day), and the bot's
clock follows the sandbox's, so "today" is the same day on both sides.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from memory_store import MemoryStore as Store
from world import BOT, Repo, SandboxLog, World, ok, unique

from bot.config.defaults import default_config
from bot.core.release_record import decode_record_text
from bot.core.tracking import TrackingState
from bot.github import permissions
from bot.github.auth import GitHubApp
from bot.github.release_facts import comments_since
from bot.jobs import JobSpec, release_key
from bot.reconcilers import release
from bot.reconcilers.context import JobContext
from bot.reconcilers.release_apply import record_hint_key
from bot.sandbox.server import SandboxHandle


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """This module's own sandbox: its clock moves, which the session's must not."""
    from bot.sandbox.server import start_sandbox

    key = tmp_path_factory.mktemp("release-sandbox") / "app.pem"
    handle = start_sandbox(port=0, webhook_url=None, app_key_path=str(key))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def sandbox_app(sandbox: SandboxHandle) -> Iterator[GitHubApp]:
    from bot.github.pacer import PacerLimits

    app = GitHubApp(
        1, Path(sandbox.app_key_path).read_text(), base_url=sandbox.api_url, pacer_limits=PacerLimits(0, 0)
    )
    yield app
    app.close()


@pytest.fixture(scope="module")
def sandbox_log(sandbox: SandboxHandle) -> Iterator[SandboxLog]:
    log = SandboxLog(sandbox)
    yield log
    log.close()


@pytest.fixture
def sandbox_world(sandbox: SandboxHandle, sandbox_log: SandboxLog) -> Iterator[World]:
    world = World(sandbox, sandbox_log)
    yield world
    world.close()


class Release:
    """One fresh repository and what the release reconciler is given to run on it."""

    def __init__(self, builder: World, app: GitHubApp) -> None:
        self.builder = builder
        self.app = app
        self.repo: Repo = builder.repo(unique("rel"))
        self.full = self.repo.full_name

    @property
    def gh(self) -> Any:
        return self.app.client_for(1)

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock. The installation token minted before has expired by GitHub's
        clock: the App forgets it, as it does on a 401, and the next request mints one (learning
        GitHub's clock from the JWT's refusal, as against a host whose clock is off)."""
        self.builder.handle.state.advance_clock(seconds)
        self.app.forget_installation(1)

    # -- the world, built as people would ----------------------------------------------------
    def api(self, login: str = "admin") -> Any:
        return self.repo.api(login)

    def add_milestone(self, title: str, due_on: str | None = None) -> int:
        return self.repo.milestone(title, **({"due_on": due_on} if due_on else {}))

    def edit_milestone(self, number: int, **fields: Any) -> None:
        ok(self.api().patch(self.repo.path(f"/milestones/{number}"), json=fields))

    def add_issue(
        self,
        title: str,
        milestone: int | None = None,
        author: str = "dev",
        body: str = "",
        labels: list[str] | None = None,
    ) -> int:
        fields: dict[str, Any] = {"body": body}
        if milestone is not None:
            fields["milestone"] = milestone
        if labels:
            fields["labels"] = labels
        return self.repo.issue(title, login=author, **fields)

    def add_pull(
        self,
        title: str,
        milestone: int | None = None,
        author: str = "dev",
        base: str | None = None,
        merged: bool = False,
    ) -> int:
        topic = unique("topic")
        self.repo.branch(topic, from_=base, login=author)
        self.repo.commit(topic, author)
        number = self.repo.pull(topic, base or self.repo.default_branch, title, login=author)
        if milestone is not None:
            self.repo.set_milestone(number, milestone)
        if merged:
            ok(self.api().put(self.repo.path(f"/pulls/{number}/merge"), json={}))
        return number

    def branch(self, name: str) -> None:
        self.repo.branch(name)

    def tag(self, name: str, on: str | None = None) -> None:
        sha = self.repo.head(on or self.repo.default_branch)
        ok(self.api().post(self.repo.path("/git/refs"), json={"ref": f"refs/tags/{name}", "sha": sha}))

    def comment(self, issue: int, author: str, body: str) -> int:
        return self.repo.comment(issue, author, body)

    def edit_comment(self, comment_id: int, body: str, login: str = "admin") -> None:
        """An edit moves the comment's ``updated_at`` (a ``since`` listing finds it again)."""
        ok(self.api(login).patch(self.repo.path(f"/issues/comments/{comment_id}"), json={"body": body}))

    def deploy(self, ref: str, environment: str, status: str) -> None:
        deployment = ok(
            self.api().post(
                self.repo.path("/deployments"),
                json={"ref": ref, "environment": environment, "required_contexts": [], "auto_merge": False},
            )
        )
        ok(
            self.api().post(
                self.repo.path(f"/deployments/{deployment['id']}/statuses"), json={"state": status}
            )
        )

    def publish(self, tag: str) -> dict[str, Any]:
        return ok(self.api().post(self.repo.path("/releases"), json={"tag_name": tag, "draft": False}))

    def fail_once(self, method: str, path_regex: str, status: int) -> None:
        ok(
            self.builder.admin_api.post(
                "/faults", json={"method": method, "path": path_regex, "status": status}
            )
        )

    # -- what GitHub shows -----------------------------------------------------------------
    def issue(self, number: int) -> dict[str, Any]:
        return self.repo.get(f"/issues/{number}")

    def tracking(self) -> dict[str, Any]:
        issues = self.repo.get("/issues", creator=BOT, state="all", per_page=100)
        (issue,) = [i for i in issues if not i.get("pull_request")]
        return issue

    def tracking_issues(self) -> list[dict[str, Any]]:
        return [
            i
            for i in self.repo.get("/issues", creator=BOT, state="all", per_page=100)
            if not i.get("pull_request")
        ]

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(1, 100):
            batch = self.repo.get(f"/issues/{number}/comments", per_page=100, page=page)
            out.extend(batch)
            if len(batch) < 100:
                return out
        raise AssertionError("too many comments")

    def stage_comments(self) -> list[str]:
        out = []
        for c in self.comments_on(self.tracking()["number"]):
            m = re.search(r"release-bot:stage:\d+:(\w+)", c["body"])
            if m and c["user"]["login"] == BOT:
                out.append(m.group(1))
        return out

    def reactions(self, comment_id: int) -> set[tuple[str, str]]:
        return {
            (r["content"], r["user"]["login"])
            for r in self.repo.get(f"/issues/comments/{comment_id}/reactions", per_page=100)
        }

    def record_state(self, milestone: int, store: Store) -> dict[str, Any]:
        """The state in the release record the App wrote for ``milestone`` (its check run)."""
        run_id = store.get_state(record_hint_key(self.repo.id, milestone))
        run = self.repo.get(f"/check-runs/{run_id}")
        assert run["app"]["id"] == 1 and run["external_id"] == f"release-record:{milestone}"
        return decode_record_text(run["output"].get("text"))

    # -- the bot's requests ------------------------------------------------------------------
    def seq(self) -> int:
        return self.builder.log.seq()

    def requests(self, since: int) -> list[tuple[str, str]]:
        return [(r["method"], r["path"].split("?")[0]) for r in self.builder.log.since(since, actor=BOT)]

    def writes(self, since: int) -> list[tuple[str, str]]:
        return [r for r in self.requests(since) if r[0] != "GET"]

    def reads(self, since: int) -> list[tuple[str, str]]:
        return [r for r in self.requests(since) if r[0] == "GET"]

    # -- the reconciler ----------------------------------------------------------------------
    def run(
        self,
        milestone: int,
        config: dict[str, Any] | None = None,
        store: Store | None = None,
        config_error: str | None = None,
        gh: Any = None,
        schedule: Callable[[JobSpec, float], Any] | None = None,
    ) -> list[JobSpec]:
        enqueued: list[JobSpec] = []
        ctx = JobContext(
            job=JobSpec(release_key(self.repo.id, milestone), 1, self.full, "test"),
            gh=gh or self.gh,
            repo_full_name=self.full,
            bot_login=BOT,
            app_id=1,
            config=config or default_config(),
            config_error=config_error,
            store=store if store is not None else self.store,
            enqueue=enqueued.extend,
            log=logging.getLogger("test"),
            schedule=schedule,
        )
        release.reconcile(ctx)
        return enqueued

    def settle(self, milestone: int, **kw: Any) -> None:
        """Run until a run makes no write, asserting it converges fast."""
        for _ in range(4):
            before = self.seq()
            self.run(milestone, **kw)
            if not self.writes(before):
                return
        raise AssertionError("reconcile does not converge")

    def tick_all(self, stage: str) -> None:
        for c in self.comments_on(self.tracking()["number"]):
            if f":{stage} -->" in c["body"]:
                self.edit_comment(c["id"], c["body"].replace("- [ ]", "- [x]"))


class Wrapped:
    """The installation client with its requester's answers rewritten (a listing that lags, a spy)."""

    def __init__(self, gh: Any, rewrite: Callable[..., Any]) -> None:
        self._gh = gh
        real = gh.requester

        class Requester:
            base_url = real.base_url

            def requestJsonAndCheck(
                self,
                verb: str,
                url: str,
                parameters: Any = None,  # noqa: N802
                headers: Any = None,
                input: Any = None,
            ) -> Any:  # noqa: A002
                out = real.requestJsonAndCheck(verb, url, parameters=parameters, headers=headers, input=input)
                return rewrite(verb, url, parameters, out)

        self.requester = Requester()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gh, name)


@pytest.fixture(autouse=True)
def no_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The notes reconciler has its own tests; here only the life cycle is under test.
    monkeypatch.setattr(release.ReleaseRun, "_sync_notes", lambda self: None)


@pytest.fixture(autouse=True)
def bot_clock_follows_the_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxHandle) -> None:
    monkeypatch.setattr(release, "utc_now", lambda: sandbox.state.now())


@pytest.fixture
def world(sandbox_world: World, sandbox_app: GitHubApp) -> Release:
    permissions.clear_caches()
    rel = Release(sandbox_world, sandbox_app)
    rel.store = Store()
    return rel


def test_full_life_cycle(world: Release, sandbox: SandboxHandle) -> None:
    w = world
    m = w.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    nxt = w.add_milestone("v1.5.0")
    hotfix = w.add_milestone("v1.4.1")
    w.add_pull("Feature A", m, merged=True, author="dev")
    w.add_issue("Bug B", m)
    idea = w.add_issue("Idea", m)

    w.settle(m)
    issue = w.tracking()
    assert issue["title"] == "Release v1.4.0" and issue["milestone"]["number"] == m
    assert "release-tracking" in {label["name"] for label in issue["labels"]}
    assert w.stage_comments() == ["identify_needs", "plan"]
    assert "| Plan Release | ▶️ current |" in issue["body"]
    assert "- Issues: 2 open, 0 closed" in issue["body"]  # the tracking issue is not counted

    # Nothing changed: no write at all, and reads within the budget.
    before = w.seq()
    w.run(m)
    assert w.writes(before) == []
    n_items = 4
    assert len(w.reads(before)) <= math.ceil(n_items / 100) + 8

    w.branch("release/1.4")
    late_pr = w.add_pull("Late PR", m, base="release/1.4")
    w.tag("v1.4.0-rc.1", on="release/1.4")
    w.settle(m)
    assert w.stage_comments() == ["identify_needs", "plan", "build_test", "uat"]

    # Commands: refused for a developer, failed then new candidate, passed by QA.
    number = w.tracking()["number"]
    refused = w.comment(number, "outsider", "/uat passed")
    failed = w.comment(number, "qa", "looks bad\n/uat failed login broken")
    w.settle(m)
    replies = [c["body"] for c in w.comments_on(number) if f"release-bot:reply:{refused}" in c["body"]]
    assert len(replies) == 1 and "is for QA" in replies[0] and "write permission" in replies[0]
    assert ("+1", BOT) in w.reactions(failed) and w.reactions(refused) == set()
    assert "failed on rc.1" in w.tracking()["body"]
    w.tag("v1.4.0-rc.2", on="release/1.4")
    w.settle(m)
    assert "| UAT | ▶️ current |" in w.tracking()["body"]
    w.comment(number, "qa", "/uat passed")
    w.settle(m)
    assert "| Prepare | ▶️ current |" in w.tracking()["body"]
    assert "passed on rc.2" in w.tracking()["body"]
    # Redelivering everything (new runs, nothing new): no duplicate reply, reaction or comment.
    before = w.seq()
    w.settle(m)
    assert w.writes(before) == []

    w.tag("v1.4.0", on="release/1.4")
    w.settle(m)
    assert w.stage_comments()[-1] == "deploy"
    w.tick_all("deploy")
    w.settle(m)
    body = w.tracking()["body"]
    # Ticks show as progress but move no stage: GitHub does not say who ticked a box.
    assert "| Deploy | ▶️ current |" in body and " 4/4 |" in body
    # An issue opened before Monitor begins is no feedback, even when it changes later.
    old = w.add_issue("Old regression", None, labels=["regression"])
    w.advance(2 * 86400)  # Monitor begins two days later
    w.comment(number, "releaser", "/stage monitor")
    w.settle(m)
    body = w.tracking()["body"]
    assert "| Monitor | ▶️ current |" in body and "| Deploy | ✅ done |" in body and " 4/4 |" in body

    # Feedback while in Monitor.
    ok(w.api().patch(w.repo.path(f"/issues/{old}"), json={"body": "still slow"}))
    fb = w.add_issue("Crash since v1.4.0.", None)
    w.add_issue("Crash in 1.4.01", None)
    w.add_issue("Crash in 11.4.0", None)
    reg = w.add_issue("Slow page", None, labels=["regression"])
    w.settle(m)
    assert TrackingState.from_json(w.record_state(m, w.store)).feedback == (fb, reg)
    assert f"- #{fb}\n- #{reg}" in w.tracking()["body"]

    # Close: retrospective once, carry-over by release line and semver order.
    w.edit_milestone(m, state="closed")
    w.settle(m)
    retro = [c["body"] for c in w.comments_on(number) if "release-bot:retro:" in c["body"]]
    assert len(retro) == 1
    assert "| Merged pull requests | 1 |" in retro[0] and "| Slipped items | 3 |" in retro[0]
    assert w.issue(late_pr)["milestone"]["number"] == hotfix
    assert w.issue(idea)["milestone"]["number"] == hotfix  # next version in semver order is 1.4.1
    assert w.issue(number)["milestone"]["number"] == m  # the tracking issue is never carried over
    assert w.stage_comments()[-1] == "future_planning"
    assert w.issue(number)["state"] == "open"
    w.tick_all("future_planning")
    w.settle(m)
    assert w.issue(number)["state"] == "closed"
    assert nxt  # v1.5.0 stays untouched by line carry-over


def test_adoption_from_empty_store_changes_nothing(world: Release) -> None:
    w = world
    m = w.add_milestone("v2.0.0", due_on="2026-12-01T08:00:00Z")
    w.branch("release/2.0")
    w.settle(m)
    assert w.stage_comments() == ["identify_needs", "plan", "build_test"]
    before = w.seq()
    w.run(m, store=Store())  # wiped store
    assert w.writes(before) == []


def test_adopted_patch_release_starts_at_build_and_test(world: Release) -> None:
    w = world
    m = w.add_milestone("v1.4.1")
    w.branch("release/1.4")
    w.settle(m)
    body = w.tracking()["body"]
    assert "| Plan Release | ⏭️ skipped |" in body and "| Build & Test | ▶️ current |" in body
    assert w.stage_comments() == ["identify_needs", "build_test"]


def test_stage_command_permissions_and_help(world: Release) -> None:
    w = world
    m = w.add_milestone("v3.0.0")
    w.settle(m)
    number = w.tracking()["number"]
    dev = w.comment(number, "dev", "/stage plan")
    rm = w.comment(number, "releaser", "<!-- /stage deploy -->\n/stage plan")
    helped = w.comment(number, "outsider", "/help")
    w.settle(m)
    bodies = {c["body"].split("\n")[0]: c["body"] for c in w.comments_on(number)}
    assert "is for release managers" in bodies[f"<!-- release-bot:reply:{dev} -->"]
    assert "/uat passed" in bodies[f"<!-- release-bot:reply:{helped} -->"]
    assert ("+1", BOT) in w.reactions(rm)
    assert "| Plan Release | ▶️ current |" in w.tracking()["body"]  # not deploy: HTML comments ignored
    back = w.comment(number, "releaser", "/stage identify")
    w.settle(m)
    assert any("never move backwards" in c["body"] for c in w.comments_on(number) if str(back) in c["body"])


def strict() -> dict[str, Any]:
    config = default_config()
    config["releases"]["mode"] = "strict"
    return config


def test_strict_mode_holds_and_says_so(world: Release) -> None:
    w = world
    m = w.add_milestone("v1.0.0")
    w.settle(m, config=strict())
    w.edit_milestone(m, due_on="2026-12-01T08:00:00Z")
    w.settle(m, config=strict())
    body = w.tracking()["body"]
    assert "| Identify Needs | ▶️ current |" in body and "Strict mode" in body
    w.tick_all("identify_needs")
    w.settle(m, config=strict())
    assert "| Plan Release | ▶️ current |" in w.tracking()["body"]


def test_rename_duplicate_config_error_and_delete(world: Release) -> None:
    w = world
    m = w.add_milestone("v1.0.0")
    w.settle(m, config_error="line 3: releases.mode: 'fast' is not one of ['agile', 'strict']")
    assert "Configuration error" in w.tracking()["body"]
    w.edit_milestone(m, title="v1.1.0")
    w.settle(m)
    assert w.tracking()["title"] == "Release v1.1.0" and "Configuration error" not in w.tracking()["body"]
    dup = w.add_milestone("1.1.0")
    woken = w.run(m)
    assert "Several open milestones name version 1.1.0" in w.tracking()["body"]
    assert [j.key for j in woken] == [release_key(w.repo.id, dup)]
    assert w.run(m) == []  # nothing written: nobody woken again
    number = w.tracking()["number"]
    ok(w.api().delete(w.repo.path(f"/milestones/{m}")))  # GitHub takes the milestone off its items
    w.settle(m)
    assert w.issue(number)["state"] == "closed"
    assert sum("release-bot:closed:" in c["body"] for c in w.comments_on(number)) == 1


def test_closed_milestone_without_tracking_issue_is_left_alone(world: Release) -> None:
    w = world
    m = w.add_milestone("v0.9.0")
    w.edit_milestone(m, state="closed")
    before = w.seq()
    w.run(m)
    assert w.writes(before) == [] and w.tracking_issues() == []


def test_non_version_milestone_is_ignored(world: Release) -> None:
    w = world
    m = w.add_milestone("Backlog")
    before = w.seq()
    w.run(m)
    assert w.writes(before) == []


def test_gate_audit_is_copied_into_the_body_and_outlives_the_store(world: Release) -> None:
    from bot.reconcilers.audit import AUDIT_STATE_PREFIX

    w, store = world, Store()
    repo = w.full
    m = w.add_milestone("v1.4.0")
    w.branch("release/1.4")
    store.set_state(
        f"{AUDIT_STATE_PREFIX}{repo}",
        [
            {
                "kind": "bypass_merge",
                "repo": repo,
                "branch": "release/1.4",
                "sha": "f" * 40,
                "number": 12,
                "by": "admin",
            },
            {
                "kind": "direct_push",
                "repo": repo,
                "branch": "release/1.4",
                "sha": "e" * 40,
                "number": None,
                "by": "admin",
            },
            {
                "kind": "direct_push",
                "repo": repo,
                "branch": "release/1.3",
                "sha": "d" * 40,
                "number": None,
                "by": "admin",
            },
        ],
    )
    w.settle(m, store=store)
    assert TrackingState.from_json(w.record_state(m, store)).past_gate == ("#12", "e" * 40)
    before = w.seq()
    w.run(m, store=Store())  # wiped store: the record stays in the body
    assert w.writes(before) == []


def test_production_deployment_of_the_final_tag_starts_monitor(world: Release) -> None:
    w = world
    m = w.add_milestone("v1.4.0")
    w.tag("v1.4.0")
    w.settle(m)
    assert "| Deploy | ▶️ current |" in w.tracking()["body"]
    w.deploy("v1.4.0", "staging", "success")
    w.deploy("v1.4.0", "production", "failure")
    w.settle(m)
    assert "| Deploy | ▶️ current |" in w.tracking()["body"]
    w.deploy("v1.4.0", "production", "success")
    w.settle(m)
    assert "| Monitor | ▶️ current |" in w.tracking()["body"]
    before = w.seq()
    w.run(m)
    assert not any("/deployments" in path for _, path in w.requests(before))  # no longer read once in Monitor


def test_strict_mode_withholds_publishing_until_deploy(
    world: Release, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(
        release.ReleaseRun, "_sync_notes", lambda self: seen.append(self.plan.publish_allowed)
    )
    w = world
    m = w.add_milestone("v1.4.0")
    w.settle(m, config=strict())
    w.tag("v1.4.0")
    w.settle(m, config=strict())
    assert seen[-1] is False and "Strict mode" in w.tracking()["body"]
    for stage in ("identify_needs",):
        w.tick_all(stage)
    w.settle(m, config=strict())
    assert "| Deploy | ▶️ current |" in w.tracking()["body"] and seen[-1] is True


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(release, "utc_now", lambda: moment)


def day(moment: datetime, days: int = 0) -> str:
    return (moment + timedelta(days=days)).date().isoformat()


def due_on(date: str) -> str:
    """GitHub's ``due_on`` for a calendar day (that day's midnight in America/Los_Angeles, in UTC)."""
    return f"{date}T08:00:00Z"


def test_late_or_on_time_is_decided_by_the_published_release(
    world: Release, sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    shipped = sandbox.state.now().astimezone(UTC) + timedelta(days=3)
    shipped = shipped.replace(hour=23, minute=30, second=0, microsecond=0)  # published late in the UTC day
    due = day(shipped, -2)
    at(monkeypatch, shipped - timedelta(days=7))
    m = w.add_milestone("v1.4.0", due_on=due_on(due))
    w.settle(m)
    assert f"{due} (America/Los_Angeles) · not shipped yet" in w.tracking()["body"]
    w.tag("v1.4.0")
    w.advance((shipped - sandbox.state.now().astimezone(UTC)).total_seconds())
    published = w.publish("v1.4.0")["published_at"]
    assert published.startswith(f"{day(shipped)}T23:30:")
    w.settle(m)
    assert f"shipped late by 2 days ({day(shipped)}, UTC)" in w.tracking()["body"]
    config = default_config()
    config["releases"]["timezone"] = "Asia/Tokyo"  # 23:30 UTC is the next day in Tokyo
    w.settle(m, config=config)
    assert (
        f"{due} (America/Los_Angeles) · shipped late by 3 days ({day(shipped, 1)}, Asia/Tokyo)"
        in w.tracking()["body"]
    )


def test_crash_before_the_body_is_recorded_repeats_nothing_visible(world: Release) -> None:
    from github import GithubException

    w = world
    m = w.add_milestone("v1.4.0")
    w.branch("release/1.4")
    w.tag("v1.4.0-rc.1", on="release/1.4")
    w.settle(m)
    number = w.tracking()["number"]
    mixed = w.comment(number, "qa", "/uat passed\n/stage nowhere")
    # The body update fails after the answers (a status the retry policy does not retry).
    w.fail_once("PATCH", rf"^/repos/{re.escape(w.full)}/issues/{number}$", 422)
    with pytest.raises(GithubException):
        w.run(m)
    w.settle(m)
    replies = [c for c in w.comments_on(number) if f"release-bot:reply:{mixed}" in c["body"]]
    assert len(replies) == 1 and "is for release managers" in replies[0]["body"]
    assert "| Prepare | ▶️ current |" in w.tracking()["body"]  # the accepted half took effect
    assert w.stage_comments().count("prepare") == 1


def test_lagging_listings_do_not_duplicate_the_tracking_issue_or_stage_comments(world: Release) -> None:
    w, store = world, Store()
    m = w.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    w.settle(m, store=store)
    issue = w.tracking()

    # GitHub's listings lag a write: the tracking issue is missing from both issue listings...
    def lagging(verb: str, url: str, parameters: Any, out: Any) -> Any:
        headers, data = out
        path = url.split("?")[0]
        if verb == "GET" and path.endswith("/issues"):
            data = [i for i in data if i["number"] != issue["number"]]
        if verb == "GET" and path.endswith(f"/issues/{issue['number']}/comments"):
            data = []  # ...and its comments listing is empty
        return headers, data

    w.run(m, store=store, gh=Wrapped(w.gh, lagging))
    assert len(w.tracking_issues()) == 1
    assert w.stage_comments() == ["identify_needs", "plan"]


def test_config_error_warning_names_file_and_line_and_neutralizes_values() -> None:
    error = (
        "acme/rocket:.github/release-bot.yml:3: releases.mode: '<b>@all</b>'"
        " is not one of 'agile', 'strict'\n"
        "acme/.github:.github/release-bot.yml:12: gate.hold_label: 5 is not of type 'string'"
    )
    text = release.config_error_warning(error, last_valid_in_use=True)
    assert "`acme/rocket:.github/release-bot.yml` line 3: releases.mode:" in text
    assert "`acme/.github:.github/release-bot.yml` line 12: gate.hold_label" in text
    assert "the last valid configuration is in use" in text
    assert "<b>" not in text and "@all" not in text  # user text: no HTML, no pings
    unparsable = release.config_error_warning(".github/release-bot.yml: (top level): not a mapping", False)
    assert "defaults are in use" in unparsable and "not a mapping" in unparsable
    many = "\n".join(f"o/r:.github/release-bot.yml:{n}: x: bad" for n in range(1, 15))
    assert "and 4 more" in release.config_error_warning(many, True)


def test_steady_reconcile_lists_only_comments_changed_since_the_last_read(
    world: Release, sandbox: SandboxHandle
) -> None:
    w = world
    m = w.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    w.settle(m)
    number = w.tracking()["number"]
    ids = []
    for i in range(250):
        ids.append(w.comment(number, "dev", f"discussion {i}"))
        w.advance(60)  # a comment a minute: only the newest is inside the listing's margin
    w.settle(m)
    state = TrackingState.from_json(w.record_state(m, w.store))
    assert set(state.checklists) == {"identify_needs", "plan"} and state.comments_seen
    assert state.comment_watermark == max(ids)

    listed: list[tuple[dict[str, Any], int]] = []

    def spy(verb: str, url: str, parameters: Any, out: Any) -> Any:
        if verb == "GET" and url.split("?")[0].endswith(f"/issues/{number}/comments"):
            listed.append((dict(parameters or {}), len(out[1])))
        return out

    spied = Wrapped(w.gh, spy)
    before = w.seq()
    w.run(m, gh=spied)
    assert w.writes(before) == []
    # One page instead of three: only the newest comment (within the lag margin of the mark) again.
    assert len(listed) == 1 and listed[0][1] == 1, listed
    assert listed[0][0]["since"] == comments_since(state.comments_seen) < state.comments_seen

    # A tick edits the stage comment: listed again, progress moves; the other record is kept.
    (plan,) = [c for c in w.comments_on(number) if ":plan -->" in c["body"]]
    w.edit_comment(plan["id"], plan["body"].replace("- [ ]", "- [x]", 1))
    listed.clear()
    w.run(m, gh=spied)
    assert listed[0][1] == 2  # the edited stage comment, and the newest one again (margin)
    body = w.tracking()["body"]
    assert re.search(r"\| Plan Release \| ▶️ current \| [-\d]+ \| 1/\d \|", body), body
    new_state = TrackingState.from_json(w.record_state(m, w.store))
    assert new_state.checklists["plan"].progress.ticked == 1
    assert new_state.checklists["identify_needs"] == state.checklists["identify_needs"]
    # A new command after that is still read (its comment is newer than the mark).
    cmd = w.comment(number, "releaser", "/stage build")
    w.settle(m)
    assert ("+1", BOT) in w.reactions(cmd)
    assert "build_test" in w.stage_comments()


def test_a_due_date_passed_unshipped_is_recorded_late_once_and_rendered_from_the_record(
    world: Release,
    sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = world
    base = sandbox.state.now().astimezone(UTC)
    due = day(base, 10)
    at(monkeypatch, datetime.fromisoformat(f"{due}T23:00:00+00:00"))  # the due date itself: still on time
    m = w.add_milestone("v1.4.0", due_on=due_on(due))
    w.settle(m)
    assert f"{due} (America/Los_Angeles) · not shipped yet" in w.tracking()["body"]
    config = default_config()
    config["releases"]["timezone"] = "Asia/Tokyo"  # already the next day there: late
    w.settle(m, config=config)
    body = w.tracking()["body"]
    assert f"{due} (America/Los_Angeles) · late: not shipped by the due date" in body
    assert w.record_state(m, w.store)["overdue"] == due and "overdue" not in body
    # Rendered from the record: steady runs (even with the clock back) write nothing.
    at(monkeypatch, base - timedelta(days=30))
    before = w.seq()
    w.settle(m, config=config)
    assert w.writes(before) == [] and "late: not shipped" in w.tracking()["body"]
    # Moving the due date clears the verdict; shipping decides on time or late by the ship date.
    later = day(base, 40)
    w.edit_milestone(m, due_on=due_on(later))
    w.settle(m, config=config)
    assert f"{later} (America/Los_Angeles) · not shipped yet" in w.tracking()["body"]
    w.tag("v1.4.0")
    published = datetime.fromisoformat(w.publish("v1.4.0")["published_at"].replace("Z", "+00:00"))
    w.settle(m, config=config)
    from zoneinfo import ZoneInfo

    shipped = published.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
    assert f"{later} (America/Los_Angeles) · shipped on time ({shipped}, Asia/Tokyo)" in w.tracking()["body"]


def test_a_release_asks_to_be_woken_when_its_facts_change_by_time(
    world: Release, sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's next moment reaches the queue as a timed wake-up of the same key, measured from the
    clock the plan read: the freeze's first day first, then the day after the due date; none once late."""
    import time

    w = world
    now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    at(monkeypatch, now)
    config = default_config()
    config["releases"]["freeze"] = {"starts": {"days_before_due": 3}}
    m = w.add_milestone("v1.4.0", due_on=due_on("2026-12-05"))
    asked: list[tuple[JobSpec, float]] = []

    def schedule(spec: JobSpec, when: float) -> str:
        asked.append((spec, when))
        return "scheduled"

    before = time.time()
    w.run(m, config=config, schedule=schedule)
    after = time.time()
    (spec, when), *_ = asked
    assert spec.key == release_key(w.repo.id, m) and spec.repo == w.full and spec.installation_id == 1
    to_freeze = (datetime(2026, 12, 2, tzinfo=UTC) - now).total_seconds()  # 3 days before, 00:00 UTC
    assert before + to_freeze - 1 <= when <= after + to_freeze + 1
    assert all(abs(w_ - when) < 5 for _, w_ in asked)  # every run of the plan asks for the same moment

    asked.clear()
    at(monkeypatch, datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC))  # woken: the freeze is on
    w.run(m, config=config, schedule=schedule)
    assert "frozen since 2026-12-02" in w.tracking()["body"]
    (_, when), *_ = asked
    to_late = (datetime(2026, 12, 6, tzinfo=UTC) - release.utc_now()).total_seconds()
    assert abs(when - (time.time() + to_late)) < 5

    asked.clear()
    at(monkeypatch, datetime(2026, 12, 6, 0, 0, 1, tzinfo=UTC))  # woken again: late, nothing ahead
    w.run(m, config=config, schedule=schedule)
    assert "late: not shipped by the due date" in w.tracking()["body"]
    assert asked == []
