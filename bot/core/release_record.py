"""The release record: what the bot remembers about one release, kept where only the App can write.

Why not the tracking issue body (where it used to be, as a hidden JSON marker): anyone with write
access can edit an issue body, and the body keeps the bot as its author whoever edits it. A
developer could forge "UAT passed on rc.1 by @qa", a hand-requested stage or a deployment, and the
bot would adopt it. So the record — the stage state (current stage, the date each stage began, the
UAT verdict with the candidate it judged, ``/stage`` requests, the deployment seen), the command
watermark, the checklist read-cache — lives in the output of a check run the App owns: GitHub lets
only the App that created a check run change it (the merge gate keeps approvals the same way).

How it is found again, from an empty store too: the check run's id is kept in the bot's store and,
as a hint, in a marker at the end of the tracking issue body (``<!-- release-bot:record:{id} -->``).
A hint proves nothing: the check run it names counts only when the App wrote it (its app id), with
this record's name and ``external_id`` (``release-record:{milestone}``). A pointer at another
release's record, at someone else's check run, or at nothing is ignored.

The check run sits on a commit because every check run must: the release branch's head when the
record is created, else the default branch's. Completed, conclusion ``neutral`` (it is not a test
result, and ``neutral`` satisfies GitHub's required-check and deployment rules if anyone requires
it). Its summary says in words what it is; the JSON is in its text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RECORD_CHECK_NAME = "release-bot: release record"
MAX_RECORD_CHARS = 65_000  # a check run's text holds 65,535 characters

_POINTER_RE = re.compile(r"<!--\s*release-bot:record:(?P<id>\d{1,19})\s*-->")
_JSON_RE = re.compile(r"<!--\s*release-bot:record-json\s+(?P<json>\{.*\})\s*-->", re.DOTALL)


def record_external_id(milestone_number: int) -> str:
    return f"release-record:{milestone_number}"


def record_pointer(check_run_id: int) -> str:
    return f"<!-- release-bot:record:{check_run_id} -->"


def pointer_of(body: str | None) -> int | None:
    """The record id a tracking issue body points at (a hint: verified against the check run)."""
    match = _POINTER_RE.search(body or "")
    return int(match.group("id")) if match else None


@dataclass(frozen=True)
class RecordOutput:
    """The check run's output: ``title`` and ``summary`` for people, ``text`` carries the JSON."""

    title: str
    summary: str
    text: str


def render_record(
    milestone_number: int, version: str, state: Mapping[str, Any], stage_title: str
) -> RecordOutput:
    """Deterministic (sorted keys, no clock): the same state renders the same output, so an
    unchanged release makes no write."""
    data = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    # '<', '>' and '--' escaped so user text inside (a UAT reason) cannot close the HTML comment.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("--", "-\\u002d")
    summary = (
        f"What release-bot records about release v{version} (milestone #{milestone_number}): the stage "
        f"({stage_title}), the date each stage began, the UAT verdict and the candidate it judged, stages "
        "requested with `/stage`, the deployment seen and which commands were handled. It is kept in this "
        "check run because only the App can change it; the tracking issue shows it and is re-rendered "
        "from it whenever anyone edits the issue. Not a test result."
    )
    return RecordOutput(
        title=f"Release v{version}: {stage_title}",
        summary=summary,
        text=f"<!-- release-bot:record-json {data} -->",
    )


def decode_record_text(text: str | None) -> dict[str, Any]:
    """The JSON of a record's text; {} when absent or unreadable (never raises)."""
    match = _JSON_RE.search(text or "")
    if not match:
        return {}
    try:
        data = json.loads(match.group("json"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
