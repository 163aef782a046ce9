"""Rules shared by the issue-side API modules (issues, labels, milestones, comments, events).

Who may do what on an issue (GitHub's roles), recording issue events with their actor, and sending
the right webhook for a change: ``issues`` for an issue, ``pull_request`` for a pull request changed
through the issues API, as GitHub does. Call these while holding ``state.lock``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response

from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import (
    Actor,
    ApiError,
    actor,
    actor_login,
    created,
    found,
    get_repo,
    not_found,
    validation_failed,
)
from bot.sandbox.state import Issue, IssueEvent, Label, Milestone, Repo, SandboxState, role_at_least
from bot.sandbox.webhooks import emit

# GitHub keeps only a milestone's due *date*, taken in Pacific time (its database's zone), and returns
# it as midnight Pacific in UTC: 08:00Z in winter, 07:00Z under daylight saving time.
DUE_ON_ZONE = ZoneInfo("America/Los_Angeles")

# Colours GitHub picks for labels created implicitly (a label name added to an issue that did not exist).
_IMPLICIT_COLOR = "ededed"
_HEX_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


# --------------------------------------------------------------------------- permissions


def role_allows(st: SandboxState, repo: Repo, needed: str, a: Actor | None = None) -> bool:
    """Whether the caller has ``needed`` on ``repo``; the App's installation token counts as write
    (its own permission set was checked by ``get_repo``)."""
    a = a or actor()
    if a.kind == "installation":
        return True
    if a.kind != "user":
        return False
    return role_at_least(st.role(repo, a.login), needed)


def require_role(st: SandboxState, repo: Repo, needed: str) -> None:
    if not role_allows(st, repo, needed):
        raise ApiError(
            403,
            "Must have admin rights to Repository."
            if needed == "admin"
            else "Resource not accessible by personal access token",
        )


def issues_repo(owner: str, name: str, needed: str = "read") -> Repo:
    """The repository for an issue-side request; the App's token needs its ``issues`` permission."""
    return get_repo(owner, name, needed, app_permission="issues")


def repo_for_contribution(owner: str, name: str) -> Repo:
    """The repository for a write that anyone who can read may make (open an issue, comment, react).

    People need only read access; the App's installation token needs its ``issues`` permission at
    write level, as on GitHub (``get_repo`` checks App permissions only for writes)."""
    needed = "write" if actor().kind == "installation" else "read"
    return get_repo(owner, name, needed, app_permission="issues")


def is_author(login: str | None, a: Actor | None = None) -> bool:
    a = a or actor()
    return a.kind == "user" and login is not None and (a.login or "").lower() == login.lower()


# --------------------------------------------------------------------------- look-ups and parsing


def find_issue(repo: Repo, number: Any) -> Issue:
    try:
        n = int(number)
    except (TypeError, ValueError):
        not_found()
    it = repo.issues.get(n)
    if it is None or it.deleted:
        not_found()
    return it


def find_milestone(repo: Repo, number: Any) -> Milestone:
    try:
        n = int(number)
    except (TypeError, ValueError):
        not_found()
    return found(repo.milestones.get(n))


def parse_due_on(value: Any, resource: str = "Milestone") -> datetime | None:
    """``due_on`` as GitHub stores it: the Pacific calendar date of the ISO 8601 instant (a bare date is
    that date), returned as midnight Pacific in UTC — so ``2030-07-04T06:59:00Z`` becomes
    ``2030-07-03T07:00:00Z``, as github.com answers."""
    if value is None:
        return None
    if not isinstance(value, str):
        validation_failed(resource, "due_on")
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            day = moment.astimezone(DUE_ON_ZONE).date()
    except ValueError:
        validation_failed(resource, "due_on", message=f"{value!r} is not a valid ISO 8601 timestamp")
    return datetime.combine(day, time(0, 0), tzinfo=DUE_ON_ZONE).astimezone(UTC)


