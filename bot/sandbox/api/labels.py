"""Repository labels (create, list, get, update, delete → ``label``) and the labels of an issue
(list, add, replace, remove one, remove all → ``issues``/``pull_request`` ``labeled``/``unlabeled``).

Label names are matched case-insensitively, as on GitHub; applying an unknown name to an issue creates
the label. ``triage`` and above may label; ``read`` may not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response

from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import (
    ApiError,
    json_body,
    json_value,
    list_in_repo,
    no_content,
    read_in_repo,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.issue_side import (
    add_label,
    emit_created,
    find_issue,
    issues_repo,
    label_names,
    normalize_color,
    optional_text,
    remove_label,
    set_labels,
)
from bot.sandbox.state import Issue, Label, Repo, SandboxState
from bot.sandbox.webhooks import emit

bp = Blueprint("sandbox_labels", __name__)


_repo = issues_repo


def _find(repo: Repo, name: str) -> Label:
    lbl = repo.labels.get(unquote(name).lower())
    if lbl is None:
        raise ApiError(404, "Not Found")
    return lbl


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        validation_failed("Label", "name", "missing_field")
    return value.strip()


# --------------------------------------------------------------------------- repository labels


@bp.get("/repos/<owner>/<name>/labels")
def list_labels(owner: str, name: str) -> Response:
    return list_in_repo(
        owner,
        name,
        lambda st, repo: [
            shapes.label(repo, lbl) for lbl in sorted(repo.labels.values(), key=lambda x: x.id)
        ],
    )


@bp.post("/repos/<owner>/<name>/labels")
def create_label(owner: str, name: str) -> Response:
    st = state()
    data = json_body()
    with st.lock:
        repo = _repo(owner, name, "triage")
        label_name = _check_name(data.get("name"))
        if label_name.lower() in repo.labels:
            validation_failed("Label", "name", "already_exists")
        color = normalize_color(data.get("color")) or "ededed"
        description = optional_text(data, "description", "Label")
        lbl = Label(id=st.next_id("label"), name=label_name, color=color, description=description)
        repo.labels[label_name.lower()] = lbl
        return emit_created(st, repo, "label", shapes.label(repo, lbl))


@bp.get("/repos/<owner>/<name>/labels/<path:label_name>")
def get_label(owner: str, name: str, label_name: str) -> Response:
    return read_in_repo(owner, name, lambda st, repo: shapes.label(repo, _find(repo, label_name)))


@bp.patch("/repos/<owner>/<name>/labels/<path:label_name>")
def update_label(owner: str, name: str, label_name: str) -> Response:
    st = state()
    data = json_body()
    with st.lock:
        repo = _repo(owner, name, "triage")
        lbl = _find(repo, label_name)
        changes: dict[str, Any] = {}
        new_name = _check_name(data["new_name"]) if "new_name" in data else lbl.name
        if new_name.lower() != lbl.name.lower() and new_name.lower() in repo.labels:
            validation_failed("Label", "name", "already_exists")
        color = normalize_color(data.get("color")) if "color" in data else lbl.color
        description = optional_text(data, "description", "Label", lbl.description)
        if new_name != lbl.name:
            changes["name"] = {"from": lbl.name}
            old_lower = lbl.name.lower()
            del repo.labels[old_lower]
            repo.labels[new_name.lower()] = lbl
            for issue in repo.issues.values():  # issues refer to labels by name
                issue.labels = [new_name if n.lower() == old_lower else n for n in issue.labels]
            lbl.name = new_name
        if color and color != lbl.color:
            changes["color"] = {"from": lbl.color}
            lbl.color = color
        if description != lbl.description:
            changes["description"] = {"from": lbl.description or ""}
            lbl.description = description
        body = shapes.label(repo, lbl)
        if changes:
            emit("label", "edited", {"label": body, "changes": changes}, repo)
    return respond(body)


@bp.delete("/repos/<owner>/<name>/labels/<path:label_name>")
def delete_label(owner: str, name: str, label_name: str) -> Response:
    st = state()
    with st.lock:
        repo = _repo(owner, name, "triage")
        lbl = _find(repo, label_name)
        body = shapes.label(repo, lbl)
        del repo.labels[lbl.name.lower()]
        for issue in repo.issues.values():
            # GitHub removes a deleted label from its issues without per-issue webhooks.
            issue.labels = [n for n in issue.labels if n.lower() != lbl.name.lower()]
        emit("label", "deleted", {"label": body}, repo)
    return no_content()


# --------------------------------------------------------------------------- labels of an issue


def _issue_labels_body(repo: Repo, number: int) -> list[dict[str, Any]]:
    return shapes.issue_labels(repo, repo.issues[number])


@bp.get("/repos/<owner>/<name>/issues/<number>/labels")
def list_issue_labels(owner: str, name: str, number: str) -> Response:
    return list_in_repo(
        owner, name, lambda st, repo: _issue_labels_body(repo, find_issue(repo, number).number)
    )


def _request_labels() -> list[str]:
    # The body may be a bare list, which json_body() (objects only) refuses.
    data = json_value()
    if data is None:
        validation_failed("Label", "labels", "missing_field")
    return label_names(data)


def _change_issue_labels(
    owner: str, name: str, number: str, change: Callable[[SandboxState, Repo, Issue], None]
) -> list[dict[str, Any]]:
    """Apply ``change`` to an issue's labels (``triage`` needed); the issue's labels afterwards."""
    st = state()
    with st.lock:
        repo = _repo(owner, name, "triage")
        issue = find_issue(repo, number)
        change(st, repo, issue)
        return _issue_labels_body(repo, issue.number)


@bp.post("/repos/<owner>/<name>/issues/<number>/labels")
def add_issue_labels(owner: str, name: str, number: str) -> Response:
    names = _request_labels()

    def add(st: SandboxState, repo: Repo, issue: Issue) -> None:
        for label_name in names:
            add_label(st, repo, issue, label_name)

    return respond(_change_issue_labels(owner, name, number, add))


@bp.put("/repos/<owner>/<name>/issues/<number>/labels")
def replace_issue_labels(owner: str, name: str, number: str) -> Response:
    names = _request_labels()
    return respond(
        _change_issue_labels(owner, name, number, lambda st, repo, issue: set_labels(st, repo, issue, names))
    )


@bp.delete("/repos/<owner>/<name>/issues/<number>/labels")
def clear_issue_labels(owner: str, name: str, number: str) -> Response:
    _change_issue_labels(owner, name, number, lambda st, repo, issue: set_labels(st, repo, issue, []))
    return no_content()


@bp.delete("/repos/<owner>/<name>/issues/<number>/labels/<path:label_name>")
def remove_issue_label(owner: str, name: str, number: str, label_name: str) -> Response:
    def remove(st: SandboxState, repo: Repo, issue: Issue) -> None:
        if not remove_label(st, repo, issue, unquote(label_name)):
            raise ApiError(404, "Label does not exist")

    return respond(_change_issue_labels(owner, name, number, remove))
