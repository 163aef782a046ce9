"""The code freeze's reads against a mocked REST API (`responses`): only the App's check runs and
records count, whatever a pointer, a hint or a look-alike says."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import responses
from github import Auth, Github

from bot.core.freeze.exceptions import FreezeCheckRecord
from bot.core.freeze.state import FreezeException, FreezeState
from bot.core.release_record import record_external_id, render_record
from bot.core.tracking import TrackingState
from bot.github import freeze_io

API = "https://ghe.example.test:443/api/v3"
REPO = "acme/rocket"
BOT = "release-bot[bot]"
SHA = "a" * 40
GRANT = FreezeException(12, SHA, "main", "releaser", "2026-11-26T10:00:00Z", "hotfix", 900)


@pytest.fixture
def gh() -> Iterator[Github]:
    yield Github(
        base_url=API, auth=Auth.Token("t"), retry=None, seconds_between_requests=0, seconds_between_writes=0
    )


def record_run(run_id: int, milestone: int, active: bool, app_id: int = 1) -> dict[str, object]:
    freeze = FreezeState(version="1.4.0", active=active, since="2026-11-20", cause="stage")
    state = TrackingState(freeze=freeze)
    output = render_record(milestone, "1.4.0", state.to_json(), "UAT")
    return {
        "id": run_id,
        "name": "release-bot: release record",
        "external_id": record_external_id(milestone),
        "app": {"id": app_id},
        "head_sha": SHA,
        "output": {"title": output.title, "summary": output.summary, "text": output.text},
    }


@responses.activate
def test_frozen_releases_from_their_records_only(gh: Github) -> None:
    responses.get(f"{API}/repos/{REPO}/check-runs/10", json=record_run(10, 1, active=True))
    responses.get(f"{API}/repos/{REPO}/check-runs/11", json=record_run(11, 2, active=False))
    responses.get(f"{API}/repos/{REPO}/check-runs/12", json=record_run(12, 3, active=True, app_id=99))
    responses.get(f"{API}/repos/{REPO}/check-runs/13", json=record_run(13, 9, active=True))  # another's
    responses.get(f"{API}/repos/{REPO}/check-runs/14", status=404, json={"message": "Not Found"})
    causes = freeze_io.read_causes(gh, REPO, {1: 10, 2: 11, 3: 12, 4: 13, 5: 14}, app_id=1)
    assert [(c.milestone, c.version, c.since) for c in causes] == [(1, "1.4.0", "2026-11-20")]


@responses.activate
def test_open_tracking_issues_give_the_record_pointers(gh: Github) -> None:
    pointed = "<!-- release-bot:tracking:{m} -->\n<!-- release-bot:record:{r} -->"
    issues = [
        {"number": 90, "user": {"login": BOT}, "body": pointed.format(m=1, r=10)},
        {"number": 91, "user": {"login": "mallory"}, "body": pointed.format(m=2, r=11)},
        {"number": 92, "user": {"login": BOT}, "body": "<!-- release-bot:tracking:3 -->"},  # no pointer
        {"number": 93, "user": {"login": BOT}, "pull_request": {}, "body": "<!-- release-bot:tracking:4 -->"},
    ]
    responses.get(f"{API}/repos/{REPO}/issues", json=issues)
    assert freeze_io.open_tracking_records(gh, REPO, BOT, "release-tracking") == {1: 10}
    query = responses.calls[0].request.url
    assert "creator=release-bot%5Bbot%5D" in query and "state=open" in query and "per_page=100" in query


def freeze_run(run_id: int, name: str = "release-bot/freeze", app_id: int = 1, sha: str = SHA) -> dict:
    return {
        "id": run_id,
        "name": name,
        "app": {"id": app_id},
        "head_sha": sha,
        "output": {"summary": "x\n" + FreezeCheckRecord(SHA, (GRANT,)).marker()},
    }


@responses.activate
def test_reported_exceptions_are_read_back_and_verified(gh: Github) -> None:
    responses.get(f"{API}/repos/{REPO}/check-runs/1", json=freeze_run(1))
    responses.get(f"{API}/repos/{REPO}/check-runs/2", json=freeze_run(2, app_id=2))  # another App's
    responses.get(f"{API}/repos/{REPO}/check-runs/3", json=freeze_run(3, name="release-bot/gate"))
    responses.get(f"{API}/repos/{REPO}/check-runs/4", json=freeze_run(4, sha="b" * 40))  # moved record
    responses.get(f"{API}/repos/{REPO}/check-runs/5", status=404, json={"message": "Not Found"})
    assert freeze_io.reported_exceptions(gh, REPO, [1, 2, 3, 4, 5], 1, "release-bot/freeze") == (GRANT,)


@responses.activate
def test_open_pulls_into_plain_branches_and_patterns(gh: Github) -> None:
    responses.get(f"{API}/repos/{REPO}/pulls", json=[{"number": 3, "base": {"ref": "main"}}])
    assert freeze_io.open_pulls_into(gh, REPO, ["main"]) == [3]
    assert "base=main" in responses.calls[0].request.url
    responses.replace(
        responses.GET,
        f"{API}/repos/{REPO}/pulls",
        json=[{"number": 4, "base": {"ref": "release/1.4"}}, {"number": 5, "base": {"ref": "dev"}}],
    )
    assert freeze_io.open_pulls_into(gh, REPO, ["release/*"]) == [4]
    assert "base=" not in responses.calls[1].request.url
    assert json.loads(json.dumps(freeze_io.as_ids([1, True, "2", 3]))) == [1, 3]
