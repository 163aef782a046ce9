"""The release reconciler against an in-memory GitHub: artifacts, idempotence, commands, budget."""

from __future__ import annotations

import logging
import math
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config.defaults import default_config
from bot.core.tracking import TrackingState
from bot.github.release_facts import comments_since
from bot.jobs import JobSpec, release_key
from bot.reconcilers import release
from bot.reconcilers.context import JobContext

sys.path.insert(0, str(Path(__file__).parent))
from fake_github import BOT, REPO, FakeGitHub  # noqa: E402
from memory_store import MemoryStore as Store  # noqa: E402


@pytest.fixture(autouse=True)
def no_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The notes reconciler has its own tests; here only the life cycle is under test.
    monkeypatch.setattr(release.ReleaseRun, "_sync_notes", lambda self: None)


def run(gh: FakeGitHub, milestone: int, config: dict[str, Any] | None = None, store: Store | None = None,
        config_error: str | None = None) -> list[JobSpec]:
    enqueued: list[JobSpec] = []
    ctx = JobContext(
        job=JobSpec(release_key(1, milestone), 1, REPO, "test"),
        gh=gh,  # type: ignore[arg-type]
        repo_full_name=REPO,
        bot_login=BOT,
        app_id=1,
        config=config or default_config(),
        config_error=config_error,
        store=store or Store(),
        enqueue=enqueued.extend,
        log=logging.getLogger("test"),
    )
    release.reconcile(ctx)
    return enqueued


def tracking(gh: FakeGitHub) -> dict[str, Any]:
    (issue,) = gh.tracking_issues()
    return issue


def stage_comments(gh: FakeGitHub) -> list[str]:
    out = []
    for c in gh.comments_on(tracking(gh)["number"]):
        m = re.search(r"release-bot:stage:\d+:(\w+)", c["body"])
        if m and c["user"]["login"] == BOT:
            out.append(m.group(1))
    return out


def settle(gh: FakeGitHub, milestone: int, **kw: Any) -> None:
    """Run until a run makes no write, asserting it converges fast."""
    for _ in range(4):
        before = len(gh.writes())
        run(gh, milestone, **kw)
        if len(gh.writes()) == before:
            return
    raise AssertionError("reconcile does not converge")


def tick_all(gh: FakeGitHub, stage: str) -> None:
    for c in gh.comments_on(tracking(gh)["number"]):
        if f":{stage} -->" in c["body"]:
            gh.edit_comment(c["id"], c["body"].replace("- [ ]", "- [x]"))


