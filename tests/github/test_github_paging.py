"""List reads: 100 per page, following Link headers, plain dicts, every page counted."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from github_mock_helpers import API, add_token

from bot.github import accounting
from bot.github.auth import GitHubApp
from bot.github.pacer import PacerLimits
from bot.github.paging import TooManyPages, list_all


def serve_milestones(mock, total: int) -> None:
    items = [{"number": n, "title": f"v1.{n}.0", "state": "open"} for n in range(1, total + 1)]

    def callback(request):
        query = parse_qs(urlsplit(request.url).query)
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"Content-Type": "application/json"}
        if page * per_page < total:
            # GitHub's next links carry the filters and per_page
            headers["Link"] = (
                f"<https://api.github.com/repos/acme/rocket/milestones?state=open&per_page={per_page}"
                f"&page={page + 1}>;"
                ' rel="next", <https://api.github.com/repos/acme/rocket/milestones?page=99>; rel="last"'
            )
        return 200, headers, json.dumps(chunk)

    mock.add_callback("GET", f"{API}/repos/acme/rocket/milestones", callback=callback)


@pytest.fixture
def gh(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    return GitHubApp(7, app_key, pacer_limits=PacerLimits(0, 0)).client_for(5)


def test_all_pages_at_100(gh, gh_mock):
    serve_milestones(gh_mock, 250)
    with accounting.count_job_calls() as calls:
        items = list_all(gh, "/repos/acme/rocket/milestones", {"state": "open"})
    assert [m["number"] for m in items] == list(range(1, 251))
    pages = [c.request.url for c in gh_mock.calls if "/milestones" in c.request.url]
    assert len(pages) == 3
    assert all(parse_qs(urlsplit(u).query)["per_page"] == ["100"] for u in pages)
    assert all(parse_qs(urlsplit(u).query)["state"] == ["open"] for u in pages)
    assert calls.calls == 4  # token + 3 pages; no totalCount, no per-item fetches


def test_exact_multiple_ends_without_extra_request(gh, gh_mock):
    serve_milestones(gh_mock, 200)
    assert len(list_all(gh, "/repos/acme/rocket/milestones")) == 200
    assert len([c for c in gh_mock.calls if "/milestones" in c.request.url]) == 2


def test_max_pages_bounds_the_read(gh, gh_mock):
    serve_milestones(gh_mock, 350)
    with pytest.raises(TooManyPages):
        list_all(gh, "/repos/acme/rocket/milestones", max_pages=2)


def test_wrapped_lists(gh, gh_mock):
    gh_mock.get(
        f"{API}/repos/acme/rocket/commits/abc/check-runs",
        json={"total_count": 1, "check_runs": [{"id": 9, "name": "release-bot/gate"}]},
    )
    runs = list_all(gh, "/repos/acme/rocket/commits/abc/check-runs", items_key="check_runs")
    assert runs == [{"id": 9, "name": "release-bot/gate"}]
