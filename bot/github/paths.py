"""REST paths of a repository: the one place that turns ``owner/name`` into ``/repos/{owner}/{name}``.

Both parts are quoted, so a name GitHub allows but a URL does not take as is (``.``-led, ``%``)
always names the repository it should.
"""

from __future__ import annotations

from urllib.parse import quote


def repo_path(repo_full_name: str) -> str:
    """``owner/name`` -> ``/repos/owner/name`` (each part quoted)."""
    owner, _, name = repo_full_name.partition("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
