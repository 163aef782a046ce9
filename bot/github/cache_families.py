"""Which part of a repository a cached GET reads, and which parts a write can change ("families").

The read cache (``bot.github.response_cache``) keeps, per family, a write epoch: an answer confirmed
before a write of its family is no longer reused within the job without asking again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# Parts of a repository that show each other: an issue's labels and milestone appear in the issue
# and pull request lists and in the milestone's counts; a commit's checks in check runs and
# statuses; refs in tags, branches, commits and compares.
_FAMILY_OF_SEGMENT = {
    "issues": "issues",
    "pulls": "issues",
    "milestones": "issues",
    "labels": "issues",
    "git": "git",
    "tags": "git",
    "branches": "git",
    "commits": "git",
    "compare": "git",
    "releases": "releases",
    "contents": "contents",
    "readme": "contents",
    "deployments": "deployments",
    "environments": "deployments",
    "collaborators": "permissions",
    "teams": "permissions",
    "check-runs": "checks",
    "check-suites": "checks",
    "statuses": "checks",
}
ALL_FAMILIES = frozenset(_FAMILY_OF_SEGMENT.values()) | {"repo"}
_CHECK_SEGMENTS = frozenset({"check-runs", "check-suites", "status", "statuses"})


def repo_and_family(url: str) -> tuple[str | None, str]:
    """``/api/v3/repos/acme/rocket/issues/5/comments?x=1`` → ``("acme/rocket", "issues")``."""
    path = urlsplit(url).path
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v3"]:  # GitHub Enterprise Server and the sandbox serve the API under it
        parts = parts[2:]
    try:
        at = parts.index("repos")
    except ValueError:
        return None, parts[0] if parts else ""
    if len(parts) < at + 3:
        return None, "repos"
    repo = f"{parts[at + 1]}/{parts[at + 2]}".lower()
    rest = parts[at + 3 :]
    if not rest:
        return repo, "repo"
    if _CHECK_SEGMENTS.intersection(rest):
        return repo, "checks"  # commits/{sha}/check-runs, commits/{sha}/status
    return repo, _FAMILY_OF_SEGMENT.get(rest[0], rest[0])


def families_written(url: str, verb: str) -> frozenset[str]:
    """What a write to ``url`` can change, as families of cached reads."""
    _repo, family = repo_and_family(url)
    path = urlsplit(url).path.rstrip("/")
    if family == "issues" and path.endswith("/merge"):
        return frozenset({"issues", "git", "checks"})  # merging moves the base branch
    if family == "releases":
        return frozenset({"releases", "git"})  # publishing a release may create its tag
    if family == "git":
        return frozenset({"git", "checks"})
    if family == "repo":
        return frozenset({"*"})  # renames, default branch: everything may read differently
    return frozenset({family})
