"""``run_job``: the context it builds, the API-call count it reports, and GitHub errors mapped at
the job boundary.

Against the session's sandbox (tests/world.py), each test in an organization of its own. The
error-mapping tests answer one request with ``responses`` (GitHub's exact error bodies), every
other request passes through to the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import responses
from github.GithubException import UnknownObjectException
from memory_store import MemoryStore as Store
from world import Repo, World, unique

from bot.errors import PermanentError, RetryLater
from bot.github.auth import GitHubApp
from bot.github.pacer import PacerLimits
from bot.jobs import JobSpec, pr_key, repo_key
from bot.reconcilers import dispatch
from bot.reconcilers.context import JobContext
from bot.sandbox import server as sandbox_server
from bot.services import Services

RB = ".github/release-bot.yml"


@dataclass
class Rocket:
    repo: Repo
    installation_id: int
    api_url: str

    def __post_init__(self) -> None:
        self.job = JobSpec(
            pr_key(self.repo.id, 7), self.installation_id, self.repo.full_name, reason="pull_request.labeled"
        )

    @property
    def pull_url(self) -> str:
        return f"{self.api_url}/repos/{self.repo.full_name}/pulls/7"


@pytest.fixture
def rocket(sandbox: object, sandbox_world: World) -> Rocket:
    repo = sandbox_world.repo("rocket", owner=unique("org"))
    return Rocket(repo, sandbox_world.installation_id(repo.full_name), sandbox.api_url)  # type: ignore[attr-defined]


@pytest.fixture
def services(sandbox: object) -> Iterator[Services]:
    """Fresh services: a new App client (its bot login read again), empty caches and store."""
    key = Path(sandbox.app_key_path).read_text()  # type: ignore[attr-defined]
    app = GitHubApp(1, key, base_url=sandbox.api_url, pacer_limits=PacerLimits(0, 0), sleep=lambda s: None)  # type: ignore[attr-defined]
    yield Services(app, Store())
    app.close()


@pytest.fixture
def github_answers(sandbox: object) -> Iterator[responses.RequestsMock]:
    """Answers registered here replace the sandbox's; everything else reaches the sandbox."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add_passthru(sandbox.base_url)  # type: ignore[attr-defined]
        yield mock


@pytest.fixture
def run_with(monkeypatch):
    def install(reconciler):
        monkeypatch.setattr(dispatch, "reconciler_for", lambda key: reconciler)

    return install


def test_context_and_report(services, rocket, run_with, sandbox_world):
    rocket.repo.file(RB, "gate:\n  hold_label: wait\n")
    seen: list[JobContext] = []

    def reconcile(ctx: JobContext) -> None:
        seen.append(ctx)
        ctx.gh.get_repo(rocket.repo.full_name)
        ctx.enqueue([JobSpec(repo_key(42), 5, rocket.repo.full_name)])

    run_with(reconcile)
    before = sandbox_world.log.seq()
    report = dispatch.run_job(rocket.job, services)
    ctx = seen[0]
    assert ctx.bot_login == "release-bot[bot]" and ctx.app_id == 1
    assert ctx.repo_full_name == rocket.repo.full_name and ctx.job is rocket.job
    assert ctx.config["gate"]["hold_label"] == "wait" and ctx.config_error is None and ctx.config_valid
    assert ctx.config["_sources"] == {"release_yml": None, "release_drafter_yml": None}
    assert ctx.store is services.store and ctx.services is services
    assert [j.key for j in services.store.enqueued] == ["repo:42"]
    # token, GET /app, the .github listing + the one config file it shows (no org fallback),
    # the reconciler's read
    assert report.api_calls == 5 == len(sandbox_world.log.since(before))
    assert report.outcome == "ok" and report.key == rocket.job.key

    second = dispatch.run_job(rocket.job, services)  # token, bot login and config cached
    assert second.api_calls == 1


def test_invalid_config_reported_not_raised(services, rocket, run_with):
    rocket.repo.file(RB, "gate:\n  require_milestone: sometimes\n")
    seen: list[JobContext] = []
    run_with(seen.append)
    report = dispatch.run_job(rocket.job, services)
    assert ":2: gate.require_milestone" in report.config_error
    assert seen[0].config_valid is False and report.config_valid is False


@pytest.mark.parametrize(
    ("status", "message", "headers", "expected"),
    [
        (403, "Resource not accessible by integration", {}, PermanentError),
        (404, "Not Found", {}, PermanentError),
        (410, "Gone", {}, PermanentError),
        (
            403,
            "API rate limit exceeded for installation.",
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2000000000"},
            RetryLater,
        ),
    ],
)
def test_github_errors_mapped(services, rocket, run_with, github_answers, status, message, headers, expected):
    github_answers.get(rocket.pull_url, json={"message": message}, status=status, headers=headers)
    path = f"/repos/{rocket.repo.full_name}/pulls/7"
    run_with(lambda ctx: ctx.gh.requester.requestJsonAndCheck("GET", path))
    with pytest.raises(expected) as info:
        dispatch.run_job(rocket.job, services)
    assert info.value.api_calls >= 1
    if expected is RetryLater:
        assert info.value.not_before == 2000000001


def test_transient_errors_stay_transient(services, rocket, run_with, github_answers):
    github_answers.get(rocket.pull_url, json={"message": "Server Error"}, status=500)
    path = f"/repos/{rocket.repo.full_name}/pulls/7"
    run_with(lambda ctx: ctx.gh.requester.requestJsonAndCheck("GET", path))
    with pytest.raises(Exception) as info:
        dispatch.run_job(rocket.job, services)
    assert not isinstance(info.value, (PermanentError, RetryLater))
    assert getattr(info.value, "status", None) == 500