def test_full_life_cycle() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    nxt = gh.add_milestone("v1.5.0")
    hotfix = gh.add_milestone("v1.4.1")
    gh.add_issue("Feature A", m, pr=True, state="closed", merged=True, author="dev")
    gh.add_issue("Bug B", m)
    late_pr = gh.add_issue("Late PR", m, pr=True)
    gh.pull_bases[late_pr] = "release/1.4"
    idea = gh.add_issue("Idea", m)

    settle(gh, m)
    issue = tracking(gh)
    assert issue["title"] == "Release v1.4.0" and issue["milestone_number"] == m
    assert {"name": "release-tracking"} in issue["labels"]
    assert stage_comments(gh) == ["identify_needs", "plan"]
    assert "| Plan Release | ▶️ current |" in issue["body"]
    assert "- Issues: 2 open, 0 closed" in issue["body"]  # the tracking issue is not counted

    # Nothing changed: no write at all, and reads within the budget.
    gh.calls.clear()
    run(gh, m)
    assert gh.writes() == []
    n_items = 5
    assert len(gh.reads()) <= math.ceil(n_items / 100) + 8

    gh.branches.append("release/1.4")
    gh.tags.append("v1.4.0-rc.1")
    settle(gh, m)
    assert stage_comments(gh) == ["identify_needs", "plan", "build_test", "uat"]

    # Commands: refused for a developer, failed then new candidate, passed by QA.
    number = tracking(gh)["number"]
    refused = gh.comment(number, "outsider", "/uat passed")
    failed = gh.comment(number, "qa", "looks bad\n/uat failed login broken")
    settle(gh, m)
    replies = [c["body"] for c in gh.comments_on(number) if f"release-bot:reply:{refused}" in c["body"]]
    assert len(replies) == 1 and "is for QA" in replies[0] and "write permission" in replies[0]
    assert (failed, "+1", BOT) in gh.reactions and not any(r[0] == refused for r in gh.reactions)
    assert "failed on rc.1" in tracking(gh)["body"]
    gh.tags.append("v1.4.0-rc.2")
    settle(gh, m)
    assert "| UAT | ▶️ current |" in tracking(gh)["body"]
    gh.comment(number, "qa", "/uat passed")
    settle(gh, m)
    assert "| Prepare | ▶️ current |" in tracking(gh)["body"]
    assert "passed on rc.2" in tracking(gh)["body"]
    # Redelivering everything (new runs, nothing new): no duplicate reply, reaction or comment.
    writes = len(gh.writes())
    settle(gh, m)
    assert len(gh.writes()) == writes

    gh.tags.append("v1.4.0")
    settle(gh, m)
    assert stage_comments(gh)[-1] == "deploy"
    tick_all(gh, "deploy")
    settle(gh, m)
    body = tracking(gh)["body"]
    # Ticks show as progress but move no stage: GitHub does not say who ticked a box.
    assert "| Deploy | ▶️ current |" in body and " 4/4 |" in body
    gh.comment(number, "releaser", "/stage monitor")
    settle(gh, m)
    body = tracking(gh)["body"]
    assert "| Monitor | ▶️ current |" in body and "| Deploy | ✅ done |" in body and " 4/4 |" in body

    # Feedback while in Monitor.
    fb = gh.add_issue("Crash since v1.4.0.", None, created_at="2099-01-01T00:00:00Z")
    gh.add_issue("Crash in 1.4.01", None, created_at="2099-01-01T00:00:00Z")
    gh.add_issue("Crash in 11.4.0", None, created_at="2099-01-01T00:00:00Z")
    reg = gh.add_issue("Slow page", None, labels=["regression"], created_at="2099-01-01T00:00:00Z")
    gh.add_issue("Old regression", None, labels=["regression"], created_at="2000-01-01T00:00:00Z")
    settle(gh, m)
    assert TrackingState.from_json(gh.record_state(m)).feedback == (fb, reg)
    assert f"- #{fb}\n- #{reg}" in tracking(gh)["body"]

    # Close: retrospective once, carry-over by release line and semver order.
    gh.milestones[m]["state"] = "closed"
    settle(gh, m)
    retro = [c["body"] for c in gh.comments_on(number) if "release-bot:retro:" in c["body"]]
    assert len(retro) == 1
    assert "| Merged pull requests | 1 |" in retro[0] and "| Slipped items | 3 |" in retro[0]
    assert gh.issues[late_pr]["milestone_number"] == hotfix
    assert gh.issues[idea]["milestone_number"] == hotfix  # next version in semver order is 1.4.1
    assert gh.issues[number]["milestone_number"] == m  # the tracking issue is never carried over
    assert stage_comments(gh)[-1] == "future_planning"
    assert gh.issues[number]["state"] == "open"
    tick_all(gh, "future_planning")
    settle(gh, m)
    assert gh.issues[number]["state"] == "closed"
    assert nxt  # v1.5.0 stays untouched by line carry-over


def test_adoption_from_empty_store_changes_nothing() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v2.0.0", due_on="2026-12-01T08:00:00Z")
    gh.branches.append("release/2.0")
    settle(gh, m)
    assert stage_comments(gh) == ["identify_needs", "plan", "build_test"]
    gh.calls.clear()
    run(gh, m, store=Store())  # wiped store
    assert gh.writes() == []


def test_adopted_patch_release_starts_at_build_and_test() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.1")
    gh.branches.append("release/1.4")
    settle(gh, m)
    body = tracking(gh)["body"]
    assert "| Plan Release | ⏭️ skipped |" in body and "| Build & Test | ▶️ current |" in body
    assert stage_comments(gh) == ["identify_needs", "build_test"]


def test_stage_command_permissions_and_help() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v3.0.0")
    settle(gh, m)
    number = tracking(gh)["number"]
    dev = gh.comment(number, "dev", "/stage plan")
    rm = gh.comment(number, "releaser", "<!-- /stage deploy -->\n/stage plan")
    helped = gh.comment(number, "outsider", "/help")
    settle(gh, m)
    bodies = {c["body"].split("\n")[0]: c["body"] for c in gh.comments_on(number)}
    assert "is for release managers" in bodies[f"<!-- release-bot:reply:{dev} -->"]
    assert "/uat passed" in bodies[f"<!-- release-bot:reply:{helped} -->"]
    assert (rm, "+1", BOT) in gh.reactions
    assert "| Plan Release | ▶️ current |" in tracking(gh)["body"]  # not deploy: HTML comments ignored
    back = gh.comment(number, "releaser", "/stage identify")
    settle(gh, m)
    assert any("never move backwards" in c["body"] for c in gh.comments_on(number) if str(back) in c["body"])


