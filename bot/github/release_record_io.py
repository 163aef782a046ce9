"""Reading and writing the release record (``bot.core.release_record``): a check run the App owns.

The only code that turns the record's check run JSON into a fact: ``RecordFacts``
(``bot.core.release_types``) carries the check run's id and the decoded state, and exists only for a
check run this App wrote, with the record's name and this milestone's ``external_id``. Anything else
is no record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from github import GithubException

from bot.core.release_record import RECORD_CHECK_NAME, RecordOutput, decode_record_text, record_external_id
from bot.core.release_types import RecordFacts
from bot.core.tracking import TrackingState
from bot.github.paths import repo_path

if TYPE_CHECKING:
    from github import Github

# Kept for the callers that name the record by its old name.
ReleaseRecord = RecordFacts


def canonical_state(state: Mapping[str, Any]) -> str:
    """The record's JSON in one spelling: two states are the same record when these are equal."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def record_of(run: Mapping[str, Any], milestone_number: int, app_id: int) -> RecordFacts | None:
    """The record in check run ``run``, or None unless this App wrote it for this milestone."""
    app = run.get("app")
    run_id = run.get("id")
    if not isinstance(app, Mapping) or app.get("id") != app_id or not isinstance(run_id, int):
        return None
    if run.get("name") != RECORD_CHECK_NAME or run.get("external_id") != record_external_id(milestone_number):
        return None
    output = run.get("output")
    text = output.get("text") if isinstance(output, Mapping) else None
    decoded = decode_record_text(text if isinstance(text, str) else None)
    return RecordFacts(check_run_id=run_id, state=TrackingState.from_json(decoded), written=canonical_state(decoded))


def read_record(gh: Github, repo: str, check_run_id: int, milestone_number: int, app_id: int) -> RecordFacts | None:
    """One GET of the check run a pointer names; None when it is gone or is not this release's record."""
    try:
        _headers, data = gh.requester.requestJsonAndCheck(
            "GET", f"{repo_path(repo)}/check-runs/{int(check_run_id)}")
    except GithubException as exc:
        if exc.status in (404, 410, 422):
            return None
        raise
    return record_of(data, milestone_number, app_id) if isinstance(data, Mapping) else None


def default_head_sha(gh: Github, repo: str) -> str:
    """The default branch's head commit (``HEAD`` resolves to it): where a new record can sit."""
    _headers, data = gh.requester.requestJsonAndCheck("GET", f"{repo_path(repo)}/commits/HEAD")
    return str(data["sha"])


def write_record(
    gh: Github, repo: str, milestone_number: int, output: RecordOutput, existing_id: int | None, head_sha: str | None
) -> int:
    """Create the record (on ``head_sha``) or update ``existing_id`` in place. Returns its id."""
    body: dict[str, Any] = {
        "status": "completed",
        "conclusion": "neutral",
        "output": {"title": output.title, "summary": output.summary, "text": output.text},
    }
    if existing_id is not None:
        _headers, data = gh.requester.requestJsonAndCheck(
            "PATCH", f"{repo_path(repo)}/check-runs/{int(existing_id)}", input=body)
    else:
        body.update({"name": RECORD_CHECK_NAME, "head_sha": head_sha,
                     "external_id": record_external_id(milestone_number)})
        _headers, data = gh.requester.requestJsonAndCheck("POST", f"{repo_path(repo)}/check-runs", input=body)
    return int(data["id"])
