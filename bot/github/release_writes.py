"""The writes of the release reconciler, each one counted call through PyGithub's requester.

Idempotence is the caller's job (it writes only a difference it computed from fresh facts);
these helpers only shape the requests. Reactions are idempotent on GitHub itself (the same
user's same reaction answers 200 with the existing one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.release_types import Comment, Item
from bot.github.paths import repo_path
from bot.github.release_json import comment_of, item_of

if TYPE_CHECKING:
    from github import Github


def _request(gh: Github, verb: str, path: str, body: dict[str, Any] | list[Any] | None = None) -> Any:
    _headers, data = gh.requester.requestJsonAndCheck(verb, path, input=body)
    return data


def create_issue(gh: Github, repo: str, title: str, body: str, labels: list[str], milestone: int) -> dict[str, Any]:
    return _request(gh, "POST", f"{repo_path(repo)}/issues",
                    {"title": title, "body": body, "labels": labels, "milestone": milestone})


def open_issue(gh: Github, repo: str, title: str, body: str, labels: list[str], milestone: int) -> Item:
    """Create an issue in the milestone: the tracking issue, as GitHub now shows it."""
    return item_of(create_issue(gh, repo, title, body, labels, milestone))


def post_comment(gh: Github, repo: str, number: int, body: str) -> Comment | None:
    """Create a comment; the comment GitHub answered (None when the answer carries no id)."""
    data = create_comment(gh, repo, number, body)
    return comment_of(data) if isinstance(data, dict) and isinstance(data.get("id"), int) else None


def update_issue(gh: Github, repo: str, number: int, fields: dict[str, Any]) -> dict[str, Any]:
    return _request(gh, "PATCH", f"{repo_path(repo)}/issues/{number}", fields)


def add_labels(gh: Github, repo: str, number: int, labels: list[str]) -> Any:
    return _request(gh, "POST", f"{repo_path(repo)}/issues/{number}/labels", {"labels": labels})


def create_comment(gh: Github, repo: str, number: int, body: str) -> dict[str, Any]:
    return _request(gh, "POST", f"{repo_path(repo)}/issues/{number}/comments", {"body": body})


def update_comment(gh: Github, repo: str, comment_id: int, body: str) -> dict[str, Any]:
    return _request(gh, "PATCH", f"{repo_path(repo)}/issues/comments/{comment_id}", {"body": body})


def react(gh: Github, repo: str, comment_id: int, content: str) -> Any:
    return _request(gh, "POST", f"{repo_path(repo)}/issues/comments/{comment_id}/reactions", {"content": content})


def create_label(gh: Github, repo: str, name: str, color: str, description: str) -> Any:
    return _request(gh, "POST", f"{repo_path(repo)}/labels", {"name": name, "color": color, "description": description})
