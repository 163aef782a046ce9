"""Pagination with hundreds of items and GitHub's `Link` headers: issues in a milestone, issue events,
comments and releases. Items are created through the API (unvalidated, for speed); every page read
back is validated against GitHub's OpenAPI description."""

from __future__ import annotations

import math
import re

import pytest
from validation import RunningSandbox

LINK_RE = re.compile(r'<([^>]+)>; rel="(\w+)"')


def _links(resp: object) -> dict[str, str]:
    header = resp.headers.get("Link", "")  # type: ignore[attr-defined]
    return {rel: url for url, rel in LINK_RE.findall(header)}


def _check_paging(sb: RunningSandbox, path: str, total: int, params: dict | None = None) -> list[dict]:
    """Walk ``path`` page by page (per_page=100): Link relations, page sizes, no gaps or repeats."""
    params = dict(params or {})
    first = sb.api.get(path, params={**params, "per_page": 100})
    assert first.status_code == 200, first.text
    links = _links(first)
    last_page = math.ceil(total / 100)
    assert set(links) == {"next", "last"}
    assert f"page={last_page}" in links["last"] and "page=2" in links["next"]
    assert all(url.startswith(sb.api_url + "/") for url in links.values())
    items = sb.api.paginate(path, params=params, per_page=100)
    assert len(items) == total
    ids = [i["id"] for i in items]
    assert len(set(ids)) == total
    last = sb.api.get(links["last"])
    assert len(last.json()) == total - 100 * (last_page - 1)
    assert set(_links(last)) == {"prev", "first"}
    # default page size is 30; per_page is capped at 100
    assert len(sb.api.get(path, params=params).json()) == 30
    assert len(sb.api.get(path, params={**params, "per_page": 500}).json()) == 100
    beyond = sb.api.get(path, params={**params, "per_page": 100, "page": last_page + 1})
    assert beyond.status_code == 200 and beyond.json() == []
    return items


@pytest.fixture(scope="module")
def repo(sb: RunningSandbox) -> str:
    return sb.new_repo(prefix="paging")


def test_issues_in_a_milestone(sb: RunningSandbox, repo: str) -> None:
    ms = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v1.0.0"}).json()["number"]
    for i in range(250):
        body = {"title": f"issue {i}", "milestone": ms if i % 5 else None}
        assert sb.api.post(f"/repos/{repo}/issues", as_="dev", json=body, validate=False).status_code == 201
    items = _check_paging(sb, f"/repos/{repo}/issues", 200, {"milestone": str(ms), "state": "all"})
    numbers = [i["number"] for i in items]
    assert numbers == sorted(numbers, reverse=True)  # newest first, across pages
    assert all(i["milestone"]["number"] == ms for i in items)
    counters = sb.api.get(f"/repos/{repo}/milestones/{ms}").json()
    assert counters["open_issues"] == 200


def test_issue_events(sb: RunningSandbox, repo: str) -> None:
    n = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "busy"}, validate=False).json()[
        "number"
    ]
    for _ in range(115):
        sb.api.post(
            f"/repos/{repo}/issues/{n}/labels", as_="triager", json={"labels": ["flaky"]}, validate=False
        )
        sb.api.delete(f"/repos/{repo}/issues/{n}/labels/flaky", as_="qa", validate=False)
    items = _check_paging(sb, f"/repos/{repo}/issues/{n}/events", 230)
    assert [e["event"] for e in items[:4]] == ["labeled", "unlabeled", "labeled", "unlabeled"]
    assert {e["actor"]["login"] for e in items if e["event"] == "labeled"} == {"triager"}
    timeline = sb.api.paginate(f"/repos/{repo}/issues/{n}/timeline")
    assert len(timeline) == 230


def test_comments(sb: RunningSandbox, repo: str) -> None:
    n = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "chatty"}, validate=False).json()[
        "number"
    ]
    for i in range(240):
        who = ("dev", "qa", "outsider")[i % 3]
        assert (
            sb.api.post(
                f"/repos/{repo}/issues/{n}/comments", as_=who, json={"body": f"c{i}"}, validate=False
            ).status_code
            == 201
        )
    items = _check_paging(sb, f"/repos/{repo}/issues/{n}/comments", 240)
    assert [c["body"] for c in items[:3]] == ["c0", "c1", "c2"] and items[-1]["body"] == "c239"
    assert sb.api.get(f"/repos/{repo}/issues/{n}").json()["comments"] == 240


def test_releases(sb: RunningSandbox, repo: str) -> None:
    for i in range(205):
        resp = sb.api.post(
            f"/repos/{repo}/releases",
            as_="dev",
            json={"tag_name": f"v0.{i}.0", "name": f"v0.{i}.0", "draft": True},
            validate=False,
        )
        assert resp.status_code == 201, resp.text
    items = _check_paging(sb, f"/repos/{repo}/releases", 205)
    assert len({r["tag_name"] for r in items}) == 205
