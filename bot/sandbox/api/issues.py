"""Issues and pull requests through the issues API: create, get, list, update → ``issues`` (or
``pull_request`` for a pull request) webhooks.

GitHub's rules: anyone who can read may open an issue, but labels, milestone and assignees from someone
below ``triage`` are dropped silently; an author may edit and close their own issue; ``triage`` may
close, label and set milestones; editing someone else's title or body takes ``write``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import serializers
from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import (
    ApiError,
    actor_login,
    created,
    json_body,
    not_found,
    paginate,
    read_in_repo,
    require_auth,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.issue_side import (
    emit_issue_change,
    ensure_label,
    find_issue,
    is_author,
    issues_repo,
    label_names,
    record_event,
    repo_for_contribution,
    role_allows,
    set_labels,
    set_milestone,
    set_state,
    touch,
)
from bot.sandbox.state import Issue, Repo, SandboxState

bp = Blueprint("sandbox_issues", __name__)

_STATE_REASONS = ("completed", "not_planned", "reopened", "duplicate")


_repo = issues_repo


def _milestone_number(repo: Repo, value: Any) -> int | None:
    """A request's ``milestone`` (number or null) checked against the repository."""
    if value is None:
        return None
    if isinstance(value, bool):
        validation_failed("Issue", "milestone")
    try:
        number = int(value)
    except (TypeError, ValueError):
        validation_failed("Issue", "milestone")
    if number not in repo.milestones:
        validation_failed("Issue", "milestone")
    return number


