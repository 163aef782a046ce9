"""The release calendar feed served by the web app, against a real sandbox over HTTP: the token
is checked before anything is read, the feed holds the releases' dates, a built feed is reused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from web_helpers import api, installation_api, new_repo, sign_in

from bot.core.calendar_token import calendar_token

SECRET = "calendar-test-session-secret-0123456789"


def _seq(sandbox: Any) -> int:
    log = httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": 0}, timeout=15).json()
    return log[-1]["seq"] if log else 0


def _since(sandbox: Any, seq: int) -> list[dict[str, Any]]:
    return httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": seq}, timeout=15).json()


@pytest.fixture
def calendar_client(make_client: Any, sandbox: Any) -> Any:
    return make_client(
        PRIVATE_KEY_PATH=str(Path(sandbox.app_key_path)),
        SESSION_SECRET=SECRET,
        CALENDAR_CACHE_SECONDS="0",
        PUBLIC_URL="https://bot.example.com",
    )


def _events(body: bytes) -> dict[str, Any]:
    return {str(e["UID"]): e for e in Calendar.from_ical(body).walk("VEVENT")}


@pytest.mark.reliability(
    area="attack", case="a calendar feed fetched without its token, or with a wrong one", trials=1
)
def test_a_missing_or_wrong_token_is_refused_before_any_read(sandbox, calendar_client) -> None:
    repo = new_repo(sandbox)
    other = new_repo(sandbox)
    seq = _seq(sandbox)
    missing = calendar_client.get(f"/calendar/{repo}.ics")
    assert missing.status_code == 403 and "needs its token" in missing.text
    wrong = calendar_client.get(f"/calendar/{repo}.ics", query_string={"token": "0" * 32})
    assert wrong.status_code == 403 and "not valid for this repository" in wrong.text
    # another repository's token opens only that repository's calendar
    borrowed = calendar_client.get(
        f"/calendar/{repo}.ics", query_string={"token": calendar_token(SECRET, other)}
    )
    assert borrowed.status_code == 403
    odd = calendar_client.get("/calendar/acme/..%2Fx.ics", query_string={"token": "x"})
    assert odd.status_code == 404
    assert _since(sandbox, seq) == []  # refused without a single GitHub request
    # a token for a repository the App is not installed on: a clear 404, not a 500
    stranger = "nobody/nothing"
    gone = calendar_client.get(
        f"/calendar/{stranger}.ics", query_string={"token": calendar_token(SECRET, stranger)}
    )
    assert gone.status_code == 404 and "not installed" in gone.text


def test_the_feed_holds_due_dates_tags_and_publication(sandbox, calendar_client) -> None:
    repo = new_repo(sandbox)
    pm = api(sandbox, "pm")
    due = pm.post(
        f"/repos/{repo}/milestones", json={"title": "v2.0.0", "due_on": "2030-03-10T08:00:00Z"}
    ).json()
    pm.post(f"/repos/{repo}/milestones", json={"title": "not a version"})
    token = calendar_token(SECRET, repo)
    resp = calendar_client.get(f"/calendar/{repo}.ics", query_string={"token": token})
    assert resp.status_code == 200 and resp.mimetype == "text/calendar", resp.text
    events = _events(resp.data)
    owner, name = repo.split("/")
    uid = f"due-{due['number']}@{owner}.{name}.release-bot"
    assert list(events) == [uid]
    assert events[uid].decoded("DTSTART").isoformat() == "2030-03-10"
    assert str(events[uid]["SUMMARY"]) == "v2.0.0 due"
    # Same facts, same bytes: the ETag lets a client revalidate for free.
    again = calendar_client.get(
        f"/calendar/{repo}.ics",
        query_string={"token": token},
        headers={"If-None-Match": resp.headers["ETag"]},
    )
    assert again.status_code == 304
    # Moving the due date keeps the event (same UID) with a higher SEQUENCE.
    first_sequence = int(events[uid]["SEQUENCE"])
    # a later second on GitHub's clock (updated_at has whole seconds)
    httpx.post(
        f"{sandbox.base_url}/_sandbox/clock", json={"advance_seconds": 2}, timeout=15
    ).raise_for_status()
    pm.patch(f"/repos/{repo}/milestones/{due['number']}", json={"due_on": "2030-03-17T07:00:00Z"})
    moved = _events(calendar_client.get(f"/calendar/{repo}.ics", query_string={"token": token}).data)
    assert list(moved) == [uid] and moved[uid].decoded("DTSTART").isoformat() == "2030-03-17"
    assert int(moved[uid]["SEQUENCE"]) > first_sequence
    # A published release on the final tag appears at its moment.
    bot = installation_api(sandbox)
    sha = pm.get(f"/repos/{repo}/git/ref/heads/main").json()["object"]["sha"]
    bot.post(f"/repos/{repo}/git/refs", json={"ref": "refs/tags/v2.0.0", "sha": sha})
    rel = bot.post(f"/repos/{repo}/releases", json={"tag_name": "v2.0.0", "name": "v2.0.0"}).json()
    published = _events(calendar_client.get(f"/calendar/{repo}.ics", query_string={"token": token}).data)
    pub_uid = f"published-{due['number']}@{owner}.{name}.release-bot"
    assert str(published[pub_uid]["URL"]) == rel["html_url"]


def test_a_built_feed_is_reused_within_the_cache_window(sandbox, make_client) -> None:
    client = make_client(
        PRIVATE_KEY_PATH=str(Path(sandbox.app_key_path)), SESSION_SECRET=SECRET, CALENDAR_CACHE_SECONDS="300"
    )
    repo = new_repo(sandbox)
    api(sandbox, "pm").post(f"/repos/{repo}/milestones", json={"title": "v1.0.0"})
    token = calendar_token(SECRET, repo)
    seq = _seq(sandbox)
    assert client.get(f"/calendar/{repo}.ics", query_string={"token": token}).status_code == 200
    cold = [f"{r['method']} {r['path']}" for r in _since(sandbox, seq)]
    # once per process: the App (its bot login), the repository's installation and its token; then
    # milestones, releases, the open release's items (no tracking issue yet: no record to read)
    assert cold[3:] == [f"GET /repos/{repo}/{what}" for what in ("milestones", "releases", "issues")], cold
    assert len(cold) == 6, cold
    seq = _seq(sandbox)
    assert client.get(f"/calendar/{repo}.ics", query_string={"token": token}).status_code == 200
    assert _since(sandbox, seq) == []


def test_the_dashboard_links_each_repositorys_calendar(sandbox, calendar_client) -> None:
    sign_in(calendar_client, "pm")
    page = calendar_client.get("/repos/acme/rocket").text
    expected = (
        f"https://bot.example.com/calendar/acme/rocket.ics?token={calendar_token(SECRET, 'acme/rocket')}"
    )
    assert expected in page
    assert calendar_client.get(expected.removeprefix("https://bot.example.com")).status_code == 200


def test_a_server_without_the_apps_key_says_so(sandbox, make_client) -> None:
    client = make_client(SESSION_SECRET=SECRET)  # PRIVATE_KEY_PATH names a file that is not there
    resp = client.get(
        "/calendar/acme/rocket.ics", query_string={"token": calendar_token(SECRET, "acme/rocket")}
    )
    assert resp.status_code == 503 and "APP_ID and PRIVATE_KEY" in resp.text


@pytest.mark.reliability(area="fault", case="GitHub answers 502 to a read the calendar feed needs", trials=1)
def test_github_failing_gives_a_clear_answer_not_a_500(sandbox, calendar_client) -> None:
    repo = new_repo(sandbox)
    token = calendar_token(SECRET, repo)
    # more 502s than the retry policy retries (a single one is retried away)
    fault = {"method": "GET", "path": f"^/repos/{repo}/milestones$", "status": 502, "times": 4}
    httpx.post(f"{sandbox.base_url}/_sandbox/faults", timeout=15, json=fault).raise_for_status()
    try:
        resp = calendar_client.get(f"/calendar/{repo}.ics", query_string={"token": token})
        assert resp.status_code == 502 and "GitHub answered 502" in resp.text
        assert calendar_client.get(f"/calendar/{repo}.ics", query_string={"token": token}).status_code == 200
    finally:
        httpx.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=15)
