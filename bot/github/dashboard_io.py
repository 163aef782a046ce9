"""What the dashboard shows of a repository's releases, read with the signed-in user's token.

Frozen facts only; no raw GitHub dict leaves this module. Every artifact counts only when the bot
wrote it, as everywhere else: the release record is a check run of this App (verified by app id,
name and ``external_id`` through ``bot.github.release_record_io.record_of``), the tracking issue and
its stage comments are the bot user's (``{app_slug}[bot]``, from the installation), the gate is the
App's own check run on the pull request's head commit, the notes draft is a release the bot wrote
with the milestone's notes section. Anything else a person wrote is shown as nothing.

The cost of a read is bounded and known (the dashboard's note in docs/web.md):

- overview of one repository: 2 requests (milestones, open pull requests) + per open release 2
  (the milestone's issues, the record) + 1 per open gated pull request (its gate check run), at
  most ``MAX_GATED_PULLS`` of them per release;
- a release page: the overview's reads of that release + 1 (stage comments) + 1 (releases).

Pure parsing comes from ``bot.core`` (record JSON, tracking state, stage states, checklist
progress, gate records, notes sections).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github import Github, GithubException

from bot.config.defaults import default_config
from bot.core.checklists import FACT_PENDING_SUFFIX
from bot.core.commands import strip_html_comments
from bot.core.due_dates import github_due_day
from bot.core.gate import REQ_APPROVAL, REQ_UAT, is_release_branch, parse_record
from bot.core.notes import split_body
from bot.core.release_record import pointer_of
from bot.core.stages import STAGE_TITLES, STAGES, stage_states
from bot.core.tracking import TrackingState, stage_of_comment, tracking_milestone_of
from bot.core.versions import final_tag, parse_milestone_title, version_text
from bot.github.paging import list_all
from bot.github.paths import repo_path
from bot.github.release_record_io import record_of
from bot.github.user_io import RepoRef

MAX_MILESTONE_PAGES = 3  # 300 milestones: the newest closed ones beyond are left off the overview
MAX_ISSUE_PAGES = 5  # items of one milestone read for its tracking issue and scope
MAX_GATED_PULLS = 25  # open gated pull requests per release whose gate is read
MAX_COMMENT_PAGES = 5
_DEFAULTS = default_config()
# GitHub's task-list syntax, as bot.core.checklists reads it.
_TASK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[(?P<mark>[ xX])\]\s+(?P<text>.*\S)\s*$")


@dataclass(frozen=True)
class StageView:
    stage: str
    title: str
    state: str  # done | current | skipped | pending (bot.core.stages)
    began: str | None  # ISO date
    ticked: int | None = None  # checklist progress, when the stage's comment was posted
    total: int | None = None


@dataclass(frozen=True)
class Requirement:
    name: str  # "UAT" | "Approval"
    met: bool
    by: str | None = None
    at: str | None = None
    via: str | None = None  # label | command | review


@dataclass(frozen=True)
class GatedPull:
    number: int
    title: str
    author: str
    html_url: str
    base: str
    state: str  # open | merged | closed
    gate: str  # passing | failing | pending | none (no gate check of this App on the head)
    gate_title: str = ""
    requirements: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class ReleaseSummary:
    repo: str
    number: int  # the milestone's number
    title: str
    version: str
    open: bool
    due_day: str | None  # the calendar day GitHub shows
    closed_at: str | None
    milestone_url: str
    tracking_url: str | None
    tracking_number: int | None
    stages: tuple[StageView, ...]
    current: str | None
    checklist_ticked: int
    checklist_total: int
    scope_open: int
    scope_closed: int
    pulls: tuple[GatedPull, ...] = ()
    pulls_left_off: int = 0  # gated pull requests beyond MAX_GATED_PULLS (shown without a gate)
    uat: str | None = None  # "passed on rc.2 by @qa (2026-12-01)"

    @property
    def current_title(self) -> str | None:
        return STAGE_TITLES.get(self.current) if self.current else None


@dataclass(frozen=True)
class RepoReleases:
    repo: RepoRef
    open: tuple[ReleaseSummary, ...]
    closed: tuple[ReleaseSummary, ...]


@dataclass(frozen=True)
class ChecklistItem:
    text: str
    ticked: bool


@dataclass(frozen=True)
class StageChecklistView:
    stage: str
    title: str
    items: tuple[ChecklistItem, ...]
    url: str


@dataclass(frozen=True)
class NotesDraft:
    markdown: str
    state: str  # draft | published
    html_url: str


@dataclass(frozen=True)
class ReleaseDetail:
    summary: ReleaseSummary
    checklists: tuple[StageChecklistView, ...]
    notes: NotesDraft | None


# --------------------------------------------------------------------------- helpers


def _login(obj: Any) -> str:
    return str(obj.get("login") or "") if isinstance(obj, Mapping) else ""


def _get(gh: Github, path: str, params: Mapping[str, Any] | None = None) -> Any:
    """One GET; None for a 404/410 (gone or not visible to this user)."""
    try:
        _headers, data = gh.requester.requestJsonAndCheck("GET", path, parameters=dict(params or {}) or None)
    except GithubException as exc:
        if exc.status in (404, 410):
            return None
        raise
    return data


def _version_of(title: str) -> str | None:
    version = parse_milestone_title(title, _DEFAULTS["releases"]["milestone_pattern"])
    return version_text(version) if version is not None else None


# --------------------------------------------------------------------------- gate


def _requirements(run: Mapping[str, Any], number: int, base: str, head_sha: str) -> tuple[Requirement, ...]:
    summary = (run.get("output") or {}).get("summary") if isinstance(run.get("output"), Mapping) else None
    record = parse_record(summary if isinstance(summary, str) else None, head_sha, number, base)
    rows = []
    for req, name in ((REQ_UAT, "UAT"), (REQ_APPROVAL, "Approval")):
        given = record.get(req) if record is not None else None
        rows.append(
            Requirement(
                name=name,
                met=given is not None,
                by=given.by if given else None,
                at=given.at if given else None,
                via=given.via if given else None,
            )
        )
    return tuple(rows)


def read_gate(
    gh: Github, repo: str, number: int, base: str, head_sha: str, app_id: int
) -> tuple[str, str, tuple[Requirement, ...]]:
    """(passing|failing|pending|none, the check's title, requirements) of the App's gate check run
    on ``head_sha``. One request."""
    check_name = _DEFAULTS["gate"]["check_name"]
    data = _get(
        gh,
        f"{repo_path(repo)}/commits/{quote(head_sha, safe='')}/check-runs",
        {"check_name": check_name, "filter": "latest", "per_page": 100},
    )
    runs = [
        r
        for r in (data or {}).get("check_runs", [])
        if isinstance(r, Mapping)
        and isinstance(r.get("app"), Mapping)
        and r["app"].get("id") == app_id
        and r.get("name") == check_name
    ]
    if not runs:
        return "none", "", ()
    run = max(runs, key=lambda r: int(r.get("id") or 0))
    title = (
        str((run.get("output") or {}).get("title") or "") if isinstance(run.get("output"), Mapping) else ""
    )
    if run.get("status") != "completed":
        state = "pending"
    elif run.get("conclusion") in ("success", "neutral", "skipped"):
        state = "passing"
    else:
        state = "failing"
    return state, title, _requirements(run, number, base, head_sha)


# --------------------------------------------------------------------------- releases


@dataclass(frozen=True)
class _MilestoneItems:
    tracking: Mapping[str, Any] | None
    pulls: tuple[Mapping[str, Any], ...]


def _milestone_items(gh: Github, repo: RepoRef, number: int) -> _MilestoneItems:
    """The milestone's issues and pull requests (one request per 100): its tracking issue (the bot's,
    with this milestone's marker) and its pull requests."""
    items = list_all(
        gh,
        f"{repo_path(repo.full_name)}/issues",
        {"milestone": number, "state": "all"},
        max_pages=MAX_ISSUE_PAGES,
    )
    tracking = next(
        (
            i
            for i in sorted(items, key=lambda i: int(i.get("number") or 0))
            if "pull_request" not in i
            and _login(i.get("user")) == repo.bot_login
            and tracking_milestone_of(i.get("body")) == number
        ),
        None,
    )
    pulls = tuple(i for i in items if isinstance(i.get("pull_request"), Mapping))
    return _MilestoneItems(tracking, pulls)


def _state_of(
    gh: Github, repo: RepoRef, tracking: Mapping[str, Any] | None, number: int, app_id: int
) -> TrackingState:
    """The release's remembered state, from the App's record check run the tracking issue points at
    (one request); an empty state when there is none or the pointer names anything else."""
    if tracking is None:
        return TrackingState()
    pointer = pointer_of(tracking.get("body"))
    if pointer is None:
        return TrackingState()
    run = _get(gh, f"{repo_path(repo.full_name)}/check-runs/{int(pointer)}")
    record = record_of(run, number, app_id) if isinstance(run, Mapping) else None
    return record.state if record is not None else TrackingState()  # the record carries it decoded


def _stage_views(state: TrackingState) -> tuple[StageView, ...]:
    states = stage_states(state.stages)
    views = []
    for stage in STAGES:
        progress = state.checklists.get(stage)
        began = state.stages.began.get(stage) if states[stage] in ("done", "current") else None
        views.append(
            StageView(
                stage=stage,
                title=STAGE_TITLES[stage],
                state=states[stage],
                began=began,
                ticked=progress.progress.ticked if progress else None,
                total=progress.progress.total if progress else None,
            )
        )
    return tuple(views)


def _uat_text(state: TrackingState) -> str | None:
    verdict = state.stages.uat
    if verdict is None:
        return None
    on = f"rc.{verdict.rc}" if verdict.rc is not None else "no candidate"
    return f"{'passed' if verdict.passed else 'failed'} on {on} by @{verdict.by} ({verdict.date})"


def _gated_pulls(
    gh: Github,
    repo: RepoRef,
    items: Sequence[Mapping[str, Any]],
    open_pulls: Mapping[int, Mapping[str, Any]],
    app_id: int,
) -> tuple[tuple[GatedPull, ...], int]:
    patterns = _DEFAULTS["gate"]["release_branches"]
    out: list[GatedPull] = []
    read = left_off = 0
    for item in sorted(items, key=lambda i: int(i.get("number") or 0)):
        number = int(item["number"])
        common = {
            "number": number,
            "title": str(item.get("title") or ""),
            "author": _login(item.get("user")),
            "html_url": str(item.get("html_url") or ""),
        }
        pull = open_pulls.get(number)
        if pull is None:
            merged = bool((item.get("pull_request") or {}).get("merged_at"))
            out.append(GatedPull(**common, base="", state="merged" if merged else "closed", gate="none"))
            continue
        base = str((pull.get("base") or {}).get("ref") or "")
        if not is_release_branch(base, patterns):
            continue  # not gated: the gate only runs on pull requests into release branches
        if read >= MAX_GATED_PULLS:
            left_off += 1
            out.append(GatedPull(**common, base=base, state="open", gate="none"))
            continue
        read += 1
        sha = str((pull.get("head") or {}).get("sha") or "")
        gate, title, reqs = read_gate(gh, repo.full_name, number, base, sha, app_id)
        out.append(
            GatedPull(**common, base=base, state="open", gate=gate, gate_title=title, requirements=reqs)
        )
    return tuple(out), left_off


def _summary(
    repo: RepoRef,
    milestone: Mapping[str, Any],
    version: str,
    state: TrackingState,
    tracking: Mapping[str, Any] | None,
    pulls: tuple[GatedPull, ...],
    left_off: int,
) -> ReleaseSummary:
    stages = _stage_views(state)
    ticked = sum(s.ticked or 0 for s in stages)
    total = sum(s.total or 0 for s in stages)
    return ReleaseSummary(
        repo=repo.full_name,
        number=int(milestone["number"]),
        title=str(milestone.get("title") or ""),
        version=version,
        open=milestone.get("state") == "open",
        due_day=github_due_day(milestone.get("due_on")),
        closed_at=str(milestone.get("closed_at") or "")[:10] or None,
        milestone_url=str(milestone.get("html_url") or ""),
        tracking_url=str(tracking.get("html_url")) if tracking else None,
        tracking_number=int(tracking["number"]) if tracking else None,
        stages=stages,
        current=state.stages.current,
        checklist_ticked=ticked,
        checklist_total=total,
        scope_open=int(milestone.get("open_issues") or 0),
        scope_closed=int(milestone.get("closed_issues") or 0),
        pulls=pulls,
        pulls_left_off=left_off,
        uat=_uat_text(state),
    )


def _open_pulls(gh: Github, repo: RepoRef) -> dict[int, Mapping[str, Any]]:
    pulls = list_all(gh, f"{repo_path(repo.full_name)}/pulls", {"state": "open"}, max_pages=MAX_ISSUE_PAGES)
    return {int(p["number"]): p for p in pulls}


def _release_of(
    gh: Github,
    repo: RepoRef,
    milestone: Mapping[str, Any],
    open_pulls: Mapping[int, Mapping[str, Any]],
    app_id: int,
) -> tuple[ReleaseSummary, Mapping[str, Any] | None] | None:
    version = _version_of(str(milestone.get("title") or ""))
    if version is None:
        return None
    number = int(milestone["number"])
    items = _milestone_items(gh, repo, number)
    state = _state_of(gh, repo, items.tracking, number, app_id)
    pulls, left_off = _gated_pulls(gh, repo, items.pulls, open_pulls, app_id)
    return _summary(repo, milestone, version, state, items.tracking, pulls, left_off), items.tracking


def read_repo_releases(gh: Github, repo: RepoRef, app_id: int) -> RepoReleases:
    """Open releases in full; closed ones from the milestone list alone (no further requests)."""
    milestones = list_all(
        gh,
        f"{repo_path(repo.full_name)}/milestones",
        {"state": "all", "sort": "due_on", "direction": "asc"},
        max_pages=MAX_MILESTONE_PAGES,
    )
    open_ms = [m for m in milestones if m.get("state") == "open" and _version_of(str(m.get("title") or ""))]
    open_pulls = _open_pulls(gh, repo) if open_ms else {}
    opened = []
    for milestone in open_ms:
        found = _release_of(gh, repo, milestone, open_pulls, app_id)
        if found is not None:
            opened.append(found[0])
    closed = []
    for milestone in milestones:
        version = _version_of(str(milestone.get("title") or ""))
        if milestone.get("state") == "closed" and version is not None:
            closed.append(_summary(repo, milestone, version, TrackingState(), None, (), 0))
    closed.sort(key=lambda r: r.closed_at or "", reverse=True)
    return RepoReleases(repo=repo, open=tuple(opened), closed=tuple(closed))


def _checklists(
    gh: Github, repo: RepoRef, tracking: Mapping[str, Any], number: int
) -> tuple[StageChecklistView, ...]:
    comments = list_all(
        gh,
        f"{repo_path(repo.full_name)}/issues/{int(tracking['number'])}/comments",
        max_pages=MAX_COMMENT_PAGES,
    )
    found: dict[str, StageChecklistView] = {}
    for comment in sorted(comments, key=lambda c: int(c.get("id") or 0)):
        if _login(comment.get("user")) != repo.bot_login:
            continue
        stage = stage_of_comment(comment.get("body"), number)
        if stage is None or stage in found:
            continue  # the first of the bot's comments for a stage is the one it keeps
        found[stage] = StageChecklistView(
            stage=stage,
            title=STAGE_TITLES[stage],
            items=_task_items(str(comment.get("body") or "")),
            url=str(comment.get("html_url") or ""),
        )
    return tuple(found[s] for s in STAGES if s in found)


def _task_items(body: str) -> tuple[ChecklistItem, ...]:
    """The task items of a stage comment in order, read as ``parse_progress`` counts them (HTML
    comments and fenced code ignored), so the page and the progress figures agree."""
    items: list[ChecklistItem] = []
    in_fence = False
    for line in strip_html_comments(body).splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        match = None if in_fence else _TASK.match(line)
        if match:
            text = match.group("text").removesuffix(FACT_PENDING_SUFFIX).rstrip()
            items.append(ChecklistItem(text=text, ticked=match.group("mark") in "xX"))
    return tuple(items)


def _notes(gh: Github, repo: RepoRef, number: int, version: str) -> NotesDraft | None:
    """The bot's release for the milestone: on the version's final tag, written by the bot, with
    the milestone's notes section (one request: the first page of releases, newest first)."""
    parsed = parse_milestone_title(version)
    if parsed is None:
        return None
    tag = final_tag(parsed, _DEFAULTS["releases"]["final_tag_pattern"])
    data = _get(gh, f"{repo_path(repo.full_name)}/releases", {"per_page": 100})
    for rel in data or []:
        if _login(rel.get("author")) != repo.bot_login or rel.get("tag_name") != tag:
            continue
        section = split_body(rel.get("body"), number).section
        if section is not None:
            return NotesDraft(
                markdown=section,
                state="draft" if rel.get("draft") else "published",
                html_url=str(rel.get("html_url") or ""),
            )
    return None


def read_release(gh: Github, repo: RepoRef, number: int, app_id: int) -> ReleaseDetail | None:
    """One release in full; None when the milestone is gone or is not a release."""
    milestone = _get(gh, f"{repo_path(repo.full_name)}/milestones/{int(number)}")
    if not isinstance(milestone, Mapping):
        return None
    open_pulls = _open_pulls(gh, repo) if milestone.get("state") == "open" else {}
    found = _release_of(gh, repo, milestone, open_pulls, app_id)
    if found is None:
        return None
    summary, tracking = found
    checklists = _checklists(gh, repo, tracking, number) if tracking is not None else ()
    return ReleaseDetail(
        summary=summary, checklists=checklists, notes=_notes(gh, repo, number, summary.version)
    )
