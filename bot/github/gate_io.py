"""Reads and writes of the merge gate, and the conversion of GitHub's JSON into the gate's facts.

Every read is one explicit request (lists through ``bot.github.paging`` at ``per_page=100``),
so a reconcile's cost is what this module is asked for: no PyGithub lazy objects, no
``totalCount``. Writes are idempotent where GitHub allows (removing a label that is already gone
is fine; adding one that is there changes nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from github import Github, GithubException

from bot.core.audit import PushedCommit
from bot.core.gate import (
    CheckOutput,
    ExistingCheck,
    MilestoneRef,
    PullFacts,
    Review,
    TimelineItem,
)
from bot.github.paging import list_all
from bot.github.paths import repo_path

# The timeline entries the gate reads; others (cross-references, reviews, …) are skipped.
_TIMELINE_KINDS = {
    "labeled",
    "unlabeled",
    "committed",
    "head_ref_force_pushed",
    "commented",
    "milestoned",
    "demilestoned",
    "base_ref_changed",
    "reopened",
}
# `gh-readonly-queue/{base}/pr-{number}-{sha}`: the pull requests merge queue groups are made of.


def _get(gh: Github, path: str, params: Mapping[str, Any] | None = None) -> Any:
    _, data = gh.requester.requestJsonAndCheck("GET", path, parameters=dict(params) if params else None)
    return data


def _get_unless_gone(
    gh: Github, path: str, params: Mapping[str, Any] | None = None, gone: tuple[int, ...] = (404,)
) -> Any | None:
    """``_get``, or None when GitHub answers one of ``gone`` (the object was deleted, or never
    existed). Checked by status: PyGithub raises its ``UnknownObjectException`` only for 404s whose
    message is 'Not Found', and GitHub has others."""
    try:
        return _get(gh, path, params)
    except GithubException as exc:
        if exc.status not in gone:
            raise
        return None


def _send(gh: Github, verb: str, path: str, body: Any | None = None) -> Any:
    _, data = gh.requester.requestJsonAndCheck(verb, path, input=body)
    return data


# ---------------------------------------------------------------------------------------------
# reads


def read_pull(gh: Github, repo: str, number: int) -> dict[str, Any]:
    return _get(gh, f"{repo_path(repo)}/pulls/{number}")


def read_timeline(gh: Github, repo: str, number: int) -> list[dict[str, Any]]:
    return list_all(gh, f"{repo_path(repo)}/issues/{number}/timeline")


def head_arrival(gh: Github, repo: str, pull: Mapping[str, Any]) -> str:
    """GitHub's time the pull request's head commit became its head, or "" when unprovable.

    GitHub records no push time in a pull request's timeline for an ordinary push (a ``committed``
    entry carries the commit's date, set by whoever made it), but its repository activity does: the
    latest activity on the head branch is the push that put the head there, at GitHub's
    ``timestamp``. The head is the pull request's since that push or since it was opened, whichever
    is later. Only when that latest activity is the current head (a fork's branch, or an activity
    listing that lags, proves nothing) — otherwise "" and the gate keeps its own first check run.
    """
    head = pull.get("head") or {}
    head_repo = (head.get("repo") or {}).get("full_name")
    ref, sha, opened = head.get("ref"), head.get("sha"), pull.get("created_at")
    if not (ref and sha and opened) or str(head_repo or "").lower() != repo.lower():
        return ""
    try:
        params = {"ref": f"refs/heads/{ref}", "direction": "desc", "per_page": 1}
        latest = _get(gh, f"{repo_path(repo)}/activity", params)
    except GithubException as exc:
        if exc.status in (403, 404, 422):
            return ""  # no access to the activity (or no such branch): nothing proven
        raise
    if not isinstance(latest, list) or not latest or not isinstance(latest[0], Mapping):
        return ""
    entry = latest[0]
    pushed = str(entry.get("timestamp") or "")
    if entry.get("after") != sha or _when(pushed) is None or _when(str(opened)) is None:
        return ""
    return pushed if (_when(pushed) or 0) > (_when(str(opened)) or 0) else str(opened)


def read_gate_checks(
    gh: Github, repo: str, sha: str, check_name: str, app_id: int | None
) -> list[dict[str, Any]]:
    """The bot's check runs named ``check_name`` on ``sha`` (``app_id`` filters out look-alikes)."""
    params: dict[str, Any] = {"check_name": check_name, "filter": "all"}
    if app_id is not None:
        params["app_id"] = app_id
    runs = list_all(
        gh, f"{repo_path(repo)}/commits/{sha}/check-runs", params, items_key="check_runs", max_pages=5
    )
    if app_id is not None:
        # Never trust a filter alone: only the App can write these, so the app id is the proof.
        runs = [run for run in runs if (run.get("app") or {}).get("id") == app_id]
    return [run for run in runs if run.get("name") == check_name]


