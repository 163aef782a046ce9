"""Bad data from GitHub, fuzzed: a reconciler fed a wrong-shaped answer fails its job, never the worker.

The in-process sandbox plays GitHub; one answer of each job (hypothesis picks which GET, and what
becomes of its JSON: a wrong type anywhere, a missing key, an empty body) is corrupted on its way
into the bot's real PyGithub client. The job runs through the real ``WorkerPool.run_one`` on a
real SQLite queue, as a worker thread runs it: whatever happens inside, ``run_one`` returns an
outcome, the job is finished in the queue (done, retried or dead-lettered with the reason), and
the next job on the same worker runs normally.
"""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import Iterator
from typing import Any
from unittest import mock

import httpx
import pytest
from fuzz_profiles import budget
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs import JobSpec, pr_key, release_key, repo_key
from bot.queue.sqlite import SqliteQueue
from bot.queue.worker import WorkerPool
from bot.reconcilers.dispatch import run_job
from bot.services import Services
from bot.settings import Settings

OUTCOMES = {"success", "retry", "dead_letter", "permanent", "retry_later"}
_n = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A sandbox with a release line, its milestone, a gated pull request and a candidate tag."""
    from bot.sandbox.server import start_sandbox

    tmp = tmp_path_factory.mktemp("reconciler-fuzz")
    key = tmp / "app.pem"
    sandbox = start_sandbox(port=0, webhook_url=None, app_key_path=str(key))
    api = httpx.Client(
        base_url=sandbox.api_url, headers={"Authorization": "token sandbox-token-admin"}, timeout=30
    )

    def ok(r: httpx.Response) -> Any:
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    repo = "acme/rocket"
    main = ok(api.get(f"/repos/{repo}/git/ref/heads/main"))["object"]["sha"]
    ok(api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/heads/release/1.4", "sha": main}))
    ok(api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/heads/fix", "sha": main}))
    ok(
        api.put(
            f"/repos/{repo}/contents/fix.txt",
            json={"message": "fix", "branch": "fix", "content": base64.b64encode(b"fix\n").decode()},
        )
    )
    milestone = ok(api.post(f"/repos/{repo}/milestones", json={"title": "v1.4.0"}))["number"]
    number = ok(
        api.post(f"/repos/{repo}/pulls", json={"title": "Fix", "head": "fix", "base": "release/1.4"})
    )["number"]
    ok(api.patch(f"/repos/{repo}/issues/{number}", json={"milestone": milestone}))
    ok(api.post(f"/repos/{repo}/issues/{number}/comments", json={"body": "/approve"}))
    ok(api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/tags/v1.4.0-rc.1", "sha": main}))
    repo_id = ok(api.get(f"/repos/{repo}"))["id"]
    queue = SqliteQueue(str(tmp / "queue.db"))
    settings_ = Settings.from_env(
        {
            "APP_ID": "1",
            "PRIVATE_KEY_PATH": str(key),
            "GITHUB_API_URL": sandbox.api_url,
            "WEBHOOK_SECRET": "x" * 20,
            "SANDBOX": "1",
        }
    )
    services = Services.from_settings(settings_, queue)
    keys = [pr_key(repo_id, number), release_key(repo_id, milestone), repo_key(repo_id)]
    yield {"services": services, "keys": keys, "repo": repo, "tmp": tmp}
    services.close()
    queue.close()
    sandbox.stop()


def corrupt(data: Any, path: list[int], value: Any) -> Any:
    """``data`` with the node reached by ``path`` (indices into each level's children) replaced."""
    if not path or not isinstance(data, dict | list) or not data:
        return value
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[path[0] % len(keys)]
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    copy[key] = corrupt(data[key], path[1:], value)
    return copy


WRONG = st.sampled_from([None, 7, -1, 2**70, "x", "", [], {}, [None], {"id": "1"}, True, 1.5, "\x00"])


def run(world: dict[str, Any], key: str) -> tuple[str, SqliteQueue]:
    """One job of ``key`` through a worker, on a queue of its own; (outcome, that queue)."""
    queue = SqliteQueue(str(world["tmp"] / f"jobs-{next(_n)}.db"))
    pool = WorkerPool(queue, lambda spec, services: run_job(spec, services), world["services"], threads=1)
    queue.enqueue([JobSpec(key, 1, world["repo"], "fuzz", {})])
    job = queue.claim(30)
    assert job is not None and job.key == key
    return pool.run_one(job), queue


@pytest.mark.reliability(
    area="bad input",
    case=(
        "fuzzed GitHub answers (wrong types, missing keys, empty bodies) fail the job cleanly, never the "
        "worker"
    ),
    trials=40,
)
@settings(max_examples=max(20, budget() // 5))
@given(
    key_index=st.integers(0, 2),
    call=st.integers(0, 12),
    path=st.lists(st.integers(0, 50), max_size=4),
    value=WRONG,
)
def test_a_wrong_shaped_github_answer_fails_the_job_not_the_worker(
    world: dict[str, Any],
    key_index: int,
    call: int,
    path: list[int],
    value: Any,
    reliability: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reliability.trials(1)
    key = world["keys"][key_index]
    gh = world["services"].client_for(1)
    world["services"].config_loader.clear()  # every example reads the configuration again
    original = gh.requester.requestJsonAndCheck
    calls = itertools.count()

    def answered(verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
        headers, data = original(verb, url, *args, **kwargs)
        if verb == "GET" and next(calls) == call:
            data = corrupt(data, path, value)
        return headers, data

    with (
        mock.patch.object(gh.requester, "requestJsonAndCheck", answered),
        caplog.at_level(logging.INFO, logger="bot.worker"),
    ):
        seen = len(caplog.records)  # caplog is shared by every example of this test
        outcome, queue = run(world, key)
    try:
        assert outcome in OUTCOMES, outcome
        finished = [r for r in caplog.records[seen:] if getattr(r, "fields", {}).get("key") == key]
        assert finished and finished[-1].fields["outcome"] == outcome  # type: ignore[attr-defined]
        if outcome != "success":
            # failed cleanly: the reason recorded, the job back in the queue or dead-lettered
            assert finished[-1].fields["error"], finished[-1].fields  # type: ignore[attr-defined]
            assert queue.counts().running == 0
    finally:
        queue.close()
    # GitHub answering properly again, the same reconciler succeeds.
    outcome, queue = run(world, key)
    queue.close()
    assert outcome == "success"


def test_world_sanity(world: dict[str, Any]) -> None:
    """Without corruption every key reconciles successfully (so a failure above is the corruption's)."""
    for key in world["keys"]:
        outcome, queue = run(world, key)
        queue.close()
        assert outcome == "success"
