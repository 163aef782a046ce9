"""The read cache end to end: a real `release-bot serve` revalidates its reads (GitHub answers 304),
and a change made while its webhook was lost is still seen by the next reconcile."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_gate_e2e import BOT, REPO, Gate, last_seq, ok

pytestmark = pytest.mark.e2e


def chaos(e2e: Any, **settings: Any) -> None:
    base = e2e.sandbox.base_url
    if settings:
        ok(httpx.post(f"{base}/_sandbox/deliveries/chaos", json=settings, timeout=10))
    else:
        ok(httpx.delete(f"{base}/_sandbox/deliveries/chaos", timeout=10))


def bot_reads(e2e: Any, since: int) -> list[dict[str, Any]]:
    return [r for r in e2e.requests_since(since) if r["actor"] == BOT and r["method"] == "GET"]


def test_a_label_removed_while_its_webhook_is_lost_is_seen_by_the_next_reconcile(e2e: Any) -> None:
    gate = Gate(e2e)
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success"
    # The echoes of the gate's own writes wake nothing (bot.reconcilers.echoes): an event of a
    # person's makes it read, so the cache holds answers GitHub confirmed after those writes.
    gate.say("dev", "thanks")
    gate.settle()

    chaos(e2e, drop=1)
    ok(e2e.api("admin").delete(f"/repos/{REPO}/issues/{gate.number}/labels/release-approved"))
    e2e.sandbox.wait_idle(10)
    chaos(e2e)
    assert gate.check()["conclusion"] == "success"  # the bot has not heard of it

    since = last_seq(e2e)
    gate.say("dev", "any news?")  # an event on the pull request: its key reconciles
    gate.settle()
    check = gate.check()
    assert check["conclusion"] == "failure", check["output"]
    reads = bot_reads(e2e, since)
    # What only the App writes (its check run, written through when it wrote it) is not asked
    # again inside its window; what a person can change is revalidated, and the changed pull
    # request came back 200.
    assert not [r for r in reads if "/check-runs" in r["path"]], reads
    assert any(r["status"] == 200 and r["path"].endswith(f"/pulls/{gate.number}") for r in reads), reads


def test_with_the_cache_off_every_read_is_unconditional(tmp_path: Any, bot_factory: Any) -> None:
    from harness import open_e2e

    with open_e2e(tmp_path, bot_factory, env={"GITHUB_CACHE": "off"}) as e2e:
        gate = Gate(e2e)
        since = last_seq(e2e)
        gate.say("dev", "hello")
        gate.settle()
        reads = bot_reads(e2e, since)
        assert reads and all(r["status"] == 200 for r in reads), reads


def test_the_echo_of_the_gates_own_label_wakes_no_second_gate_reconcile(e2e: Any) -> None:
    gate = Gate(e2e)
    since = last_seq(e2e)
    gate.say("qa", "/uat passed")
    gate.settle()
    assert "uat-passed" in gate.labels()
    log = e2e.requests_since(since)
    labelled = [i for i, r in enumerate(log) if r["actor"] == BOT and r["method"] == "POST"
                and r["path"].endswith(f"/issues/{gate.number}/labels")]
    assert labelled, log
    pull = f"/repos/{REPO}/pulls/{gate.number}"
    # The gate read its pull request for the command; the `labeled` webhook of its own label
    # (sender: the bot) woke the same key, which was skipped: no read of the pull request after it.
    assert any(r["actor"] == BOT and r["path"] == pull for r in log[: labelled[0]]), log
    assert not [r for r in log[labelled[0]:] if r["actor"] == BOT and r["path"] == pull], log
    deliveries = httpx.get(f"{e2e.sandbox.base_url}/_sandbox/deliveries", timeout=30).json()
    labeled = [d for d in deliveries if d.get("event") == "pull_request" and d.get("action") == "labeled"]
    assert labeled, deliveries[-3:]  # the echo was delivered: it is the bot that did not act on it


WINDOW = 3.0


def test_an_item_closed_while_its_webhook_is_lost_is_seen_once_the_items_window_ends(
    tmp_path: Any, bot_factory: Any
) -> None:
    """The milestone's items are served from the cache while no `issues`/`pull_request` event
    arrived (bot.github.freshness), and the bot's own edits of its tracking issue are written
    through rather than read back. A person's change whose webhook is lost must still show once
    the window has ended by itself (shortened here: GITHUB_FRESHNESS_MAX_SECONDS)."""
    import time

    from harness import open_e2e
    from test_release_lifecycle import tracking_issue

    with open_e2e(tmp_path, bot_factory, env={"GITHUB_FRESHNESS_MAX_SECONDS": str(WINDOW)}) as e2e:
        pm, dev = e2e.api("pm"), e2e.api("dev")
        m = pm.post(f"/repos/{REPO}/milestones", json={"title": "v4.3.0"}).json()["number"]
        work = dev.post(f"/repos/{REPO}/issues", json={"title": "Boosters", "milestone": m}).json()["number"]
        e2e.settle()
        tracking = tracking_issue(pm, m)
        assert "- Issues: 1 open, 0 closed" in tracking["body"], tracking["body"]
        listed = f"/repos/{REPO}/issues"

        def items_reads(since: int) -> list[dict[str, Any]]:
            return [r for r in bot_reads(e2e, since) if r["path"].split("?")[0].endswith(listed)]

        comment = f"/repos/{REPO}/issues/{tracking['number']}/comments"
        # The window runs from when GitHub last confirmed the items, which may be long before this
        # step began (the reconcile of the work item's creation). Let it end first, so the first
        # comment's reconcile confirms them (a 304) and the window is known to start after `began`.
        time.sleep(WINDOW + 0.5)
        began = time.monotonic()
        since = last_seq(e2e)
        ok(dev.post(comment, json={"body": "hello"}))  # no item changed: the items are confirmed
        e2e.settle()
        confirmed = items_reads(since)
        assert len(confirmed) == 1, confirmed  # 200 or 304: a written-through copy has no new ETag
        since = last_seq(e2e)
        ok(dev.post(comment, json={"body": "and now?"}))
        e2e.settle()
        if time.monotonic() - began < WINDOW - 0.5:  # a slow machine may have outlived the window
            assert items_reads(since) == []  # inside the window: not asked

        chaos(e2e, drop=1)
        ok(dev.patch(f"/repos/{REPO}/issues/{work}", json={"state": "closed"}))
        e2e.sandbox.wait_idle(10)
        chaos(e2e)
        time.sleep(WINDOW + 0.5)  # past the (shortened) window: no event said the items changed

        since = last_seq(e2e)
        ok(dev.post(comment, json={"body": "status?"}))
        e2e.settle()
        body = tracking_issue(pm, m)["body"]
        assert "- Issues: 0 open, 1 closed" in body, body
        reads = items_reads(since)
        assert reads and reads[0]["status"] == 200, reads
