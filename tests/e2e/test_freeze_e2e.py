"""The code freeze end to end (issue 14 part 1): the sandbox, a real `release-bot serve`, webhooks.

`releases.freeze: {starts: uat, ends: deploy}` on `main`: the candidate tag starts the freeze, a
pull request into `main` fails `release-bot/freeze`, `dev`'s `/exception` is refused with a reply
naming who may grant one, `releaser`'s is granted (the check passes) and listed on the tracking
issue, a new commit needs it again, and the final tag lifts the freeze.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

import httpx
import pytest
from test_release_lifecycle import BOT, REPO, create_ref, tracking_issue
from test_release_lifecycle_strict import put_config

CHECK = "release-bot/freeze"
FREEZE_CONFIG = """\
releases:
  freeze:
    starts: uat
    ends: deploy
"""
_n = itertools.count(1)

pytestmark = pytest.mark.e2e


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def commit(api: httpx.Client, branch: str) -> str:
    n = next(_n)
    content = base64.b64encode(f"{n}\n".encode()).decode()
    body = {"message": f"change {n}", "content": content, "branch": branch}
    return ok(api.put(f"{REPO}/contents/freeze-{n}.txt", json=body))["commit"]["sha"]


def open_pull(api: httpx.Client, base: str = "main") -> tuple[int, str]:
    branch = f"feature-{next(_n)}"
    sha = ok(api.get(f"{REPO}/git/ref/heads/{base}"))["object"]["sha"]
    ok(api.post(f"{REPO}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": sha}))
    commit(api, branch)
    number = ok(api.post(f"{REPO}/pulls", json={"title": f"Add {branch}", "head": branch, "base": base}))
    return number["number"], branch


def freeze_check(api: httpx.Client, number: int) -> dict[str, Any]:
    sha = ok(api.get(f"{REPO}/pulls/{number}"))["head"]["sha"]
    runs = ok(api.get(f"{REPO}/commits/{sha}/check-runs", params={"check_name": CHECK}))["check_runs"]
    ours = [r for r in runs if r["app"]["id"] == 1]
    assert len(ours) == 1, runs
    return ours[0]


def bot_replies(api: httpx.Client, number: int) -> list[str]:
    found = ok(api.get(f"{REPO}/issues/{number}/comments", params={"per_page": 100}))
    return [c["body"] for c in found if c["user"]["login"] == BOT]


def reactions(api: httpx.Client, comment_id: int) -> set[str]:
    found = ok(api.get(f"{REPO}/issues/comments/{comment_id}/reactions"))
    return {r["content"] for r in found if r["user"]["login"] == BOT}


def say(api: httpx.Client, number: int, body: str) -> int:
    return ok(api.post(f"{REPO}/issues/{number}/comments", json={"body": body}))["id"]


def test_freeze_from_candidate_to_final_tag_with_exceptions(e2e: Any) -> None:
    admin, pm, dev, releaser = (e2e.api(u) for u in ("admin", "pm", "dev", "releaser"))
    put_config(admin, FREEZE_CONFIG, "release-bot: code freeze from UAT to Deploy")
    milestone = ok(pm.post(f"{REPO}/milestones", json={"title": "v1.4.0"}))["number"]
    e2e.settle()
    number, branch = open_pull(dev)
    e2e.settle()

    # Before the candidate: no freeze, the check passes and says when a freeze would start.
    check = freeze_check(admin, number)
    assert check["conclusion"] == "success", check
    assert check["output"]["title"] == "No code freeze on main"
    assert "when UAT begins" in check["output"]["summary"]

    # The candidate tag moves the release into UAT: the freeze starts and the open pull request
    # into `main` is woken and fails, saying which release froze it, since when, and what to do.
    create_ref(dev, "refs/tags/v1.4.0-rc.1")
    e2e.settle()
    issue = tracking_issue(pm, milestone)
    assert "| UAT | ▶️ current |" in issue["body"]
    assert "| Code freeze | ❄️ the default branch frozen since " in issue["body"], issue["body"]
    assert "(UAT began); `/thaw` lifts it |" in issue["body"]
    check = freeze_check(admin, number)
    summary = check["output"]["summary"]
    assert check["conclusion"] == "failure", check
    assert check["output"]["title"].startswith("Code freeze: v1.4.0 froze main since 20"), check["output"]
    assert "Release v1.4.0 (milestone #" in summary and "(UAT began)" in summary
    assert "`/exception <reason>`" in summary and "release managers (people with maintain" in summary

    # dev (write permission) may not grant an exception: a reply names who may; nothing changes.
    refused = say(dev, number, "/exception I really need this in")
    e2e.settle()
    [reply] = [r for r in bot_replies(admin, number) if "/exception" in r]
    assert reply.startswith("@dev `/exception` may only be run by release managers (people with maintain")
    assert reactions(admin, refused) == {"confused"}
    assert freeze_check(admin, number)["conclusion"] == "failure"

    # releaser (maintain) grants it: the check passes for this head commit, and the tracking issue
    # lists the exception with the pull request, who, when and why.
    head = ok(admin.get(f"{REPO}/pulls/{number}"))["head"]["sha"]
    granted = say(releaser, number, "/exception fixes the checkout crash <b>customers</b> hit")
    e2e.settle()
    check = freeze_check(admin, number)
    assert check["conclusion"] == "success", check
    assert check["output"]["title"] == f"Freeze exception for {head[:7]}: granted by @releaser"
    assert reactions(admin, granted) == {"+1"}
    body = tracking_issue(pm, milestone)["body"]
    assert "### Freeze exceptions" in body, body
    [listed] = [line for line in body.splitlines() if line.startswith(f"| #{number} |")]
    assert f"`{head[:7]}`" in listed and "@\u200breleaser" in listed and "checkout crash" in listed
    assert "<b>" not in listed and "&lt;b&gt;" in listed  # user text is escaped
    created_at = ok(admin.get(f"{REPO}/issues/comments/{granted}"))["created_at"]
    assert created_at in listed

    # A new commit is a new head: the exception does not carry over.
    new_head = commit(dev, branch)
    e2e.settle()
    check = freeze_check(admin, number)
    assert check["head_sha"] == new_head and check["conclusion"] == "failure", check
    lines = tracking_issue(pm, milestone)["body"].splitlines()
    assert sum(line.startswith(f"| #{number} |") for line in lines) == 1

    # The final tag moves the release into Deploy (`ends`): the freeze lifts by itself.
    create_ref(dev, "refs/tags/v1.4.0")
    e2e.settle()
    body = tracking_issue(pm, milestone)["body"]
    assert "| Deploy | ▶️ current |" in body
    assert "| Code freeze | lifted on " in body, body
    assert "### Freeze exceptions" in body  # the record of exceptions stays
    check = freeze_check(admin, number)
    assert check["conclusion"] == "success" and check["output"]["title"] == "No code freeze on main", check


def test_protect_requires_the_freeze_check_pinned_to_the_app(e2e: Any) -> None:
    from test_gate_protect import protect

    admin, pm, dev, releaser = (e2e.api(u) for u in ("admin", "pm", "dev", "releaser"))
    without = protect(e2e, token_login="admin")
    assert without.returncode == 0 and "freeze" not in without.stdout, without.stdout + without.stderr
    put_config(admin, FREEZE_CONFIG, "release-bot: code freeze")
    e2e.settle()
    result = protect(e2e, token_login="admin")
    assert result.returncode == 0, result.stderr
    assert "ruleset 'release-bot freeze'" in result.stdout
    assert "release-bot/freeze from app 1" in result.stdout
    [ruleset] = [r for r in ok(admin.get(f"{REPO}/rulesets")) if r["name"] == "release-bot freeze"]
    detail = ok(admin.get(f"{REPO}/rulesets/{ruleset['id']}"))
    assert detail["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
    [rule] = [r for r in detail["rules"] if r["type"] == "required_status_checks"]
    assert rule["parameters"]["required_status_checks"] == [{"context": CHECK, "integration_id": 1}]
    again = protect(e2e, token_login="admin")
    assert "ruleset 'release-bot freeze'" in again.stdout and "already requires" in again.stdout

    ok(pm.post(f"{REPO}/milestones", json={"title": "v2.0.0"}))
    create_ref(dev, "refs/tags/v2.0.0-rc.1")
    number, _ = open_pull(dev)
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "failure"
    head = ok(admin.get(f"{REPO}/pulls/{number}"))["head"]["sha"]
    # A look-alike commit status is not the App's check: the merge is refused.
    ok(dev.post(f"{REPO}/statuses/{head}", json={"state": "success", "context": CHECK}))
    assert releaser.put(f"{REPO}/pulls/{number}/merge", json={}).status_code == 405
    say(releaser, number, "/exception release blocker, approved in the go/no-go")
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "success"
    merged = releaser.put(f"{REPO}/pulls/{number}/merge", json={})
    assert merged.status_code == 200, merged.text


def bot_calls_since(e2e: Any, seq: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in e2e.requests_since(seq) if r["actor"] == BOT]


def check_listings(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("GET /repos/acme/rocket/commits/") and c.endswith("/check-runs")]


def last_seq(e2e: Any) -> int:
    log = e2e.requests_since(0)
    return log[-1]["seq"] if log else 0


def test_a_freeze_costs_nothing_where_none_is_configured(e2e: Any) -> None:
    """Without `releases.freeze` a pull request into `main`, a push to it and a release's candidate
    make no read or write for the freeze; with one, the pull request's reconcile adds two reads (its
    freeze check, the frozen release's record) and the check's write."""
    admin, pm, dev = (e2e.api(u) for u in ("admin", "pm", "dev"))
    ok(pm.post(f"{REPO}/milestones", json={"title": "v3.0.0"}))
    e2e.settle()
    seq = last_seq(e2e)
    number, branch = open_pull(dev)
    e2e.settle()
    create_ref(dev, "refs/tags/v3.0.0-rc.1")
    commit(dev, branch)
    e2e.settle()
    calls = bot_calls_since(e2e, seq)
    reconciles = calls.count(f"GET /repos/acme/rocket/pulls/{number}")
    assert reconciles >= 2, calls
    # One check-run listing per reconcile (the gate's), no check written, no pull request listing.
    assert len(check_listings(calls)) == reconciles, calls
    assert "POST /repos/acme/rocket/check-runs" not in calls and "GET /repos/acme/rocket/pulls" not in calls
    head = ok(admin.get(f"{REPO}/pulls/{number}"))["head"]["sha"]
    assert CHECK not in {r["name"] for r in ok(admin.get(f"{REPO}/commits/{head}/check-runs"))["check_runs"]}

    put_config(admin, FREEZE_CONFIG, "release-bot: code freeze")  # v3.0.0 is in UAT: it freezes
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "failure"
    seq = last_seq(e2e)
    other, _ = open_pull(dev)
    e2e.settle()
    calls = bot_calls_since(e2e, seq)
    assert calls.count(f"GET /repos/acme/rocket/pulls/{other}") == 1, calls
    assert len(check_listings(calls)) == 2, calls  # the gate's and the freeze's
    assert calls.count("POST /repos/acme/rocket/check-runs") == 1  # the freeze check
    assert freeze_check(admin, other)["conclusion"] == "failure"


def test_freeze_and_thaw_by_hand_cancel_a_wiped_store_and_an_abandoned_release(e2e: Any) -> None:
    from test_release_lifecycle import assert_wipe_and_reconcile_change_nothing

    admin, pm, dev, releaser = (e2e.api(u) for u in ("admin", "pm", "dev", "releaser"))
    put_config(admin, "releases:\n  freeze:\n    starts: uat\n    branches: [main]\n", "release-bot: freeze")
    milestone = ok(pm.post(f"{REPO}/milestones", json={"title": "v5.0.0"}))["number"]
    number, branch = open_pull(dev)
    e2e.settle()
    tracking = tracking_issue(pm, milestone)["number"]
    assert freeze_check(admin, number)["conclusion"] == "success"

    # Only release managers freeze by hand; then the open pull request into `main` fails.
    refused = say(dev, tracking, "/freeze")
    e2e.settle()
    assert any(f"release-bot:reply:{refused} -->" in r and "`/freeze` is for release managers" in r
               for r in bot_replies(admin, tracking))
    assert freeze_check(admin, number)["conclusion"] == "success"
    say(releaser, tracking, "/freeze")
    e2e.settle()
    check = freeze_check(admin, number)
    assert check["conclusion"] == "failure" and "(`/freeze` by @\u200breleaser)" in check["output"]["summary"]
    assert "(`/freeze` by @\u200breleaser); `/thaw` lifts it |" in tracking_issue(pm, milestone)["body"]

    # An exception granted, then withdrawn: the check fails again, the issue keeps both facts.
    say(releaser, number, "/exception docs only")
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "success"
    say(releaser, number, "/exception cancel")
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "failure"
    lines = tracking_issue(pm, milestone)["body"].splitlines()
    [listed] = [line for line in lines if line.startswith(f"| #{number} |")]
    assert "docs only (withdrawn by @\u200breleaser at " in listed

    # The bot's store wiped (its index of frozen releases with it): the re-sync changes nothing, and
    # a new commit is judged from the records found again on GitHub — still frozen.
    assert_wipe_and_reconcile_change_nothing(e2e, tracking)
    new_head = commit(dev, branch)
    e2e.settle()
    check = freeze_check(admin, number)
    assert check["head_sha"] == new_head and check["conclusion"] == "failure", check

    # /thaw lifts it by hand; /freeze again, then the milestone is deleted: the abandoned release
    # freezes nothing.
    say(releaser, tracking, "/thaw")
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "success"
    assert "| Code freeze | lifted on " in tracking_issue(pm, milestone)["body"]
    say(releaser, tracking, "/freeze")
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "failure"
    assert admin.delete(f"{REPO}/milestones/{milestone}").status_code == 204
    e2e.settle()
    check = freeze_check(admin, number)
    assert check["conclusion"] == "success" and check["output"]["title"] == "No code freeze on main", check


def test_a_merge_queue_group_into_a_frozen_branch_needs_every_exception(e2e: Any) -> None:
    from test_gate_protect import protect

    admin, pm, dev, releaser = (e2e.api(u) for u in ("admin", "pm", "dev", "releaser"))
    put_config(admin, FREEZE_CONFIG, "release-bot: code freeze")
    ok(pm.post(f"{REPO}/milestones", json={"title": "v6.0.0"}))
    create_ref(dev, "refs/tags/v6.0.0-rc.1")
    first, _ = open_pull(dev)
    second, _ = open_pull(dev)
    e2e.settle()
    assert protect(e2e, token_login="admin").returncode == 0  # the group waits for the required check
    say(releaser, first, "/exception needed for the release")
    e2e.settle()

    def queue(*numbers: int) -> dict[str, Any]:
        queued = httpx.post(
            f"{e2e.sandbox.base_url}/_sandbox/merge-queue",
            json={"repo": "acme/rocket", "pull_numbers": list(numbers)},
            timeout=10,
        )
        assert queued.status_code < 300, queued.text
        e2e.settle()
        with e2e.sandbox.state.lock:
            head = [d.payload for d in e2e.sandbox.state.deliveries if d.event == "merge_group"][-1]
        sha = head["merge_group"]["head_sha"]
        runs = ok(admin.get(f"{REPO}/commits/{sha}/check-runs", params={"check_name": CHECK}))["check_runs"]
        [run] = [r for r in runs if r["app"]["id"] == 1]
        return run

    run = queue(first, second)
    assert run["conclusion"] == "failure", run["output"]
    assert f"#{second}: no exception" in run["output"]["summary"]
    assert not ok(admin.get(f"{REPO}/pulls/{second}"))["merged"]

    say(releaser, second, "/exception needed too")
    e2e.settle()
    # The other order: the same merges in the same second would make the very same group commit,
    # which still carries the first group's failed check (GitHub's would, too).
    run = queue(second, first)
    assert run["conclusion"] == "success", run["output"]
    assert all(ok(admin.get(f"{REPO}/pulls/{n}"))["merged"] for n in (first, second))


def test_removing_the_configuration_lifts_a_running_freeze(e2e: Any) -> None:
    admin, pm, dev = (e2e.api(u) for u in ("admin", "pm", "dev"))
    put_config(admin, FREEZE_CONFIG, "release-bot: code freeze")
    milestone = ok(pm.post(f"{REPO}/milestones", json={"title": "v7.0.0"}))["number"]
    create_ref(dev, "refs/tags/v7.0.0-rc.1")
    number, _ = open_pull(dev)
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "failure"
    put_config(admin, "releases:\n  mode: agile\n", "release-bot: no more freeze")
    e2e.settle()
    check = freeze_check(admin, number)
    assert check["conclusion"] == "success", check["output"]
    assert check["output"]["title"] == "No code freeze: releases.freeze is no longer configured"
    body = tracking_issue(pm, milestone)["body"]
    assert "`releases.freeze` was removed from the configuration" in body, body


def test_a_freeze_by_due_date_starts_days_before_it(e2e: Any) -> None:
    from datetime import UTC, datetime, timedelta

    admin, pm, dev = (e2e.api(u) for u in ("admin", "pm", "dev"))
    config = "releases:\n  freeze:\n    starts: {days_before_due: 3}\n"
    put_config(admin, config, "release-bot: freeze three days before the due date")
    far = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT08:00:00Z")
    soon = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT08:00:00Z")
    later = ok(pm.post(f"{REPO}/milestones", json={"title": "v8.0.0", "due_on": far}))["number"]
    number, _ = open_pull(dev)
    e2e.settle()
    assert freeze_check(admin, number)["conclusion"] == "success"  # 30 days out: not yet
    assert "3 days before the due date" in freeze_check(admin, number)["output"]["summary"]
    ok(pm.patch(f"{REPO}/milestones/{later}", json={"due_on": soon}))  # the date moves closer
    e2e.settle()
    check = freeze_check(admin, number)
    assert check["conclusion"] == "failure", check["output"]
    assert "(3 days before the due date)" in check["output"]["summary"]
    assert "(3 days before the due date); `/thaw` lifts it |" in tracking_issue(pm, later)["body"]
