"""The pages behind the sandbox's html_urls (bot.sandbox.pages, pages_apps): every link the API
hands out answers with readable HTML, user text escaped, private repositories hidden."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import httpx
import pytest
from validation import RunningSandbox

INJECTED = "<script>alert('t')</script> <img src=x onerror=alert(1)> **bold**"


@pytest.fixture
def web(sb: RunningSandbox) -> httpx.Client:
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        yield client


def _html(web: httpx.Client, url: str, status: int = 200) -> str:
    resp = web.get(url)
    assert resp.status_code == status, (url, resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith("text/html")
    return resp.text


def _no_injected_markup(page: str) -> None:
    assert "<script>" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.reliability(
    area="attack", case="HTML in an issue title, body and comment on the sandbox's pages", trials=1
)
def test_issue_page_renders_markdown_and_escapes_user_text(sb: RunningSandbox, web: httpx.Client) -> None:
    repo = sb.new_repo()
    body = f"{INJECTED}\n\n- [x] done item\n- [ ] open item\n\n<!-- release-bot:hidden-marker -->"
    issue = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": INJECTED, "body": body}).json()
    comment = sb.api.post(
        f"/repos/{repo}/issues/{issue['number']}/comments",
        as_="qa",
        json={"body": "a *comment* [link](javascript:alert(1))"},
    ).json()
    page = _html(web, issue["html_url"])
    _no_injected_markup(page)
    assert "<strong>bold</strong>" in page  # Markdown is rendered, raw HTML is not
    assert page.count('type="checkbox"') == 2 and 'checked="checked"' in page  # task lists as boxes
    assert "hidden-marker" not in page  # HTML comments hidden, as GitHub hides them
    assert f"id='issuecomment-{comment['id']}'" in page and "<em>comment</em>" in page
    assert 'href="javascript' not in page  # markdown-it refuses the link target: it stays text
    # the comment's own html_url lands on the same page, at its anchor
    assert urlsplit(comment["html_url"]).fragment == f"issuecomment-{comment['id']}"


def test_pull_request_page_shows_reviews_and_checks(sb: RunningSandbox, web: httpx.Client) -> None:
    repo = sb.new_repo()
    pr = sb.open_pull(repo, "feature/pages", title="Pages <b>work</b>")
    token = sb.installation_token()
    run = sb.api.post(
        f"/repos/{repo}/check-runs",
        token=token,
        json={
            "name": "release-bot/gate",
            "head_sha": pr["head"]["sha"],
            "status": "completed",
            "conclusion": "failure",
            "output": {"title": "UAT missing", "summary": "- [ ] UAT <i>needed</i>"},
        },
    ).json()
    sb.api.post(
        f"/repos/{repo}/pulls/{pr['number']}/reviews", as_="qa", json={"event": "APPROVE", "body": "ship it"}
    )
    page = _html(web, pr["html_url"])
    assert "Pages &lt;b&gt;work&lt;/b&gt;" in page and "<b>work" not in page
    assert "feature/pages" in page and "review: approved" in page and "ship it" in page
    assert f"/runs/{run['id']}" in page and "failure" in page
    # /issues/N of a pull request is sent on to /pull/N, as on GitHub
    moved = web.get(pr["html_url"].replace("/pull/", "/issues/"))
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/pull/{pr['number']}")
    check = _html(web, run["html_url"])
    assert "UAT missing" in check and "&lt;i&gt;needed&lt;/i&gt;" in check and 'type="checkbox"' in check


def test_milestone_and_release_pages(sb: RunningSandbox, web: httpx.Client) -> None:
    repo = sb.new_repo()
    ms = sb.api.post(
        f"/repos/{repo}/milestones",
        as_="pm",
        json={"title": "v2.0.0", "description": f"Goals: {INJECTED}", "due_on": "2026-12-20T12:00:00Z"},
    ).json()
    sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "in scope", "milestone": ms["number"]})
    page = _html(web, ms["html_url"])
    _no_injected_markup(page)
    assert "in scope" in page and "1 open, 0 closed" in page
    draft = sb.api.post(
        f"/repos/{repo}/releases",
        as_="admin",
        json={"tag_name": "v2.0.0", "name": "v2.0.0", "body": "## Features\n- a <b>thing</b>", "draft": True},
    ).json()
    page = _html(web, draft["html_url"])
    assert "Draft" in page and "<h2>Features</h2>" in page and "&lt;b&gt;thing&lt;/b&gt;" in page
    published = sb.api.patch(
        f"/repos/{repo}/releases/{draft['id']}", as_="admin", json={"draft": False}
    ).json()
    assert "Release" in _html(web, published["html_url"])
    assert "v2.0.0" in _html(web, sb.root_url + f"/{repo}")


def test_private_repository_pages_are_not_found(sb: RunningSandbox, web: httpx.Client) -> None:
    repo = sb.new_repo(private=True, permissions={"dev": "write"})
    issue = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "secret plans"}).json()
    page = _html(web, issue["html_url"], status=404)
    assert "secret plans" not in page
    _html(web, sb.root_url + f"/{repo}", status=404)
    _html(web, sb.root_url + "/acme/no-such-repo/issues/1", status=404)


def test_install_page_installs_a_manifest_app(sb: RunningSandbox, web: httpx.Client) -> None:
    manifest = {
        "name": "pages app",
        "url": "http://127.0.0.1:9/",
        "redirect_url": "http://127.0.0.1:9/done",
        "setup_url": "http://127.0.0.1:9/installed",
        "hook_attributes": {"url": "http://127.0.0.1:9/hook"},
        "default_permissions": {"issues": "read"},
    }
    resp = web.post(sb.root_url + "/settings/apps/new", data={"manifest": json.dumps(manifest)})
    code = re.search(r"code=([0-9a-f]+)", resp.headers["Location"]).group(1)  # type: ignore[union-attr]
    app = sb.api.post(f"/app-manifests/{code}/conversions", anonymous=True).json()
    form = _html(web, app["html_url"] + "/installations/new")
    assert "value='acme'" in form
    done = web.post(app["html_url"] + "/installations/new", data={"account": "acme"})
    assert done.status_code == 302 and done.headers["Location"].startswith(
        "http://127.0.0.1:9/installed?installation_id="
    )
    assert web.post(app["html_url"] + "/installations/new", data={"account": "nobody"}).status_code == 422
    # the App's own JWT now sees the installation on acme
    from pathlib import Path

    key = Path(sb.app_key_path.parent / "pages-app.pem")
    key.write_text(app["pem"])
    installs = sb.api.get("/app/installations", token=sb.app_jwt(app_id=app["id"], key_path=key)).json()
    assert [i["account"]["login"] for i in installs] == ["acme"]
