"""The releases overview and release page (bot.web.dashboard over bot.github.dashboard_io),
against the sandbox over HTTP: what they show, whose artifacts count, who sees what, what a view costs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from web_helpers import api, installation_api, new_repo, sign_in

from bot.core.release_record import RECORD_CHECK_NAME, record_external_id, record_pointer, render_record
from bot.core.tracking import tracking_marker
from bot.web.dashboard import CALLS_HEADER

INJECTED = "<script>alert('x')</script><img src=x onerror=alert(2)> **not bold**"


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code < 300, (resp.request.method, resp.request.url, resp.status_code, resp.text)
    return resp.json() if resp.content else None


def _release(
    sandbox: Any, repo: str, *, current: str = "build_test", with_record: bool = True
) -> dict[str, Any]:
    """A release as the bot leaves it: milestone, the bot's tracking issue pointing at the App's
    record check run, a stage comment; a gated pull request by dev with an injected title."""
    admin, bot = api(sandbox, "admin"), installation_api(sandbox)
    due = (datetime.now(UTC) + timedelta(days=9)).strftime("%Y-%m-%dT12:00:00Z")
    ms = ok(admin.post(f"/repos/{repo}/milestones", json={"title": "v3.1.0", "due_on": due}))
    main = ok(admin.get(f"/repos/{repo}/git/ref/heads/main"))["object"]["sha"]
    ok(admin.post(f"/repos/{repo}/git/refs", json={"ref": "refs/heads/release/3.1", "sha": main}))
    dev = api(sandbox, "dev")
    ok(dev.post(f"/repos/{repo}/git/refs", json={"ref": "refs/heads/fix-1", "sha": main}))
    content = base64.b64encode(b"fix\n").decode()
    ok(
        dev.put(
            f"/repos/{repo}/contents/fix.txt", json={"message": "fix", "content": content, "branch": "fix-1"}
        )
    )
    pr = ok(
        dev.post(f"/repos/{repo}/pulls", json={"title": INJECTED, "head": "fix-1", "base": "release/3.1"})
    )
    ok(
        api(sandbox, "releaser").patch(
            f"/repos/{repo}/issues/{pr['number']}", json={"milestone": ms["number"]}
        )
    )
    ok(
        bot.post(
            f"/repos/{repo}/check-runs",
            json={
                "name": "release-bot/gate",
                "head_sha": pr["head"]["sha"],
                "status": "completed",
                "conclusion": "failure",
                "output": {"title": "Waiting for UAT and approval", "summary": "UAT: missing"},
            },
        )
    )
    body = tracking_marker(ms["number"]) + "\n## Release v3.1.0\n"
    if with_record:
        state = {
            "v": 1,
            "stages": {
                "current": current,
                "began": {"identify_needs": "2026-11-20", "plan": "2026-11-21", "build_test": "2026-11-25"},
                "skipped": [],
                "candidate": None,
                "uat": None,
                "manual": None,
                "deployed": False,
            },
            "watermark": 0,
            "feedback": [],
            "retro": False,
            "lists": {"identify_needs": [1, 3, 4, []], "plan": [2, 2, 5, ["Owners named"]]},
        }
        out = render_record(ms["number"], "3.1.0", state, "Build & Test")
        run = ok(
            bot.post(
                f"/repos/{repo}/check-runs",
                json={
                    "name": RECORD_CHECK_NAME,
                    "head_sha": main,
                    "external_id": record_external_id(ms["number"]),
                    "status": "completed",
                    "conclusion": "neutral",
                    "output": {"title": out.title, "summary": out.summary, "text": out.text},
                },
            )
        )
        body += "\n" + record_pointer(run["id"])
    tracking = ok(
        bot.post(
            f"/repos/{repo}/issues", json={"title": "Release v3.1.0", "body": body, "milestone": ms["number"]}
        )
    )
    ok(
        bot.post(
            f"/repos/{repo}/issues/{tracking['number']}/comments",
            json={
                "body": f"<!-- release-bot:stage:{ms['number']}:plan -->\n### Plan Release — v3.1.0\n\n"
                f"- [x] Due date set\n- [ ] Owners named {INJECTED}\n"
            },
        )
    )
    ok(
        bot.post(
            f"/repos/{repo}/releases",
            json={
                "tag_name": "v3.1.0",
                "name": "v3.1.0",
                "draft": True,
                "body": f"<!-- release-bot:notes:{ms['number']} -->\n"
                f"## Fixes\n- {INJECTED} (#{pr['number']})\n"
                f"<!-- release-bot:notes-end:{ms['number']} -->",
            },
        )
    )
    return {"milestone": ms, "pr": pr, "tracking": tracking}


def test_overview_shows_each_open_release_at_a_glance(sandbox, web_client) -> None:
    repo = new_repo(sandbox)
    made = _release(sandbox, repo)
    sign_in(web_client, "pm")
    page = web_client.get("/").text
    section = page[page.index(f">{repo}<") :]
    section = section[: section.find("</section>")]
    assert "v3.1.0" in section and '<li class="stage current" aria-current="step">' in section
    assert "Build &amp; Test</span>" in section.split('aria-current="step"')[1][:80]
    assert "9 days left" in section or "8 days left" in section  # the due day is GitHub's (a Pacific day)
    assert "5 of 9 items" in section  # 3/4 + 2/5 from the record
    assert "0 passing" in section and "1 failing" in section
    assert f">#{made['tracking']['number']}</a>" in section and "2 open, 0 closed" in section


@pytest.mark.reliability(
    area="attack",
    case="HTML and Markdown in a pull request title, checklist item and notes on the dashboard",
    trials=1,
)
def test_release_page_escapes_user_text(sandbox, web_client) -> None:
    repo = new_repo(sandbox)
    made = _release(sandbox, repo)
    sign_in(web_client, "pm")
    resp = web_client.get(f"/releases/{repo}/{made['milestone']['number']}")
    page = resp.text
    assert resp.status_code == 200
    assert "<script>alert" not in page and "<img src=x" not in page
    pulls = page[page.index('<table class="pulls">') : page.index("</table>")]
    assert "**not bold**" in pulls  # a pull request title is plain text on GitHub: no Markdown either
    assert (
        "<strong>not bold</strong>" in page[page.index("<h2>Checklists") : page.index("<h2>Pull requests")]
    )  # items are Markdown
    assert (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    )  # the PR title and checklist item, as text
    assert (
        "Content-Security-Policy" in resp.headers
        and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    )
    notes = page[page.index('class="notes markdown"') :]
    assert "<h2>Fixes</h2>" in notes and "&lt;script&gt;" in notes  # rendered Markdown, raw HTML as text
    assert "☑" in page and "Due date set" in page and "to do:</span> Owners named" in page
    assert "failing" in page and "not yet" in page  # the gate and its requirements


@pytest.mark.reliability(
    area="attack", case="a tracking issue and record forged by a developer on the dashboard", trials=1
)
def test_only_the_bots_artifacts_count(sandbox, web_client) -> None:
    repo = new_repo(sandbox)
    made = _release(sandbox, repo, with_record=False)
    # dev writes a lookalike tracking issue whose pointer names the bot's gate check run
    gate_run = ok(api(sandbox).get(f"/repos/{repo}/commits/{made['pr']['head']['sha']}/check-runs"))[
        "check_runs"
    ][0]
    ok(
        api(sandbox, "dev").post(
            f"/repos/{repo}/issues",
            json={
                "title": "Release v3.1.0",
                "milestone": made["milestone"]["number"],
                "body": tracking_marker(made["milestone"]["number"]) + "\n" + record_pointer(gate_run["id"]),
            },
        )
    )
    sign_in(web_client, "pm")
    page = web_client.get(f"/releases/{repo}/{made['milestone']['number']}").text
    assert "not tracked yet" in page and 'aria-current="step"' not in page
    assert f">#{made['tracking']['number']}</a>" in page  # the bot's own issue is the tracking issue


@pytest.mark.reliability(
    area="attack", case="a user who cannot read a private repository asks for its pages", trials=1
)
def test_outsider_sees_public_repositories_only(sandbox, make_client) -> None:
    private = new_repo(sandbox, private=True, permissions={"dev": "write"})
    ok(api(sandbox, "dev").post(f"/repos/{private}/milestones", json={"title": "v9.0.0"}))
    outsider = make_client()
    sign_in(outsider, "outsider")
    overview = outsider.get("/").text
    assert "acme/rocket" in overview and private not in overview
    hidden = outsider.get(f"/releases/{private}/1")
    assert hidden.status_code == 404 and private not in hidden.text
    dev = make_client()
    sign_in(dev, "dev")
    assert private in dev.get("/").text and dev.get(f"/releases/{private}/1").status_code == 200


def _requests_by(sandbox: Any, login: str, since: int) -> list[dict[str, Any]]:
    log = httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": since}, timeout=15).json()
    return [r for r in log if r["actor"] == login]


def _last_seq(sandbox: Any) -> int:
    log = httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": 0}, timeout=15).json()
    return log[-1]["seq"] if log else 0


def test_a_page_view_costs_a_bounded_number_of_calls_and_a_repeat_costs_none(sandbox, make_client) -> None:
    # qa reads this private repository (dev and releaser act in it) and the public acme/rocket
    repo = new_repo(
        sandbox, private=True, permissions={"qa": "write", "dev": "write", "releaser": "maintain"}
    )
    made = _release(sandbox, repo)
    client = make_client(WEB_CACHE_SECONDS="60")
    sign_in(client, "qa")
    seq = _last_seq(sandbox)
    first = client.get("/")
    calls = int(first.headers[CALLS_HEADER])
    logged = _requests_by(sandbox, "qa", seq)
    assert calls == len(logged)  # the page's own count agrees with GitHub's request log
    visible = client.get("/").text.count('<section class="repo"')
    # 1 installations + 1 repositories per installation (one: acme); per repository 2 (milestones,
    # open pulls when a release is open) + per open release 2 (its items, its record) + 1 per gated PR
    open_releases = first.text.count('<article class="release"')
    assert calls <= 2 + 2 * visible + 2 * open_releases + first.text.count("passing") + 1
    repeat = client.get("/")
    assert repeat.headers[CALLS_HEADER] == "0" and _requests_by(sandbox, "qa", seq) == logged
    seq = _last_seq(sandbox)
    page = client.get(f"/releases/{repo}/{made['milestone']['number']}")
    # the release page: repositories cached; milestone, open pulls, items, record, gate, comments, releases
    assert int(page.headers[CALLS_HEADER]) == len(_requests_by(sandbox, "qa", seq)) == 7


def test_many_repositories_stay_within_a_bounded_overview(
    sandbox, web_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.web.dashboard as dashboard

    new_repo(sandbox)
    monkeypatch.setattr(dashboard, "MAX_OVERVIEW_REPOS", 1)
    sign_in(web_client, "pm")
    page = web_client.get("/")
    assert page.text.count('<section class="repo" aria-labelledby="repo-') == 1
    assert "More repositories" in page.text
    # every repository keeps its own page, in full
    [link] = [m for m in page.text.split('href="')[1:] if m.startswith("/repos/acme/web")][:1]
    path = link.split('"')[0]
    repo_page = web_client.get(path)
    assert repo_page.status_code == 200 and path.removeprefix("/repos/") in repo_page.text
    assert web_client.get("/repos/acme/no-such-repository").status_code == 404


@pytest.mark.reliability(area="fault", case="GitHub answers 502 to a read a dashboard page needs", trials=1)
def test_github_failing_gives_a_clear_page_not_a_500(sandbox, web_client) -> None:
    sign_in(web_client, "pm")
    ok(
        httpx.post(
            f"{sandbox.base_url}/_sandbox/faults",
            timeout=15,
            json={"method": "GET", "path": "^/user/installations$", "status": 502, "times": 1},
        )
    )
    try:
        resp = web_client.get("/")
        assert resp.status_code == 502 and "GitHub answered 502" in resp.text
        assert web_client.get("/").status_code == 200  # the next view reads again
    finally:
        httpx.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=15)