def _assignees(st: SandboxState, repo: Repo, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        validation_failed("Issue", "assignees")
    out: list[str] = []
    for login in value:
        user = st.user(login)
        # GitHub silently skips assignees who cannot be assigned (no access to the repository).
        if user is not None and st.role(repo, user.login) is not None and user.login not in out:
            out.append(user.login)
    return out


def _assignment(st: SandboxState, repo: Repo, issue: Issue, action: str, login: str) -> None:
    record_event(st, repo, issue, action, assignee=login)
    emit_issue_change(st, repo, issue, action, assignee=serializers.user(st, login))


def _parse_time(value: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        validation_failed("Issue", field)


# --------------------------------------------------------------------------- list


@bp.get("/repos/<owner>/<name>/issues")
def list_issues(owner: str, name: str) -> Response:
    st = state()
    args = request.args
    wanted = args.get("state", "open")
    sort = args.get("sort", "created")
    direction = args.get("direction", "desc")
    if wanted not in ("open", "closed", "all"):
        validation_failed("Issue", "state")
    if sort not in ("created", "updated", "comments"):
        validation_failed("Issue", "sort")
    if direction not in ("asc", "desc"):
        validation_failed("Issue", "direction")
    since = _parse_time(args["since"], "since") if args.get("since") else None
    with st.lock:
        repo = _repo(owner, name)
        items = [i for i in repo.issues.values() if not i.deleted]
        if wanted != "all":
            items = [i for i in items if i.state == wanted]
        milestone = args.get("milestone")
        if milestone is not None:
            if milestone == "*":
                items = [i for i in items if i.milestone is not None]
            elif milestone == "none":
                items = [i for i in items if i.milestone is None]
            else:
                try:
                    number = int(milestone)
                except ValueError:
                    validation_failed("Issue", "milestone")
                if number not in repo.milestones:
                    not_found()
                items = [i for i in items if i.milestone == number]
        if args.get("labels"):
            required = {n.strip().lower() for n in args["labels"].split(",") if n.strip()}
            items = [i for i in items if required <= {n.lower() for n in i.labels}]
        if args.get("creator"):
            creator = args["creator"].lower()
            items = [i for i in items if i.user.lower() == creator]
        assignee = args.get("assignee")
        if assignee == "none":
            items = [i for i in items if not i.assignees]
        elif assignee == "*":
            items = [i for i in items if i.assignees]
        elif assignee:
            items = [i for i in items if assignee.lower() in {a.lower() for a in i.assignees}]
        if since is not None:
            items = [i for i in items if i.updated_at >= since]

        def key(i: Issue) -> tuple[Any, ...]:
            if sort == "updated":
                return (i.updated_at, i.number)
            if sort == "comments":
                return (shapes.comment_count(repo, i.number), i.number)
            return (i.created_at, i.number)

        items.sort(key=key, reverse=direction == "desc")
        return paginate(shapes.Shaped(items, lambda i: shapes.issue(st, repo, i)))


# --------------------------------------------------------------------------- create


@bp.post("/repos/<owner>/<name>/issues")
def create_issue(owner: str, name: str) -> Response:
    st = state()
    require_auth()
    data = json_body()
    with st.lock:
        repo = repo_for_contribution(owner, name)
        title = data.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if not isinstance(title, str) or not title.strip():
            validation_failed("Issue", "title", "missing_field")
        body = data.get("body")
        if body is not None and not isinstance(body, str):
            validation_failed("Issue", "body")
        can_triage = role_allows(st, repo, "triage")
        milestone = _milestone_number(repo, data.get("milestone"))
        labels = label_names(data["labels"]) if data.get("labels") is not None else []
        assignees = _assignees(st, repo, data.get("assignees") or data.get("assignee"))
        if not can_triage:
            # GitHub drops what only triagers may set, without an error.
            milestone, labels, assignees = None, [], []
        now = st.now()
        issue = Issue(id=st.next_id("issue"), number=repo.next_number, title=title, user=actor_login(),
                      created_at=now, updated_at=now, body=body, assignees=assignees)
        repo.next_number += 1
        repo.issues[issue.number] = issue
        # The issue opens with what came with it (as GitHub's `opened` payload shows); the
        # `labeled`/`milestoned` webhooks and events follow, one per label.
        applied = [ensure_label(st, repo, n) for n in labels]
        issue.labels = [lbl.name for lbl in applied]
        issue.milestone = milestone
        emit_issue_change(st, repo, issue, "opened")
        for lbl in applied:
            record_event(st, repo, issue, "labeled", label={"name": lbl.name, "color": lbl.color})
            emit_issue_change(st, repo, issue, "labeled", label=shapes.label(repo, lbl))
        if milestone is not None:
            m = repo.milestones[milestone]
            record_event(st, repo, issue, "milestoned", milestone={"title": m.title})
            emit_issue_change(st, repo, issue, "milestoned", milestone=shapes.milestone(st, repo, m))
        for login in assignees:
            _assignment(st, repo, issue, "assigned", login)
        out = shapes.issue(st, repo, issue)
    return created(out)


# --------------------------------------------------------------------------- get and update


@bp.get("/repos/<owner>/<name>/issues/<number>")
def get_issue(owner: str, name: str, number: str) -> Response:
    return read_in_repo(owner, name, lambda st, repo: shapes.issue(st, repo, find_issue(repo, number)))


@bp.patch("/repos/<owner>/<name>/issues/<number>")
def update_issue(owner: str, name: str, number: str) -> Response:
    st = state()
    require_auth()
    data = json_body()
    with st.lock:
        repo = repo_for_contribution(owner, name)
        issue = find_issue(repo, number)
        author = is_author(issue.user)
        can_triage = role_allows(st, repo, "triage")
        can_write = role_allows(st, repo, "write")

        # --- validate everything before changing anything
        title = data.get("title", issue.title)
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if not isinstance(title, str) or not title.strip():
            validation_failed("Issue", "title", "missing_field")
        body = data.get("body", issue.body)
        if body is not None and not isinstance(body, str):
            validation_failed("Issue", "body")
        new_state = data.get("state", issue.state)
        if new_state not in ("open", "closed"):
            validation_failed("Issue", "state")
        if new_state == "open" and issue.pull is not None and issue.pull.merged:
            raise ApiError(422, "Validation Failed", errors=[{
                "resource": "Issue", "field": "state", "code": "custom",
                "message": "state cannot be changed. The pull request has been merged."}])
        reason = data.get("state_reason")
        if reason is not None and reason not in _STATE_REASONS:
            validation_failed("Issue", "state_reason")
        triage_fields = {k for k in ("milestone", "labels", "assignees", "assignee") if k in data}
        milestone = _milestone_number(repo, data["milestone"]) if "milestone" in data else issue.milestone
        labels = label_names(data["labels"] or []) if "labels" in data else None
        assignees = (_assignees(st, repo, data.get("assignees", data.get("assignee")))
                     if {"assignees", "assignee"} & triage_fields else None)

        text_changed = title != issue.title or body != issue.body
        if text_changed and not (author or can_write):
            raise ApiError(403, "Resource not accessible by personal access token")
        if new_state != issue.state and not (author or can_triage):
            raise ApiError(403, "Resource not accessible by personal access token")
        if triage_fields and not can_triage:
            if not author:
                raise ApiError(403, "Resource not accessible by personal access token")
            # an author without triage rights: GitHub ignores these fields
            milestone, labels, assignees = issue.milestone, None, None

        # --- apply, with GitHub's events and webhooks in order
        changes: dict[str, Any] = {}
        if title != issue.title:
            changes["title"] = {"from": issue.title}
            record_event(st, repo, issue, "renamed", rename={"from": issue.title, "to": title})
            issue.title = title
        if body != issue.body:
            changes["body"] = {"from": issue.body or ""}
            issue.body = body
        if changes:
            touch(st, repo, issue)
            emit_issue_change(st, repo, issue, "edited", changes=changes)
        if milestone != issue.milestone:
            set_milestone(st, repo, issue, milestone)
        if labels is not None:
            set_labels(st, repo, issue, labels)
        if assignees is not None and assignees != issue.assignees:
            removed = [a for a in issue.assignees if a not in assignees]
            added = [a for a in assignees if a not in issue.assignees]
            issue.assignees = assignees
            touch(st, repo, issue)
            for login in removed:
                _assignment(st, repo, issue, "unassigned", login)
            for login in added:
                _assignment(st, repo, issue, "assigned", login)
        if new_state != issue.state or (new_state == "closed" and reason):
            set_state(st, repo, issue, new_state, reason)
        out = shapes.issue(st, repo, issue)
    return respond(out)
