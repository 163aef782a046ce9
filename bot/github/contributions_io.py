"""Who contributes to a repository for the first time: the earliest merged pull request of an
author, for GitHub's "New Contributors" and release-drafter's ``$NEW_CONTRIBUTORS``.

One read per author: the first page (100) of the author's closed issues and pull requests, oldest
first (``GET …/issues?creator=LOGIN&state=closed&sort=created&direction=asc``), which carries
``pull_request.merged_at``. The earliest merged one there is the author's first contribution (a
pull request created after 100 older closed items of the same author but merged before all of
them is the one case this misses). The answer never changes once found, so the caller keeps it.
"""

from __future__ import annotations

from github import Github

from bot.github.paging import iter_pages
from bot.github.paths import repo_path

UNKNOWN = -1  # no merged pull request on the first page: not known, and not read again


def first_merged_pull(gh: Github, repo: str, login: str) -> int:
    """The number of ``login``'s earliest merged pull request in ``repo``, or ``UNKNOWN``."""
    params = {"creator": login, "state": "closed", "sort": "created", "direction": "asc"}
    page = next(iter_pages(gh, f"{repo_path(repo)}/issues", params, max_pages=1), [])
    merged = [
        (str(item["pull_request"]["merged_at"]), int(item["number"]))
        for item in page
        if isinstance(item.get("pull_request"), dict) and item["pull_request"].get("merged_at")
    ]
    return min(merged)[1] if merged else UNKNOWN
