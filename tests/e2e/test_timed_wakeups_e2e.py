"""Timed wake-ups end to end: facts that change with time alone come on time, with no event.

A real `release-bot serve` against the sandbox, its reconcilers and queue as in production, except
that the release reconciler's calendar (the clock it reads days from) runs ahead by an offset the
test sets (``bot_test_runners.moved_calendar``): midnight is put a few seconds ahead. The queue,
its timed wake-ups and GitHub run on the real clock. After the setup settles the test sends no
event, only reads; what changes at midnight changes because the release woke itself.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import E2E, open_e2e
from test_calendar_announce_e2e import Receiver
from test_freeze_e2e import freeze_check, ok, open_pull
from test_release_lifecycle import REPO, tracking_issue
from test_release_lifecycle_strict import put_config

pytestmark = pytest.mark.e2e

LEAD_SECONDS = 10.0  # midnight this far after the milestone is made: its reconcile runs well before


def calendar_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    offset = tmp_path / "calendar-offset"
    offset.write_text("")
    env = {
        "RELEASE_BOT_TEST_RUNNER": "bot_test_runners:moved_calendar",
        "RB_TEST_CALENDAR_OFFSET": str(offset),
    }
    return env, offset


def midnight_soon(offset: Path) -> tuple[float, datetime]:
    """Move the bot's calendar so that a UTC midnight comes ``LEAD_SECONDS`` from now; returns that
    moment on the real clock and the calendar's midnight."""
    now = time.time()
    midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    midnight += timedelta(days=2)
    boundary = now + LEAD_SECONDS
    offset.write_text(repr(midnight.timestamp() - boundary))
    return boundary, midnight


def wait_until(what: Any, seconds: float) -> float:
    """Poll ``what()`` until true; the real time it first held."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if what():
            return time.time()
        time.sleep(0.2)
    raise AssertionError(f"not true within {seconds} s")


def woken_log(e2e: E2E, key_part: str) -> str:
    lines = [line for line in e2e.bot.logs().splitlines() if "facts change by time at" in line]
    found = [line for line in lines if key_part in line and "wake-up scheduled" in line]
    assert found, lines
    return found[0]


def test_a_freeze_days_before_the_due_date_starts_at_midnight_with_no_event(
    tmp_path: Path, bot_factory: Any
) -> None:
    env, offset = calendar_env(tmp_path)
    with open_e2e(tmp_path, bot_factory, env=env) as e2e:
        admin, pm, dev = (e2e.api(u) for u in ("admin", "pm", "dev"))
        put_config(admin, "releases:\n  freeze:\n    starts: {days_before_due: 3}\n", "release-bot: freeze")
        number, _ = open_pull(dev)
        e2e.settle()
        assert freeze_check(admin, number)["conclusion"] == "success"

        boundary, midnight = midnight_soon(offset)
        due = (midnight + timedelta(days=3)).date().isoformat()  # the freeze starts on midnight's day
        milestone = ok(pm.post(f"{REPO}/milestones", json={"title": "v3.0.0", "due_on": f"{due}T12:00:00Z"}))
        e2e.settle()
        assert time.time() < boundary, "the setup outlasted the lead: raise LEAD_SECONDS"
        assert freeze_check(admin, number)["conclusion"] == "success"  # the day before: not yet
        assert "frozen since" not in tracking_issue(pm, milestone["number"])["body"]
        assert f"facts change by time at {midnight.isoformat()}" in woken_log(e2e, f"@{milestone['number']}")

        # No event from here on: the release's wake-up starts the freeze, which wakes the pull request.
        seen = wait_until(lambda: freeze_check(admin, number)["conclusion"] == "failure", LEAD_SECONDS + 20)
        assert seen >= boundary
        check = freeze_check(admin, number)
        assert "(3 days before the due date)" in check["output"]["summary"], check["output"]
        body = tracking_issue(pm, milestone["number"])["body"]
        assert f"frozen since {midnight.date().isoformat()}" in body, body


def test_a_due_date_passed_turns_late_and_is_announced_at_midnight_with_no_event(
    tmp_path: Path, bot_factory: Any
) -> None:
    env, offset = calendar_env(tmp_path)
    receiver = Receiver()
    env["ANNOUNCE_RELEASES_URL"] = receiver.url("releases")
    config = "announce:\n  channels:\n    - name: releases\n      url_env: ANNOUNCE_RELEASES_URL\n" \
        "      format: json\n      when: [late]\n"
    try:
        with open_e2e(tmp_path, bot_factory, env=env) as e2e:
            admin, pm = e2e.api("admin"), e2e.api("pm")
            put_config(admin, config, "release-bot: announce late releases")
            e2e.settle()
            boundary, midnight = midnight_soon(offset)
            due = (midnight - timedelta(days=1)).date().isoformat()  # the calendar's today: due today
            milestone = ok(
                pm.post(f"{REPO}/milestones", json={"title": "v3.1.0", "due_on": f"{due}T12:00:00Z"})
            )["number"]
            e2e.settle()
            assert time.time() < boundary, "the setup outlasted the lead: raise LEAD_SECONDS"
            assert "not shipped yet" in tracking_issue(pm, milestone)["body"]
            assert receiver.accepted("releases") == []
            woken_log(e2e, f"@{milestone}")

            seen = wait_until(lambda: bool(receiver.accepted("releases")), LEAD_SECONDS + 20)
            assert seen >= boundary
            [message] = receiver.accepted("releases")
            assert message["moments"][0]["key"] == f"late:{due}" and message["milestone"] == milestone
            late = "late: not shipped by the due date"
            wait_until(lambda: late in tracking_issue(pm, milestone)["body"], 10)
    finally:
        receiver.close()
