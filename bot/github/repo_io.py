"""Reads of a repository for the ``repo:`` reconciler: its default branch and the open milestones and
pull requests a fan-out wakes (lists at ``per_page=100`` through ``bot.github.paging``)."""

from __future__ import annotations

from typing import Any

from github import Github

from bot.github.paging import list_all
from bot.github.paths import repo_path


def default_branch(gh: Github, repo: str) -> str:
    """The repository's default branch (``GET /repos/{owner}/{name}``)."""
    _, data = gh.requester.requestJsonAndCheck("GET", repo_path(repo))
    return str(data.get("default_branch"))


def open_milestones(gh: Github, repo: str) -> list[dict[str, Any]]:
    return list_all(gh, f"{repo_path(repo)}/milestones", {"state": "open"})


def open_pull_bases(gh: Github, repo: str) -> list[tuple[int, str]]:
    """(number, base branch) of every open pull request."""
    return [
        (int(pull["number"]), str((pull.get("base") or {}).get("ref") or ""))
        for pull in list_all(gh, f"{repo_path(repo)}/pulls", {"state": "open"})
    ]
