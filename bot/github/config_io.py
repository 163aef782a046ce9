"""Reads of configuration files through the contents API, on the default branch (its default ``ref``).

``bot.config.loader`` decides which files make a repository's configuration; this module only
reads them, so the configuration layer never talks to GitHub itself.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import quote

from github import Github

from bot.github.errors import GithubException
from bot.github.paths import repo_path


@dataclass(frozen=True)
class FileText:
    """A file's text; ``text`` is None when there is no file at the path (a directory or a
    submodule there is none either), ``problem`` says why a file that is there cannot be read."""

    text: str | None
    problem: str | None = None


def list_folder_files(gh: Github, repo: str, folder: str) -> frozenset[str] | None:
    """Paths of the files directly in ``folder`` (empty when there is no such folder); None when
    the listing is not usable (``folder`` is a file or a submodule)."""
    try:
        _, data = gh.requester.requestJsonAndCheck("GET", f"{repo_path(repo)}/contents/{quote(folder)}")
    except GithubException as exc:
        if exc.status == 404:
            return frozenset()
        raise
    if not isinstance(data, list):
        return None
    return frozenset(str(e.get("path")) for e in data if isinstance(e, dict) and e.get("type") == "file")


def read_text_file(gh: Github, repo: str, path: str) -> FileText:
    """The UTF-8 text of ``path`` on the default branch."""
    try:
        _, data = gh.requester.requestJsonAndCheck("GET", f"{repo_path(repo)}/contents/{quote(path)}")
    except GithubException as exc:
        if exc.status == 404:
            return FileText(None)
        raise
    if not isinstance(data, dict) or data.get("type") != "file":
        return FileText(None)  # a directory or a submodule at that path is not a file to read
    if data.get("encoding") != "base64":
        return FileText(None, f"file too large to read through the contents API ({data.get('size')} bytes)")
    try:
        return FileText(base64.b64decode(data.get("content") or "").decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        return FileText(None, "file is not UTF-8 text")