def test_strict_mode_holds_and_says_so() -> None:
    gh = FakeGitHub()
    config = default_config()
    config["releases"]["mode"] = "strict"
    m = gh.add_milestone("v1.0.0")
    settle(gh, m, config=config)
    gh.milestones[m]["due_on"] = "2026-12-01T08:00:00Z"
    settle(gh, m, config=config)
    body = tracking(gh)["body"]
    assert "| Identify Needs | ▶️ current |" in body and "Strict mode" in body
    tick_all(gh, "identify_needs")
    settle(gh, m, config=config)
    assert "| Plan Release | ▶️ current |" in tracking(gh)["body"]


def test_rename_duplicate_config_error_and_delete() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v1.0.0")
    settle(gh, m, config_error="line 3: releases.mode: 'fast' is not one of ['agile', 'strict']")
    assert "Configuration error" in tracking(gh)["body"]
    gh.milestones[m]["title"] = "v1.1.0"
    settle(gh, m)
    assert tracking(gh)["title"] == "Release v1.1.0" and "Configuration error" not in tracking(gh)["body"]
    dup = gh.add_milestone("1.1.0")
    woken = run(gh, m)
    assert "Several open milestones name version 1.1.0" in tracking(gh)["body"]
    assert [j.key for j in woken] == [release_key(1, dup)]
    assert run(gh, m) == []  # nothing written: nobody woken again
    number = tracking(gh)["number"]
    del gh.milestones[m]
    gh.issues[number]["milestone_number"] = None
    settle(gh, m)
    assert gh.issues[number]["state"] == "closed"
    assert sum("release-bot:closed:" in c["body"] for c in gh.comments_on(number)) == 1


def test_closed_milestone_without_tracking_issue_is_left_alone() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v0.9.0")
    gh.milestones[m]["state"] = "closed"
    run(gh, m)
    assert gh.writes() == [] and gh.tracking_issues() == []


def test_non_version_milestone_is_ignored() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("Backlog")
    run(gh, m)
    assert gh.writes() == []


def test_gate_audit_is_copied_into_the_body_and_outlives_the_store() -> None:
    from bot.reconcilers.pr import AUDIT_STATE_PREFIX

    gh, store = FakeGitHub(), Store()
    m = gh.add_milestone("v1.4.0")
    gh.branches.append("release/1.4")
    store.set_state(f"{AUDIT_STATE_PREFIX}{REPO}", [
        {"kind": "bypass_merge", "repo": REPO, "branch": "release/1.4", "sha": "f" * 40, "number": 12, "by": "admin"},
        {"kind": "direct_push", "repo": REPO, "branch": "release/1.4", "sha": "e" * 40, "number": None, "by": "admin"},
        {"kind": "direct_push", "repo": REPO, "branch": "release/1.3", "sha": "d" * 40, "number": None, "by": "admin"},
    ])
    settle(gh, m, store=store)
    assert TrackingState.from_json(gh.record_state(m)).past_gate == ("#12", "e" * 40)
    gh.calls.clear()
    run(gh, m, store=Store())  # wiped store: the record stays in the body
    assert gh.writes() == []


def test_production_deployment_of_the_final_tag_starts_monitor() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.0")
    gh.tags += ["v1.4.0"]
    settle(gh, m)
    assert "| Deploy | ▶️ current |" in tracking(gh)["body"]
    gh.deployments.append({"id": 5, "ref": "v1.4.0", "environment": "staging", "status": "success"})
    gh.deployments.append({"id": 6, "ref": "v1.4.0", "environment": "production", "status": "failure"})
    settle(gh, m)
    assert "| Deploy | ▶️ current |" in tracking(gh)["body"]
    gh.deployments.append({"id": 7, "ref": "v1.4.0", "environment": "production", "status": "success"})
    settle(gh, m)
    assert "| Monitor | ▶️ current |" in tracking(gh)["body"]
    gh.calls.clear()
    run(gh, m)
    assert not any("/deployments" in path for _, path in gh.calls)  # no longer read once in Monitor


