"""The API path of a repository, its owner and name quoted: one spelling for every github module."""

from __future__ import annotations

from urllib.parse import quote


def repo_path(repo_full_name: str) -> str:
    owner, _, name = repo_full_name.partition("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
