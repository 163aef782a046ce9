"""List reads at ``per_page=100`` that return plain dicts.

PyGithub's ``PaginatedList`` hides requests: iterating fetches pages on demand, ``totalCount``
costs an extra call, and touching an attribute missing from a list item fetches the whole item.
Reconcilers need to know what they read, so lists are read here explicitly, page by page following
the ``Link: rel="next"`` header, each page one counted call, items returned as the JSON GitHub sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from github import Github
from requests.utils import parse_header_links

PER_PAGE = 100


class TooManyPages(RuntimeError):
    """A list was longer than the caller allowed (``max_pages``): refuse rather than read unbounded."""


def iter_pages(
    gh: Github,
    path: str,
    params: Mapping[str, Any] | None = None,
    items_key: str | None = None,
    max_pages: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Yield each page of ``GET path`` (a path under the API base, e.g. ``/repos/o/r/milestones``).

    ``items_key`` names the array in endpoints that wrap it (``check_runs``, ``workflow_runs``,
    ``repositories``). ``max_pages`` bounds the read; exceeding it raises ``TooManyPages``.
    """
    query: dict[str, Any] = dict(params or {})
    query["per_page"] = PER_PAGE
    url: str | None = path
    parameters: dict[str, Any] | None = query
    pages = 0
    while url is not None:
        if max_pages is not None and pages >= max_pages:
            raise TooManyPages(f"GET {path}: more than {max_pages} pages of {PER_PAGE}")
        headers, data = gh.requester.requestJsonAndCheck("GET", url, parameters=parameters)
        pages += 1
        items = data.get(items_key, []) if items_key and isinstance(data, dict) else data
        yield list(items or [])
        url = _next_link(headers)
        parameters = None  # the next link carries the query (page, per_page, filters)


def list_all(
    gh: Github,
    path: str,
    params: Mapping[str, Any] | None = None,
    items_key: str | None = None,
    max_pages: int | None = None,
) -> list[dict[str, Any]]:
    """Every item of ``GET path`` (all pages), as dicts."""
    items: list[dict[str, Any]] = []
    for page in iter_pages(gh, path, params, items_key=items_key, max_pages=max_pages):
        items.extend(page)
    return items


def _next_link(headers: Mapping[str, Any]) -> str | None:
    link = headers.get("link") or headers.get("Link")
    if not link:
        return None
    for entry in parse_header_links(link):
        if entry.get("rel") == "next" and entry.get("url"):
            return _with_per_page(entry["url"])
    return None


def _with_per_page(url: str) -> str:
    # GitHub's next links keep per_page; a server that dropped it would silently fall back to 30.
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("per_page", str(PER_PAGE))
    return urlunsplit(parts._replace(query=urlencode(query)))