def test_strict_mode_withholds_publishing_until_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(release.ReleaseRun, "_sync_notes", lambda self: seen.append(self.plan.publish_allowed))
    config = default_config()
    config["releases"]["mode"] = "strict"
    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.0")
    settle(gh, m, config=config)
    gh.tags += ["v1.4.0"]
    settle(gh, m, config=config)
    assert seen[-1] is False and "Strict mode" in tracking(gh)["body"]
    for stage in ("identify_needs",):
        tick_all(gh, stage)
    settle(gh, m, config=config)
    assert "| Deploy | ▶️ current |" in tracking(gh)["body"] and seen[-1] is True


def at(monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    monkeypatch.setattr(release, "utc_now", lambda: datetime.fromisoformat(moment))


def test_late_or_on_time_is_decided_by_the_published_release(monkeypatch: pytest.MonkeyPatch) -> None:
    at(monkeypatch, "2026-11-26T10:00:00+00:00")
    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    settle(gh, m)
    assert "2026-12-01 (America/Los_Angeles) · not shipped yet" in tracking(gh)["body"]
    gh.tags.append("v1.4.0")
    gh.releases.append({"tag_name": "v1.4.0", "draft": False, "published_at": "2026-12-03T23:30:00Z",
                        "html_url": "http://gh/r/1", "body": ""})
    settle(gh, m)
    assert "shipped late by 2 days (2026-12-03, UTC)" in tracking(gh)["body"]
    config = default_config()
    config["releases"]["timezone"] = "Asia/Tokyo"  # 23:30 UTC is the next day in Tokyo
    settle(gh, m, config=config)
    assert "2026-12-01 (America/Los_Angeles) · shipped late by 3 days (2026-12-04, Asia/Tokyo)" in tracking(gh)["body"]


def test_crash_before_the_body_is_recorded_repeats_nothing_visible() -> None:
    from github import GithubException

    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.0")
    gh.branches.append("release/1.4")
    gh.tags.append("v1.4.0-rc.1")
    settle(gh, m)
    number = tracking(gh)["number"]
    mixed = gh.comment(number, "qa", "/uat passed\n/stage nowhere")
    gh.faults.append(("PATCH", rf"/issues/{number}$"))  # the body update fails after the answers
    with pytest.raises(GithubException):
        run(gh, m)
    settle(gh, m)
    replies = [c for c in gh.comments_on(number) if f"release-bot:reply:{mixed}" in c["body"]]
    assert len(replies) == 1 and "is for release managers" in replies[0]["body"]
    assert "| Prepare | ▶️ current |" in tracking(gh)["body"]  # the accepted half took effect
    assert stage_comments(gh).count("prepare") == 1


def test_lagging_listings_do_not_duplicate_the_tracking_issue_or_stage_comments() -> None:
    gh, store = FakeGitHub(), Store()
    m = gh.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    settle(gh, m, store=store)
    issue = tracking(gh)
    # GitHub's listings lag a write: the tracking issue is missing from both issue listings...
    real = gh.requestJsonAndCheck

    def lagging(verb: str, url: str, parameters: Any = None, input: Any = None, headers: Any = None) -> Any:  # noqa: A002
        headers_out, data = real(verb, url, parameters, input, headers)
        if verb == "GET" and url.endswith("/issues"):
            data = [i for i in data if i["number"] != issue["number"]]
        if verb == "GET" and url.endswith(f"/issues/{issue['number']}/comments"):
            data = []  # ...and its comments listing is empty
        return headers_out, data

    gh.requester = type("R", (), {"requestJsonAndCheck": staticmethod(lagging)})()
    run(gh, m, store=store)
    assert len(gh.tracking_issues()) == 1
    assert stage_comments(gh) == ["identify_needs", "plan"]


def test_config_error_warning_names_file_and_line_and_neutralizes_values() -> None:
    error = ("acme/rocket:.github/release-bot.yml:3: releases.mode: '<b>@all</b>' is not one of 'agile', 'strict'\n"
             "acme/.github:.github/release-bot.yml:12: gate.hold_label: 5 is not of type 'string'")
    text = release.config_error_warning(error, last_valid_in_use=True)
    assert "`acme/rocket:.github/release-bot.yml` line 3: releases.mode:" in text
    assert "`acme/.github:.github/release-bot.yml` line 12: gate.hold_label" in text
    assert "the last valid configuration is in use" in text
    assert "<b>" not in text and "@all" not in text  # user text: no HTML, no pings
    unparsable = release.config_error_warning(".github/release-bot.yml: (top level): not a mapping", False)
    assert "defaults are in use" in unparsable and "not a mapping" in unparsable
    many = "\n".join(f"o/r:.github/release-bot.yml:{n}: x: bad" for n in range(1, 15))
    assert "and 4 more" in release.config_error_warning(many, True)


def test_steady_reconcile_lists_only_comments_changed_since_the_last_read() -> None:
    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    settle(gh, m)
    number = tracking(gh)["number"]
    for i in range(250):
        gh.comment(number, "dev", f"discussion {i}")
    settle(gh, m)
    state = TrackingState.from_json(gh.record_state(m))
    assert set(state.checklists) == {"identify_needs", "plan"} and state.comments_seen
    assert state.comment_watermark == max(gh.comments)

    listed: list[tuple[dict[str, Any], int]] = []
    real = gh.requestJsonAndCheck

    def spy(verb: str, url: str, parameters: Any = None, input: Any = None, headers: Any = None) -> Any:  # noqa: A002
        out = real(verb, url, parameters, input, headers)
        if verb == "GET" and url.endswith(f"/issues/{number}/comments"):
            listed.append((dict(parameters or {}), len(out[1])))
        return out

    gh.requester = type("R", (), {"requestJsonAndCheck": staticmethod(spy)})()
    gh.calls.clear()
    run(gh, m)
    assert gh.writes() == []
    # One page instead of three: only the newest comment (within the lag margin of the mark) again.
    assert len(listed) == 1 and listed[0][1] == 1, listed
    assert listed[0][0]["since"] == comments_since(state.comments_seen) < state.comments_seen

    # A tick edits the stage comment: listed again, progress moves; the other record is kept.
    (plan,) = [c for c in gh.comments_on(number) if ":plan -->" in c["body"]]
    gh.edit_comment(plan["id"], plan["body"].replace("- [ ]", "- [x]", 1))
    listed.clear()
    run(gh, m)
    assert listed[0][1] == 2  # the edited stage comment, and the newest one again (margin)
    body = tracking(gh)["body"]
    assert re.search(r"\| Plan Release \| ▶️ current \| [-\d]+ \| 1/\d \|", body), body
    new_state = TrackingState.from_json(gh.record_state(m))
    assert new_state.checklists["plan"].progress.ticked == 1
    assert new_state.checklists["identify_needs"] == state.checklists["identify_needs"]
    # A new command after that is still read (its comment is newer than the mark).
    cmd = gh.comment(number, "releaser", "/stage build")
    settle(gh, m)
    assert (cmd, "+1", BOT) in gh.reactions
    assert "build_test" in stage_comments(gh)


def test_a_due_date_passed_unshipped_is_recorded_late_once_and_rendered_from_the_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at(monkeypatch, "2026-12-01T23:00:00+00:00")  # the due date itself: still on time
    gh = FakeGitHub()
    m = gh.add_milestone("v1.4.0", due_on="2026-12-01T08:00:00Z")
    settle(gh, m)
    assert "2026-12-01 (America/Los_Angeles) · not shipped yet" in tracking(gh)["body"]
    config = default_config()
    config["releases"]["timezone"] = "Asia/Tokyo"  # already 2 December there: late
    settle(gh, m, config=config)
    body = tracking(gh)["body"]
    assert "2026-12-01 (America/Los_Angeles) · late: not shipped by the due date" in body
    assert gh.record_state(m)["overdue"] == "2026-12-01" and "overdue" not in body
    # Rendered from the record: steady runs (even with the clock back) write nothing.
    at(monkeypatch, "2026-11-01T00:00:00+00:00")
    before = len(gh.writes())
    settle(gh, m, config=config)
    assert len(gh.writes()) == before and "late: not shipped" in tracking(gh)["body"]
    # Moving the due date clears the verdict; shipping decides on time or late by the ship date.
    gh.milestones[m]["due_on"] = "2026-12-20T08:00:00Z"
    settle(gh, m, config=config)
    assert "2026-12-20 (America/Los_Angeles) · not shipped yet" in tracking(gh)["body"]
    gh.tags.append("v1.4.0")
    gh.releases.append({"tag_name": "v1.4.0", "draft": False, "published_at": "2026-12-03T00:00:00Z",
                        "html_url": "http://gh/r/1", "body": ""})
    settle(gh, m, config=config)
    assert "2026-12-20 (America/Los_Angeles) · shipped on time (2026-12-03, Asia/Tokyo)" in tracking(gh)["body"]
