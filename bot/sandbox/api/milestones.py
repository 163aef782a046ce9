"""Milestones: create, list, get, update, delete → ``milestone`` webhooks.

``write`` and above manage milestones (``triage`` may only put issues into them). ``due_on`` keeps the
calendar date only and comes back at a fixed hour UTC, as on GitHub; ``open_issues``/``closed_issues``
are counted live.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import (
    actor_login,
    json_body,
    no_content,
    paginate,
    read_in_repo,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.issue_side import (
    emit_created,
    find_milestone,
    issues_repo,
    optional_text,
    parse_due_on,
    touch,
)
from bot.sandbox.state import Milestone, iso
from bot.sandbox.webhooks import emit

bp = Blueprint("sandbox_milestones", __name__)

_STATES = ("open", "closed")


_repo = issues_repo


@bp.get("/repos/<owner>/<name>/milestones")
def list_milestones(owner: str, name: str) -> Response:
    st = state()
    wanted = request.args.get("state", "open")
    sort = request.args.get("sort", "due_on")
    direction = request.args.get("direction", "asc")
    if (
        wanted not in ("open", "closed", "all")
        or sort not in ("due_on", "completeness")
        or direction not in ("asc", "desc")
    ):
        validation_failed("Milestone", "state" if wanted not in ("open", "closed", "all") else "sort")
    with st.lock:
        repo = _repo(owner, name)
        items = [m for m in repo.milestones.values() if wanted == "all" or m.state == wanted]
        reverse = direction == "desc"
        if sort == "due_on":
            # Milestones without a due date come last in ascending order (and first when descending).
            far = (1, 0.0)
            items.sort(
                key=lambda m: ((0, m.due_on.timestamp()) if m.due_on else far, m.number), reverse=reverse
            )
        else:

            def completeness(m: Milestone) -> float:
                o, c = shapes.milestone_counts(repo, m.number)
                return c / (o + c) if o + c else 0.0

            items.sort(key=lambda m: (completeness(m), m.number), reverse=reverse)
        body = [shapes.milestone(st, repo, m) for m in items]
    return paginate(body)


@bp.post("/repos/<owner>/<name>/milestones")
def create_milestone(owner: str, name: str) -> Response:
    st = state()
    data = json_body()
    with st.lock:
        repo = _repo(owner, name, "write")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            validation_failed("Milestone", "title", "missing_field")
        if any(m.title == title for m in repo.milestones.values()):
            validation_failed("Milestone", "title", "already_exists")
        milestone_state = data.get("state", "open")
        if milestone_state not in _STATES:
            validation_failed("Milestone", "state")
        description = optional_text(data, "description", "Milestone")
        due_on = parse_due_on(data.get("due_on"))
        now = st.now()
        m = Milestone(
            id=st.next_id("milestone"),
            number=repo.next_milestone_number,
            title=title,
            creator=actor_login(),
            created_at=now,
            updated_at=now,
            description=description,
            state=milestone_state,
            due_on=due_on,
            closed_at=now if milestone_state == "closed" else None,
        )
        repo.next_milestone_number += 1
        repo.milestones[m.number] = m
        return emit_created(st, repo, "milestone", shapes.milestone(st, repo, m))


@bp.get("/repos/<owner>/<name>/milestones/<number>")
def get_milestone(owner: str, name: str, number: str) -> Response:
    return read_in_repo(
        owner, name, lambda st, repo: shapes.milestone(st, repo, find_milestone(repo, number))
    )


@bp.patch("/repos/<owner>/<name>/milestones/<number>")
def update_milestone(owner: str, name: str, number: str) -> Response:
    st = state()
    data = json_body()
    with st.lock:
        repo = _repo(owner, name, "write")
        m = find_milestone(repo, number)
        changes: dict[str, Any] = {}
        if "title" in data:
            title = data["title"]
            if not isinstance(title, str) or not title.strip():
                validation_failed("Milestone", "title", "missing_field")
            if any(o.title == title and o.number != m.number for o in repo.milestones.values()):
                validation_failed("Milestone", "title", "already_exists")
            if title != m.title:
                changes["title"] = {"from": m.title}
        new_state = data.get("state", m.state)
        if new_state not in _STATES:
            validation_failed("Milestone", "state")
        if "description" in data:
            if optional_text(data, "description", "Milestone") != m.description:
                changes["description"] = {"from": m.description or ""}
        due_on = parse_due_on(data["due_on"]) if "due_on" in data else m.due_on
        if due_on != m.due_on:
            changes["due_on"] = {"from": iso(m.due_on) or ""}
        # every check passed: apply
        if "title" in changes:
            m.title = data["title"]
        if "description" in changes:
            m.description = data["description"]
        m.due_on = due_on
        now = st.now()
        if changes or new_state != m.state:
            m.updated_at = now
        if changes:
            emit(
                "milestone", "edited", {"changes": changes, "milestone": shapes.milestone(st, repo, m)}, repo
            )
        if new_state != m.state:
            m.state = new_state
            m.closed_at = now if new_state == "closed" else None
            action = "closed" if new_state == "closed" else "opened"
            emit("milestone", action, {"milestone": shapes.milestone(st, repo, m)}, repo)
        body = shapes.milestone(st, repo, m)
    return respond(body)


@bp.delete("/repos/<owner>/<name>/milestones/<number>")
def delete_milestone(owner: str, name: str, number: str) -> Response:
    st = state()
    with st.lock:
        repo = _repo(owner, name, "write")
        m = find_milestone(repo, number)
        last = shapes.milestone(st, repo, m)
        del repo.milestones[m.number]
        for issue in repo.issues.values():
            if issue.milestone == m.number:
                # GitHub drops the milestone from its issues silently (no per-issue webhooks).
                issue.milestone = None
                touch(st, repo, issue)
        emit("milestone", "deleted", {"milestone": last}, repo)
    return no_content()
