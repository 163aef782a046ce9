"""The code freeze's reads (``bot.core.freeze``): release records of frozen releases, the freeze
check runs of commits, open pull requests into frozen branches. JSON in, core facts out.

Each read happens only for a repository with ``releases.freeze`` configured, and most only for a
pull request into a frozen branch or a release whose freeze started or lifted (docs/code-freeze.md,
"Cost").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from github import GithubException

from bot.core.freeze.exceptions import FreezeCause, parse_freeze_record
from bot.core.freeze.state import FreezeException
from bot.core.release_record import pointer_of
from bot.core.release_types import RecordFacts
from bot.core.tracking import tracking_milestone_of
from bot.github.paging import list_all
from bot.github.paths import repo_path
from bot.github.release_record_io import read_record

if TYPE_CHECKING:
    from github import Github

MAX_TRACKING_PAGES = 5
MAX_PULL_PAGES = 10  # 1,000 open pull requests into the frozen branches woken per change


def freeze_cause(milestone: int, record: RecordFacts | None) -> FreezeCause | None:
    """The release's freeze as its record (verified: the App's) holds it, when it is on."""
    freeze = record.state.freeze if record is not None else None
    if freeze is None or not freeze.active:
        return None
    return FreezeCause(
        version=freeze.version,
        milestone=milestone,
        since=freeze.since,
        cause=freeze.cause,
        by=freeze.by,
        listed=frozenset((x.key, x.withdrawn) for x in freeze.exceptions),
    )


def read_causes(gh: Github, repo: str, records: Mapping[int, int], app_id: int) -> tuple[FreezeCause, ...]:
    """The frozen releases among ``records`` (milestone -> release record check run id)."""
    causes = []
    for milestone, record_id in sorted(records.items()):
        cause = freeze_cause(milestone, read_record(gh, repo, record_id, milestone, app_id))
        if cause is not None:
            causes.append(cause)
    return tuple(causes)


def open_tracking_records(gh: Github, repo: str, bot_login: str, tracking_label: str) -> dict[int, int]:
    """milestone -> release record id (the body's pointer: a hint, verified when the record is read)
    of every open tracking issue the bot wrote, in one listing: how a pull request finds the
    releases when the bot's store knows none."""
    found: dict[int, int] = {}
    issues = list_all(
        gh,
        f"{repo_path(repo)}/issues",
        {"creator": bot_login, "labels": tracking_label, "state": "open"},
        max_pages=MAX_TRACKING_PAGES,
    )
    for issue in issues:
        if issue.get("pull_request") or str((issue.get("user") or {}).get("login", "")) != bot_login:
            continue
        body = str(issue.get("body") or "")
        milestone = tracking_milestone_of(body)
        record_id = pointer_of(body)
        if milestone is not None and record_id is not None:
            found[milestone] = record_id
    return found


def reported_exceptions(
    gh: Github, repo: str, check_run_ids: Sequence[int], app_id: int, check_name: str
) -> tuple[FreezeException, ...]:
    """The grants kept in the freeze check runs a pull request's reconcile pointed at (a hint):
    each counts only when this App wrote it, under the freeze check's name, for its own commit."""
    out: list[FreezeException] = []
    for run_id in check_run_ids[:20]:
        try:
            path = f"{repo_path(repo)}/check-runs/{int(run_id)}"
            _headers, run = gh.requester.requestJsonAndCheck("GET", path)
        except GithubException as exc:
            if exc.status in (404, 410, 422):
                continue
            raise
        if not isinstance(run, Mapping) or (run.get("app") or {}).get("id") != app_id:
            continue
        if run.get("name") != check_name or not isinstance(run.get("head_sha"), str):
            continue
        summary = (run.get("output") or {}).get("summary")
        out.extend(parse_freeze_record(summary if isinstance(summary, str) else None, run["head_sha"]).grants)
    return tuple(out)


def open_pulls_into(gh: Github, repo: str, patterns: Sequence[str]) -> list[int]:
    """Open pull requests whose base matches one of ``patterns`` (fnmatch): one listing per plain
    branch name (``base=``), or one of every open pull request when a pattern has wildcards."""
    plain = [p for p in patterns if not any(ch in p for ch in "*?[")]
    numbers: set[int] = set()
    if len(plain) == len(patterns):
        for branch in plain:
            for pull in list_all(
                gh, f"{repo_path(repo)}/pulls", {"state": "open", "base": branch}, max_pages=MAX_PULL_PAGES
            ):
                numbers.add(int(pull["number"]))
        return sorted(numbers)
    for pull in list_all(gh, f"{repo_path(repo)}/pulls", {"state": "open"}, max_pages=MAX_PULL_PAGES):
        base = str((pull.get("base") or {}).get("ref", ""))
        if any(fnmatchcase(base, pattern) for pattern in patterns):
            numbers.add(int(pull["number"]))
    return sorted(numbers)


def as_ids(value: Any) -> list[int]:
    """A hint's list of ids (hints say where to look, never what is true)."""
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