def optional_text(data: dict[str, Any], key: str, resource: str, default: str | None = None) -> str | None:
    """``data[key]`` when it is a string or null (``default`` when absent); 422 for anything else."""
    value = data.get(key, default)
    if value is not None and not isinstance(value, str):
        validation_failed(resource, key)
    return value


def emit_created(st: SandboxState, repo: Repo, event: str, body: dict[str, Any]) -> Response:
    """A repository object (label, milestone) was created: its ``created`` webhook, then the 201 answer."""
    emit(event, "created", {event: body}, repo)
    return created(body)


def normalize_color(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        validation_failed("Label", "color")
    color = value.lstrip("#")
    if not _HEX_COLOR.match(color):
        validation_failed("Label", "color")
    return color.lower()


def ensure_label(st: SandboxState, repo: Repo, name: str) -> Label:
    """The repository's label ``name`` (case-insensitive), created if unknown — as GitHub does when a
    label name is applied to an issue — with its ``label`` ``created`` webhook."""
    lbl = repo.labels.get(name.lower())
    if lbl is not None:
        return lbl
    lbl = Label(id=st.next_id("label"), name=name, color=_IMPLICIT_COLOR)
    repo.labels[name.lower()] = lbl
    emit("label", "created", lambda: {"label": shapes.label(repo, lbl)}, repo)
    return lbl


def label_names(value: Any) -> list[str]:
    """The label names of a request (``["a", "b"]``, ``{"labels": [...]}`` or label objects)."""
    if isinstance(value, dict):
        value = value.get("labels")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        validation_failed("Label", "labels")
    names: list[str] = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            validation_failed("Label", "name", "missing_field")
        if name.lower() not in {n.lower() for n in names}:
            names.append(name.strip())
    return names


# --------------------------------------------------------------------------- events and webhooks


def record_event(
    st: SandboxState, repo: Repo, issue: Issue, event: str, actor_login: str | None = None, **data: Any
) -> IssueEvent:
    """Append an issue event with the login that caused it (the caller of the current request by default)."""
    data.update(creation_order(st, repo))
    ev = IssueEvent(
        id=st.next_id("issue_event"),
        issue_number=issue.number,
        event=event,
        actor=actor_login or actor_login_or_bot(),
        created_at=st.now(),
        data=data,
    )
    repo.events.append(ev)
    return ev


def creation_order(st: SandboxState, repo: Repo) -> dict[str, int]:
    """Where a new event or comment falls among the repository's commits and issue events.

    The sandbox clock has whole seconds, so the timeline cannot order a label and a commit made in
    the same second by time alone: ``_commits_seen`` (commits that existed then; ``repo.commits``
    keeps insertion order) and ``_events_seen`` (``repo.events`` is append-only) keep the real order.
    """
    return {"_commits_seen": len(repo.commits), "_events_seen": len(repo.events)}


def actor_login_or_bot() -> str:
    return actor_login()


def touch(st: SandboxState, repo: Repo, issue: Issue) -> None:
    issue.updated_at = st.now()
    repo.updated_at = issue.updated_at


def pull_payload(st: SandboxState, repo: Repo, issue: Issue) -> dict[str, Any]:
    """The webhook ``pull_request`` object of a pull request (shaped by the pulls serializers)."""
    from bot.sandbox import serializers_pulls  # imported late: it imports this module's shapes

    return serializers_pulls.pull_request(st, repo, issue, webhook=True)


def emit_issue_change(st: SandboxState, repo: Repo, issue: Issue, action: str, **extra: Any) -> None:
    """Send ``issues``/``action`` (``pull_request``/``action`` for a pull request) with ``extra`` fields.

    The payload is built now, under the lock, so it shows the state right after this change.
    """
    if issue.pull is not None:
        payload = {"number": issue.number, "pull_request": pull_payload(st, repo, issue), **extra}
        emit("pull_request", action, payload, repo)
    else:
        payload = {"issue": shapes.issue(st, repo, issue, webhook=True), **extra}
        emit("issues", action, payload, repo)


def set_labels(st: SandboxState, repo: Repo, issue: Issue, names: list[str]) -> None:
    """Make ``names`` the issue's labels: ``unlabeled`` for removed ones, then ``labeled`` for new ones."""
    wanted = [ensure_label(st, repo, n).name for n in names]
    wanted_lower = {n.lower() for n in wanted}
    for name in [n for n in issue.labels if n.lower() not in wanted_lower]:
        remove_label(st, repo, issue, name)
    for name in wanted:
        add_label(st, repo, issue, name)


def add_label(st: SandboxState, repo: Repo, issue: Issue, name: str) -> bool:
    lbl = ensure_label(st, repo, name)
    if lbl.name.lower() in {n.lower() for n in issue.labels}:
        return False
    issue.labels.append(lbl.name)
    touch(st, repo, issue)
    record_event(st, repo, issue, "labeled", label={"name": lbl.name, "color": lbl.color})
    emit_issue_change(st, repo, issue, "labeled", label=shapes.label(repo, lbl))
    return True


def remove_label(st: SandboxState, repo: Repo, issue: Issue, name: str) -> bool:
    current = next((n for n in issue.labels if n.lower() == name.lower()), None)
    if current is None:
        return False
    issue.labels.remove(current)
    touch(st, repo, issue)
    lbl = repo.labels.get(current.lower())
    shape = shapes.label(repo, lbl) if lbl else {"name": current, "color": _IMPLICIT_COLOR}
    record_event(st, repo, issue, "unlabeled", label={"name": current, "color": shape["color"]})
    emit_issue_change(st, repo, issue, "unlabeled", label=shape)
    return True


def set_milestone(st: SandboxState, repo: Repo, issue: Issue, number: int | None) -> None:
    """Move the issue to milestone ``number`` (None: out of any) with GitHub's events and webhooks."""
    if issue.milestone == number:
        return
    old = repo.milestones.get(issue.milestone) if issue.milestone is not None else None
    if old is not None:
        touch(st, repo, issue)
        record_event(st, repo, issue, "demilestoned", milestone={"title": old.title})
        if issue.pull is not None:
            # GitHub's pull_request `demilestoned` still shows the milestone on the pull request
            # (its schema requires it); the issues one shows null.
            emit_issue_change(st, repo, issue, "demilestoned", milestone=shapes.milestone(st, repo, old))
            issue.milestone = None
        else:
            issue.milestone = None
            emit_issue_change(st, repo, issue, "demilestoned", milestone=shapes.milestone(st, repo, old))
    issue.milestone = None
    if number is not None:
        new = repo.milestones[number]
        issue.milestone = number
        touch(st, repo, issue)
        record_event(st, repo, issue, "milestoned", milestone={"title": new.title})
        emit_issue_change(st, repo, issue, "milestoned", milestone=shapes.milestone(st, repo, new))


def set_state(st: SandboxState, repo: Repo, issue: Issue, state: str, reason: str | None = None) -> None:
    """Close or reopen with ``closed``/``reopened`` events and webhooks (the pulls module merges)."""
    if issue.state == state:
        if state == "closed" and reason and issue.state_reason != reason:
            issue.state_reason = reason
            touch(st, repo, issue)
        return
    now = st.now()
    issue.state = state
    if state == "closed":
        issue.closed_at = now
        issue.closed_by = actor_login()
        issue.state_reason = None if issue.pull is not None else (reason or "completed")
        touch(st, repo, issue)
        record_event(
            st, repo, issue, "closed", **({"state_reason": issue.state_reason} if issue.pull is None else {})
        )
        emit_issue_change(st, repo, issue, "closed")
    else:
        issue.closed_at = None
        issue.closed_by = None
        issue.state_reason = None if issue.pull is not None else "reopened"
        touch(st, repo, issue)
        record_event(st, repo, issue, "reopened")
        emit_issue_change(st, repo, issue, "reopened")