def test_reconciler_may_catch_expected_404(services, rocket, run_with):
    def reconcile(ctx: JobContext) -> None:
        try:  # the sandbox's own 404: the repository has no pull request 7
            ctx.gh.requester.requestJsonAndCheck("GET", f"/repos/{rocket.repo.full_name}/pulls/7")
        except UnknownObjectException:
            return  # the pull request vanished: nothing to gate

    run_with(reconcile)
    assert dispatch.run_job(rocket.job, services).outcome == "ok"


def test_suspended_installation_is_permanent_and_forgotten(services, rocket, run_with, sandbox_world):
    # the sandbox refuses a suspended installation's token: 403 "This installation has been suspended"
    sandbox_world.admin_api.post(f"/installations/{rocket.installation_id}/suspend").raise_for_status()
    run_with(lambda ctx: None)
    with pytest.raises(PermanentError, match="suspended"):
        dispatch.run_job(rocket.job, services)
    assert rocket.installation_id not in services.app.cached_installations()


def test_revoked_token_drops_the_client(services, rocket, run_with, github_answers):
    github_answers.get(rocket.pull_url, json={"message": "Bad credentials"}, status=401)
    path = f"/repos/{rocket.repo.full_name}/pulls/7"
    run_with(lambda ctx: ctx.gh.requester.requestJsonAndCheck("GET", path))
    with pytest.raises(Exception) as info:
        dispatch.run_job(rocket.job, services)
    assert not isinstance(info.value, PermanentError)
    assert rocket.installation_id not in services.app.cached_installations()


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (JobSpec("pr:42#7", None, "acme/rocket"), "no installation id"),
        (JobSpec("pr:42#7", 5, None), "no repository"),
        (JobSpec("branch:42", 5, "acme/rocket"), "malformed job key"),
    ],
)
def test_unusable_jobs_are_permanent(services, job, message):
    with pytest.raises(PermanentError, match=message):
        dispatch.run_job(job, services)


def test_forget_installation(services, rocket):
    client = services.client_for(rocket.installation_id)
    services.forget_installation(rocket.installation_id)
    assert services.client_for(rocket.installation_id) is not client


def test_report_duration(services, rocket, run_with):
    run_with(lambda ctx: time.sleep(0.01))
    assert dispatch.run_job(rocket.job, services).duration_seconds >= 0.01


def test_run_job_against_the_sandbox(tmp_path, sandbox, sandbox_world):
    """Services built from settings, the real SQLite store, a repo fan-out read from the sandbox."""
    from bot.queue.base import open_queue
    from bot.settings import Settings

    repo = sandbox_world.repo("rocket", owner=unique("org"))
    milestone = repo.milestone("v1.4.0")
    settings = Settings(
        app_id=1, private_key_path=sandbox.app_key_path, github_api_url=sandbox.api_url, sandbox=True
    )
    queue = open_queue(f"sqlite:///{tmp_path / 'bot.db'}")
    services = Services.from_settings(settings, queue)
    try:
        job = JobSpec(
            repo_key(repo.id),
            sandbox_world.installation_id(repo.full_name),
            repo.full_name,
            "reconcile",
            {"fan_out": True},
        )
        report = dispatch.run_job(job, services)
        waiting = [j.key for j in queue.list_jobs()]
    finally:
        services.close()
        queue.close()
    assert f"release:{repo.id}@{milestone}" in waiting
    assert report.api_calls >= 5 and report.config_valid


def test_expired_token_recovers_on_the_next_attempt(tmp_path):
    """The sandbox's clock jumps past the token's hour: the refused request (401) is sent again with
    a fresh token — minted with a JWT signed on the server's clock, learnt from the Date header of
    the refusal — so the job succeeds without a failed attempt. (A sandbox of its own: it moves
    the clock.)"""
    import httpx

    from bot.settings import Settings

    key_path = tmp_path / "app.pem"
    with sandbox_server.start_sandbox(port=0, app_key_path=key_path) as sandbox:
        settings = Settings(
            app_id=1, private_key_path=str(key_path), github_api_url=sandbox.api_url, sandbox=True
        )
        services = Services.from_settings(settings, Store())
        job = JobSpec(pr_key(1, 1), 1, "acme/rocket")

        def reconcile(ctx: JobContext) -> None:
            # Not the repository itself: the read cache would serve that from its freshness window
            # (bot.github.freshness) without asking; an issue list is always revalidated.
            ctx.gh.requester.requestJsonAndCheck("GET", "/repos/acme/rocket/issues")

        original = dispatch.reconciler_for
        dispatch.reconciler_for = lambda key: reconcile
        try:
            dispatch.run_job(job, services)
            moved = httpx.post(
                f"{sandbox.base_url}/_sandbox/clock", json={"advance_seconds": 3700}, timeout=10
            )
            assert moved.status_code == 200
            served_date = httpx.get(f"{sandbox.api_url}/meta", timeout=10).headers.get("date", "")
            # GitHub's Date header carries its clock; the recovery below learns the skew from it.
            assert parsedate_to_datetime(served_date).timestamp() > time.time() + 3000
            assert dispatch.run_job(job, services).outcome == "ok"
            # The first request the job made was refused (401), then a token was minted (after a
            # refused JWT taught the skew) and the job went on: no failed attempt.
            log = [(r.method, r.path, r.status) for r in sandbox.state.requests]
            first_refusal = next(i for i, (_, path, status) in enumerate(log) if status == 401)
            assert log[first_refusal][1].startswith("/repos/acme/rocket")
            assert ("POST", "/app/installations/1/access_tokens", 201) in log[first_refusal:]
        finally:
            dispatch.reconciler_for = original
            services.close()