def read_open_milestones(gh: Github, repo: str) -> list[dict[str, Any]]:
    return list_all(gh, f"{repo_path(repo)}/milestones", {"state": "open"}, max_pages=10)


def read_commit_pulls(gh: Github, repo: str, sha: str) -> list[dict[str, Any]]:
    """The pull requests GitHub associates with commit ``sha`` (for a commit that is not on the
    default branch: the open pull requests containing it)."""
    return list_all(gh, f"{repo_path(repo)}/commits/{sha}/pulls", max_pages=3)


def read_reviews(gh: Github, repo: str, number: int) -> list[dict[str, Any]]:
    return list_all(gh, f"{repo_path(repo)}/pulls/{number}/reviews", max_pages=10)


def read_comment(gh: Github, repo: str, comment_id: int) -> dict[str, Any] | None:
    """An issue comment, or None when it was deleted (a deleted command does nothing)."""
    return _get_unless_gone(gh, f"{repo_path(repo)}/issues/comments/{int(comment_id)}")


def timeline_comments(entries: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The comments of a pull request's timeline (its ``commented`` entries) by id, each only when it
    holds what a single read of the comment gives the gate: its body, author and both times.

    GitHub's timeline lists every comment of the issue with the same fields as
    ``GET /issues/comments/{id}`` (``timeline-comment-event``; ``body`` is optional there, so an
    entry without it is left out and the comment is read on its own)."""
    out: dict[int, Mapping[str, Any]] = {}
    for entry in entries:
        if entry.get("event") != "commented":
            continue
        comment_id = _opt_int(entry.get("id"))
        if (
            comment_id is None
            or not isinstance(entry.get("body"), str)
            or not _login(entry.get("user"))
            or not isinstance(entry.get("created_at"), str)
            or not isinstance(entry.get("updated_at"), str)
        ):
            continue
        out[comment_id] = entry
    return out


def has_no_reactions(comment: Mapping[str, Any]) -> bool:
    """Whether GitHub's own answer for a comment (its ``reactions`` rollup) says nobody reacted to it,
    so neither did the bot: then the comment was not handled, and its reactions need no listing.
    A missing or malformed rollup proves nothing (False)."""
    rollup = comment.get("reactions")
    if not isinstance(rollup, Mapping):
        return False
    total = rollup.get("total_count")
    return isinstance(total, int) and not isinstance(total, bool) and total == 0


def bot_reacted(gh: Github, repo: str, comment_id: int, bot_login: str) -> bool:
    """Whether the bot already reacted to the comment: the mark of a command already handled."""
    for page_item in list_all(
        gh, f"{repo_path(repo)}/issues/comments/{int(comment_id)}/reactions", max_pages=20
    ):
        user = page_item.get("user") or {}
        if str(user.get("login", "")).lower() == bot_login.lower():
            return True
    return False


def bot_comment_markers(
    gh: Github, repo: str, number: int, bot_login: str, markers: Sequence[str]
) -> set[str]:
    """Which of ``markers`` end a comment the bot wrote on issue/pull request ``number``."""
    wanted = set(markers)
    found: set[str] = set()
    for comment in list_all(gh, f"{repo_path(repo)}/issues/{number}/comments", max_pages=30):
        if _login(comment.get("user")).lower() != bot_login.lower():
            continue
        body = str(comment.get("body") or "")
        found |= {marker for marker in wanted if marker in body}
        if found == wanted:
            break
    return found


_MERGE_MESSAGE = re.compile(r"^Merge pull request #(\d+)\b")


def merge_group_member_numbers(gh: Github, repo: str, base: str, head_sha: str) -> list[int]:
    """Pull requests whose merge commits a merge group adds on top of ``base`` (oldest first)."""
    path = f"{repo_path(repo)}/compare/{quote(base, safe='')}...{head_sha}"
    data = _get_unless_gone(gh, path, {"per_page": 100})
    if data is None:
        return []
    numbers: list[int] = []
    for commit in data.get("commits") or []:
        message = str((commit.get("commit") or {}).get("message", ""))
        match = _MERGE_MESSAGE.match(message)
        if match and int(match.group(1)) not in numbers:
            numbers.append(int(match.group(1)))
    return numbers


def read_branch_tip(gh: Github, repo: str, branch: str) -> str | None:
    data = _get_unless_gone(gh, f"{repo_path(repo)}/git/ref/heads/{quote(branch, safe='/')}")
    if data is None:
        return None
    return str((data.get("object") or {}).get("sha") or "") or None


def compare(gh: Github, repo: str, base: str, head: str) -> dict[str, Any] | None:
    """``GET …/compare/{base}...{head}`` (first 100 commits, oldest first); None when unrelated/gone."""
    return _get_unless_gone(
        gh, f"{repo_path(repo)}/compare/{base}...{head}", {"per_page": 100}, gone=(404, 422)
    )


def pushed_commits(comparison: Mapping[str, Any]) -> tuple[PushedCommit, ...]:
    """The commits of a compare answer, typed for the audit (``bot.core.audit``)."""
    out: list[PushedCommit] = []
    for commit in comparison.get("commits") or []:
        detail = commit.get("commit") or {}
        parents = commit.get("parents") or []
        author = (commit.get("author") or {}).get("login") or detail.get("author", {}).get("name", "")
        out.append(
            PushedCommit(
                sha=str(commit.get("sha")),
                parents=tuple(str(p.get("sha")) for p in parents),
                message=str(detail.get("message", "")),
                author=str(author),
            )
        )
    return tuple(out)


def pull_commit_count(gh: Github, repo: str, number: int) -> int:
    """How many commits a pull request has (the pulls listing does not say; the pull request does)."""
    return int(read_pull(gh, repo, number).get("commits") or 1)


def merged_pulls_into(gh: Github, repo: str, branch: str) -> dict[str, tuple[int, int]]:
    """merge_commit_sha -> (number, commits) of the pull requests merged into ``branch`` lately."""
    params = {"state": "closed", "base": branch, "sort": "updated", "direction": "desc", "per_page": 100}
    out: dict[str, tuple[int, int]] = {}
    for pull in _get(gh, f"{repo_path(repo)}/pulls", params) or []:
        if pull.get("merged_at") and pull.get("merge_commit_sha"):
            # 0: the listing does not say how many commits it had (GitHub's pull-request-simple)
            out[str(pull["merge_commit_sha"])] = (int(pull["number"]), int(pull.get("commits") or 0))
    return out


# ---------------------------------------------------------------------------------------------
# writes


def write_check(
    gh: Github,
    repo: str,
    head_sha: str,
    name: str,
    output: CheckOutput,
    existing_id: int | None,
) -> int:
    """Create the check run, or update ``existing_id`` in place. Returns its id."""
    body: dict[str, Any] = {
        "status": "completed",
        "conclusion": output.conclusion,
        "output": {"title": output.title, "summary": output.summary},
    }
    if existing_id is not None:
        data = _send(gh, "PATCH", f"{repo_path(repo)}/check-runs/{existing_id}", body)
    else:
        body.update({"name": name, "head_sha": head_sha})
        data = _send(gh, "POST", f"{repo_path(repo)}/check-runs", body)
    return int(data["id"])


def add_labels(gh: Github, repo: str, number: int, labels: Sequence[str]) -> None:
    if labels:
        _send(gh, "POST", f"{repo_path(repo)}/issues/{number}/labels", {"labels": list(labels)})


def remove_label(gh: Github, repo: str, number: int, label: str) -> None:
    try:
        _send(gh, "DELETE", f"{repo_path(repo)}/issues/{number}/labels/{quote(label, safe='')}")
    except GithubException as exc:
        if exc.status != 404:  # PyGithub names only 'Not Found' 404s; GitHub has others
            raise
        pass  # already gone: the desired state holds


def set_milestone(gh: Github, repo: str, number: int, milestone_number: int | None) -> None:
    _send(gh, "PATCH", f"{repo_path(repo)}/issues/{number}", {"milestone": milestone_number})


def post_comment(gh: Github, repo: str, number: int, body: str) -> int:
    data = _send(gh, "POST", f"{repo_path(repo)}/issues/{number}/comments", {"body": body})
    return int(data["id"])


def react(gh: Github, repo: str, comment_id: int, content: str) -> None:
    try:
        _send(
            gh,
            "POST",
            f"{repo_path(repo)}/issues/comments/{int(comment_id)}/reactions",
            {"content": content},
        )
    except GithubException as exc:
        if exc.status != 404:  # PyGithub names only 'Not Found' 404s; GitHub has others
            raise
        pass  # the comment was deleted meanwhile


def ensure_check(
    gh: Github, repo: str, head_sha: str, name: str, app_id: int | None, output: CheckOutput
) -> bool:
    """Make the bot's check on ``head_sha`` say ``output``; True when something was written."""
    existing = latest_check(read_gate_checks(gh, repo, head_sha, name, app_id))
    if existing is not None and not output.differs_from(existing):
        return False
    write_check(gh, repo, head_sha, name, output, existing.id if existing else None)
    return True


# ---------------------------------------------------------------------------------------------
# JSON -> facts


def _login(node: Any) -> str:
    return str(node.get("login", "")) if isinstance(node, Mapping) else ""


def pull_facts(data: Mapping[str, Any]) -> PullFacts:
    milestone = data.get("milestone")
    return PullFacts(
        number=int(data["number"]),
        author=_login(data.get("user")),
        base=str((data.get("base") or {}).get("ref", "")),
        head_sha=str((data.get("head") or {}).get("sha", "")),
        state=str(data.get("state", "open")),
        merged=bool(data.get("merged") or data.get("merged_at")),
        draft=bool(data.get("draft")),
        labels=frozenset(
            str(label.get("name", "")) for label in data.get("labels") or [] if isinstance(label, Mapping)
        ),
        milestone=milestone_ref(milestone) if isinstance(milestone, Mapping) else None,
    )


def milestone_ref(data: Mapping[str, Any]) -> MilestoneRef:
    return MilestoneRef(number=int(data["number"]), title=str(data.get("title", "")))


def _when(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def timeline_items(entries: Iterable[Mapping[str, Any]]) -> tuple[TimelineItem, ...]:
    """The timeline entries the gate uses, in chronological order.

    GitHub lists the timeline chronologically already; the stable sort by time guards against
    a listing that groups ``committed`` entries (which carry their time in ``committer.date``).
    """
    items: list[tuple[float, int, TimelineItem]] = []
    for position, entry in enumerate(entries):
        kind = str(entry.get("event", ""))
        if kind not in _TIMELINE_KINDS:
            continue
        if kind == "committed":
            when = str((entry.get("committer") or {}).get("date", ""))
            item = TimelineItem(kind=kind, sha=str(entry.get("sha", "")), created_at=when)
        elif kind == "head_ref_force_pushed":
            item = TimelineItem(
                kind=kind,
                id=_opt_int(entry.get("id")),
                actor=_login(entry.get("actor")),
                sha=str(entry.get("commit_id") or ""),
                created_at=str(entry.get("created_at", "")),
            )
        elif kind in ("milestoned", "demilestoned", "base_ref_changed"):
            item = TimelineItem(
                kind=kind,
                id=_opt_int(entry.get("id")),
                actor=_login(entry.get("actor")),
                milestone=str((entry.get("milestone") or {}).get("title", "")),
                created_at=str(entry.get("created_at", "")),
            )
        elif kind == "commented":
            item = TimelineItem(
                kind=kind,
                id=_opt_int(entry.get("id")),
                actor=_login(entry.get("actor") or entry.get("user")),
                created_at=str(entry.get("created_at", "")),
            )
        else:
            item = TimelineItem(
                kind=kind,
                id=_opt_int(entry.get("id")),
                actor=_login(entry.get("actor")),
                label=str((entry.get("label") or {}).get("name", "")),
                created_at=str(entry.get("created_at", "")),
            )
        stamp = _when(item.created_at)
        items.append((stamp if stamp is not None else float("-inf"), position, item))
    if all(stamp != float("-inf") for stamp, _, _ in items):
        items.sort(key=lambda triple: (triple[0], triple[1]))
    return tuple(item for _, _, item in items)


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def existing_check(run: Mapping[str, Any]) -> ExistingCheck:
    output = run.get("output") or {}
    return ExistingCheck(
        id=int(run["id"]),
        status=str(run.get("status", "")),
        conclusion=run.get("conclusion"),
        title=str(output.get("title") or ""),
        summary=str(output.get("summary") or ""),
        started_at=str(run.get("started_at") or ""),
    )


def latest_check(runs: Sequence[Mapping[str, Any]]) -> ExistingCheck | None:
    """The newest of the bot's runs (several can exist after a crash between create and record)."""
    if not runs:
        return None
    return existing_check(max(runs, key=lambda run: int(run["id"])))


def reviews(entries: Iterable[Mapping[str, Any]]) -> tuple[Review, ...]:
    return tuple(
        Review(
            id=int(entry["id"]),
            author=_login(entry.get("user")),
            state=str(entry.get("state", "")),
            commit_id=str(entry.get("commit_id", "")),
            submitted_at=str(entry.get("submitted_at") or ""),
        )
        for entry in entries
    )
