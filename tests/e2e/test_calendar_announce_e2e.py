"""The release calendar and the announcements end to end: the sandbox, a real `release-bot serve`,
users acting over REST, a calendar client fetching the feed over HTTP, and a local webhook receiver
(a tiny http.server thread) standing in for Slack and friends."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import open_e2e
from icalendar import Calendar
from test_release_lifecycle import REPO, create_ref, reconcile_now, tracking_issue

SESSION_SECRET = "e2e-calendar-session-secret-0123456789abcdef"
HOOK_PATH = "/services/T000/B000/e2e-announce-secret-path"


class Receiver:
    """Records every POST; answers ``fail_first`` of them with 503, the rest 200."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[tuple[str, dict[str, Any], int]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = 503 if receiver.fail_first > 0 else 200
                    receiver.fail_first -= 1
                    receiver.bodies.append((self.path, json.loads(data), status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, channel: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{HOOK_PATH}/{channel}"

    def accepted(self, channel: str) -> list[dict[str, Any]]:
        with self.lock:
            return [b for p, b, s in self.bodies if p.endswith(f"/{channel}") and s == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.close()


def put_config(api: httpx.Client, text: str) -> None:
    path = f"{REPO}/contents/.github/release-bot.yml"
    current = api.get(path)
    body: dict[str, Any] = {
        "message": "configure",
        "content": base64.b64encode(text.encode()).decode(),
        "branch": "main",
    }
    if current.status_code == 200:
        body["sha"] = current.json()["sha"]
    r = api.put(path, json=body)
    assert r.status_code in (200, 201), r.text


def calendar_link(body: str) -> str:
    match = re.search(r"\[Release calendar \(iCalendar\)\]\((?P<url>[^)]+)\)", body)
    assert match, body
    return match.group("url")


def feed_events(url: str) -> dict[str, Any]:
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/calendar"), resp.text
    return {str(e["UID"]): e for e in Calendar.from_ical(resp.content).walk("VEVENT")}


@pytest.mark.e2e
def test_the_calendar_feed_is_linked_parses_and_updates_in_place(tmp_path: Path, bot_factory: Any) -> None:
    env = {"SESSION_SECRET": SESSION_SECRET, "CALENDAR_CACHE_SECONDS": "0"}
    with open_e2e(tmp_path, bot_factory, env=env) as e2e:
        pm, dev = e2e.api("pm"), e2e.api("dev")
        m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0", "due_on": "2030-12-02T08:00:00Z"}).json()
        e2e.settle()
        url = calendar_link(tracking_issue(pm, m["number"])["body"])
        # Built on the bot's public address (PUBLIC_URL, default http://HOST:PORT).
        assert url.startswith(f"{e2e.bot.url}/calendar/acme/rocket.ics?token=")
        uid = f"due-{m['number']}@acme.rocket.release-bot"
        events = feed_events(url)
        assert events[uid].decoded("DTSTART").isoformat() == "2030-12-02"
        sequence = int(events[uid]["SEQUENCE"])

        create_ref(dev, "refs/heads/release/1.4")
        create_ref(dev, "refs/tags/v1.4.0-rc.1")
        e2e.settle()
        events = feed_events(url)
        rc = events[f"tag-{m['number']}-v1.4.0-rc.1@acme.rocket.release-bot"]
        assert str(rc["SUMMARY"]) == "v1.4.0-rc.1 tagged (release candidate)"

        # The PM moves the due date: the same event, a higher SEQUENCE, the new day.
        httpx.post(f"{e2e.sandbox.base_url}/_sandbox/clock", json={"advance_seconds": 2}, timeout=10)
        pm.patch(f"{REPO}/milestones/{m['number']}", json={"due_on": "2030-12-09T08:00:00Z"})
        e2e.settle()
        moved = feed_events(url)
        assert [u for u in moved if u.startswith("due-")] == [uid]
        assert moved[uid].decoded("DTSTART").isoformat() == "2030-12-09"
        assert int(moved[uid]["SEQUENCE"]) > sequence

        # Without the token, or with another's: refused with a message, never a 5xx.
        bare = httpx.get(url.split("?", 1)[0], timeout=10)
        assert bare.status_code == 403 and "token" in bare.text
        wrong = httpx.get(url[:-4] + "0000", timeout=10)
        assert wrong.status_code == 403
        # The link does not change: the tracking issue is not rewritten by a steady reconcile.
        assert calendar_link(tracking_issue(pm, m["number"])["body"]) == url


CONFIG = """\
announce:
  channels:
    - name: releases
      url_env: ANNOUNCE_RELEASES_URL
      format: json
      when: [stage, published, late, feedback]
    - name: chat
      url_env: ANNOUNCE_CHAT_URL
      format: slack
      when: [published]
    - name: nowhere
      url_env: ANNOUNCE_NOWHERE_URL
      format: teams
"""


@pytest.mark.e2e
@pytest.mark.reliability(
    area="fault", case="an announcement receiver answers 503, then a wiped store and a replay", trials=1
)
def test_announcements_reach_a_receiver_once_per_moment(
    tmp_path: Path, bot_factory: Any, receiver: Receiver
) -> None:
    env = {
        "ANNOUNCE_RELEASES_URL": receiver.url("releases"),
        "ANNOUNCE_CHAT_URL": receiver.url("chat"),
        "JOB_BACKOFF_BASE_SECONDS": "0.5",
    }
    with open_e2e(tmp_path, bot_factory, env=env) as e2e:
        admin, pm, dev, releaser = e2e.api("admin"), e2e.api("pm"), e2e.api("dev"), e2e.api("releaser")
        put_config(admin, CONFIG)
        e2e.settle()
        m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0", "due_on": "2030-12-01T08:00:00Z"}).json()
        e2e.settle()
        number = tracking_issue(pm, m["number"])["number"]
        body = tracking_issue(pm, m["number"])["body"]
        # The channel without its URL is reported on the tracking issue, by name only.
        assert "channel `nowhere` is not announced to" in body and "ANNOUNCE_NOWHERE_URL" in body
        # The first POST was answered 503: nothing recorded, the job's rerun delivered it.
        assert [b["moments"][0]["key"].split(":")[1] for b in receiver.accepted("releases")] == ["plan"]
        assert len(receiver.bodies) == 2 and receiver.bodies[0][2] == 503

        create_ref(dev, "refs/heads/release/1.4")
        e2e.settle()
        create_ref(dev, "refs/tags/v1.4.0-rc.1")
        e2e.settle()
        create_ref(dev, "refs/tags/v1.4.0")
        e2e.settle()
        releaser.post(f"{REPO}/issues/{number}/comments", json={"body": "/stage monitor"})
        e2e.settle()
        issue = dev.post(
            f"{REPO}/issues", json={"title": "Export <!channel> broken", "labels": ["regression"]}
        )
        feedback_number = issue.json()["number"]
        e2e.settle()

        kinds = [(b["moments"][0]["kind"], b["moments"][0]["key"]) for b in receiver.accepted("releases")]
        stages = [key.split(":")[1] for kind, key in kinds if kind == "stage"]
        assert stages == ["plan", "build_test", "uat", "deploy", "monitor"], kinds
        assert [key for kind, key in kinds if kind == "published"] == ["published:v1.4.0"]
        assert [key for kind, key in kinds if kind == "feedback"] == [f"feedback:{feedback_number}"]
        feedback = next(b for b in receiver.accepted("releases") if b["moments"][0]["kind"] == "feedback")
        assert feedback["feedback"][0]["title"] == "Export <!channel> broken"  # JSON: verbatim
        published = next(b for b in receiver.accepted("releases") if b["moments"][0]["kind"] == "published")
        release = pm.get(f"{REPO}/releases/tags/v1.4.0").json()
        assert published["links"]["release"] == release["html_url"] and published["version"] == "1.4.0"
        # The Slack channel asked for the publication only, and got it once, in Slack's format.
        [chat] = receiver.accepted("chat")
        assert chat["text"].startswith("Release *v1.4.0* of acme/rocket is published") and "blocks" in chat

        # A release whose due date has passed unpublished: "late", once.
        late = pm.post(
            f"{REPO}/milestones", json={"title": "v2.0.0", "due_on": "2021-01-04T08:00:00Z"}
        ).json()
        e2e.settle()
        late_keys = [
            b["moments"][0]["key"] for b in receiver.accepted("releases") if b["milestone"] == late["number"]
        ]
        assert "late:2021-01-04" in late_keys

        # Wipe the bot's store, re-sync everything, and replay every delivery: nothing is announced twice.
        before = len(receiver.bodies)
        e2e.bot.kill()
        for suffix in ("", "-wal", "-shm"):
            (e2e.bot.workdir / f"queue.db{suffix}").unlink(missing_ok=True)
        e2e.bot.start()
        reconcile_now(e2e)
        from bot.sandbox.webhooks import emitter

        sender = emitter(e2e.sandbox.state)
        repo_id = e2e.sandbox.state.repo("acme", "rocket").id
        for delivery in [
            d for d in e2e.sandbox.state.deliveries if d.repository_id == repo_id and not d.redelivery
        ]:
            sender.redeliver(delivery.id)
        e2e.settle(timeout=120)
        assert len(receiver.bodies) == before, receiver.bodies[before:]
        ids = [b["id"] for b in receiver.accepted("releases")]
        assert len(ids) == len(set(ids))
        # The webhook URL is a secret: it is in no log line of the bot.
        logs = "".join(p.read_text(errors="replace") for p in e2e.bot.workdir.glob("bot-*.log"))
        assert "e2e-announce-secret-path" not in logs and "announced" in logs
