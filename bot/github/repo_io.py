"""Reads of a repository for the ``repo:`` reconciler: its default branch, the open milestones and
pull requests a fan-out wakes, and what release discovery compares (tags, release branches,
milestones, labels). Lists at ``per_page=100`` through ``bot.github.paging``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

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


def ref_names(gh: Github, repo: str, namespace: str, prefix: str = "") -> list[str]:
    """The names of the refs under ``refs/{namespace}/`` starting with ``prefix`` (one
    ``matching-refs`` read), sorted: ``ref_names(gh, repo, "heads", "release/")``."""
    return sorted(matching_refs(gh, repo, namespace, prefix))


def matching_refs(gh: Github, repo: str, namespace: str, prefix: str = "") -> dict[str, str]:
    """name -> sha of the refs under ``refs/{namespace}/`` starting with ``prefix``. The one read of
    them that release discovery and every release's facts share (the same URL, so one answer of
    the read cache serves both within a delivery: ``bot.github.freshness``)."""
    path = f"{repo_path(repo)}/git/matching-refs/{namespace}"
    if prefix:
        path += f"/{quote(prefix, safe='/')}"
    out: dict[str, str] = {}
    for ref in list_all(gh, path):
        name = ref.get("ref")
        if isinstance(name, str):
            sha = (ref.get("object") or {}).get("sha")
            out[name.removeprefix(f"refs/{namespace}/")] = sha if isinstance(sha, str) else ""
    return out


def milestones(gh: Github, repo: str, state: str, max_pages: int) -> list[dict[str, Any]]:
    return list_all(gh, f"{repo_path(repo)}/milestones", {"state": state}, max_pages=max_pages)


def label_names(gh: Github, repo: str, max_pages: int) -> set[str]:
    """The repository's label names, lower-cased."""
    return {str(label.get("name", "")).lower() for label in list_all(gh, f"{repo_path(repo)}/labels",
                                                                      max_pages=max_pages)}
