"""A hostile developer against the merge gate, end to end: each test performs one attack on the
sandbox, with `release/*` protected by the gate pinned to the App, and asserts that it fails.

The threat model (docs/merge-gate.md): `dev` has write permission, so they can open pull requests
from any branch, retarget them, set milestones, and edit anyone's comments.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_gate_e2e import CHECK, REPO, Gate, ok

pytestmark = pytest.mark.e2e


def approved(e2e: Any) -> Gate:
    """A pull request into `release/1.4` with UAT and approval on its head: green, mergeable."""
    gate = Gate(e2e, protect="ruleset")
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success", gate.check()["output"]
    return gate


def open_pull(e2e: Any, head: str, base: str, login: str = "dev") -> int:
    return ok(
        e2e.api(login).post(
            f"/repos/{REPO}/pulls", json={"title": f"{head} into {base}", "head": head, "base": base}
        )
    )["number"]


def branch_at(e2e: Any, name: str, sha: str, login: str = "dev") -> None:
    ok(e2e.api(login).post(f"/repos/{REPO}/git/refs", json={"ref": f"refs/heads/{name}", "sha": sha}))


@pytest.mark.reliability(
    area="attack",
    case="a decoy pull request into main from the gated branch does not open the gate",
    trials=1,
)
def test_a_decoy_pull_request_into_main_does_not_open_the_gate(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    head = gate.pull()["head"]
    assert gate.check()["conclusion"] == "failure"
    assert gate.merge("dev").status_code == 405

    decoy = open_pull(e2e, head["ref"], "main")
    gate.settle()
    check = gate.check(head["sha"])
    assert check["conclusion"] == "failure", check["output"]
    assert check["output"]["title"] == "Missing: UAT, approval"
    assert gate.merge("dev").status_code == 405
    # the decoy itself merges into main as it always could: main is not gated
    assert gate.merge("dev", decoy).status_code == 200


@pytest.mark.reliability(
    area="attack",
    case="sign-offs do not carry over when a pull request is retargeted to another release branch",
    trials=1,
)
def test_an_approval_does_not_carry_over_to_another_release_branch(e2e: Any) -> None:
    admin = e2e.api("admin")
    main = ok(admin.get(f"/repos/{REPO}/git/ref/heads/main"))["object"]["sha"]
    branch_at(e2e, "release/1.3", main, "admin")
    v130 = ok(admin.post(f"/repos/{REPO}/milestones", json={"title": "v1.3.0"}))["number"]
    gate = approved(e2e)

    dev = e2e.api("dev")
    ok(dev.patch(f"/repos/{REPO}/pulls/{gate.number}", json={"base": "release/1.3"}))
    ok(dev.patch(f"/repos/{REPO}/issues/{gate.number}", json={"milestone": v130}))
    gate.settle()
    check = gate.check()
    assert check["conclusion"] == "failure", check["output"]
    summary = check["output"]["summary"]
    assert "set by @dev, who is not a release manager" in summary
    assert gate.labels() & {"uat-passed", "release-approved"} == set()
    assert any("now targets `release/1.3`" in body for body in gate.bot_comments())
    assert gate.merge("dev").status_code == 405

    # given again for release/1.3, by the people allowed to, it passes
    gate.say("releaser", "/milestone v1.3.0")
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success", gate.check()["output"]
    assert gate.merge("releaser").status_code == 200


@pytest.mark.reliability(
    area="attack",
    case="a twin pull request at the same commit does not inherit the first one's sign-offs",
    trials=1,
)
def test_a_twin_pull_request_blocks_without_wiping_sign_offs(e2e: Any) -> None:
    gate = approved(e2e)
    head = gate.pull()["head"]["sha"]
    branch_at(e2e, "twin", head)
    twin = open_pull(e2e, "twin", "release/1.4")
    gate.settle()

    # the first pull request keeps its labels and its section; the commit fails because of the twin
    assert {"uat-passed", "release-approved"} <= gate.labels()
    check = gate.check(head)
    assert check["conclusion"] == "failure", check["output"]
    assert f"#{twin}" in check["output"]["title"] and f"#{gate.number}" not in check["output"]["title"]
    assert f"### #{gate.number} into `release/1.4`" in check["output"]["summary"]
    assert not any("removed" in body for body in gate.bot_comments())
    assert gate.merge("releaser").status_code == 405

    # the twin closed: the first is green again without anyone giving anything twice
    ok(e2e.api("dev").patch(f"/repos/{REPO}/pulls/{twin}", json={"state": "closed"}))
    gate.settle()
    assert gate.check(head)["conclusion"] == "success", gate.check(head)["output"]
    assert gate.merge("releaser").status_code == 200


@pytest.mark.reliability(
    area="attack",
    case="a twin merged on another pull request's sign-offs is audited as a bypass",
    trials=1,
)
def test_a_twin_merged_on_anothers_sign_offs_is_audited(e2e: Any) -> None:
    """The one window GitHub's model leaves: a twin merged before the bot has seen it. It is
    reported as a bypass, not taken as gated."""
    gate = approved(e2e)
    head = gate.pull()["head"]["sha"]
    e2e.bot.kill()
    branch_at(e2e, "twin-fast", head)
    twin = open_pull(e2e, "twin-fast", "release/1.4")
    assert gate.merge("admin", twin).status_code == 200
    e2e.bot.start()
    assert e2e.redeliver_missed()
    gate.settle()
    assert any("Audit: this pull request was merged" in body for body in gate.bot_comments(twin))


@pytest.mark.reliability(area="attack", case="a comment edited into a command runs nothing", trials=1)
def test_an_edited_comment_does_not_become_a_release_managers_approval(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    gate.say("qa", "/uat passed")
    gate.settle()
    # the bot is slow (down, paced, a busy queue): dev edits the release manager's comment first
    e2e.bot.kill()
    comment_id = gate.say("releaser", "I'll look at this tomorrow")
    ok(e2e.api("dev").patch(f"/repos/{REPO}/issues/comments/{comment_id}", json={"body": "/approve"}))
    e2e.bot.start()
    assert e2e.redeliver_missed()
    gate.settle()
    assert "release-approved" not in gate.labels()
    check = gate.check()
    assert check["conclusion"] == "failure" and "Release approval — by" not in check["output"]["summary"]
    assert any("@releaser this comment was edited" in body for body in gate.bot_comments())
    assert gate.merge("dev").status_code == 405


@pytest.mark.reliability(
    area="attack",
    case="a milestone set by a developer does not count for the gate",
    trials=1,
)
def test_a_milestone_set_by_a_developer_does_not_count(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    number = gate.open_pull()
    ok(e2e.api("dev").patch(f"/repos/{REPO}/issues/{number}", json={"milestone": None}))
    ok(e2e.api("dev").patch(f"/repos/{REPO}/issues/{number}", json={"milestone": gate.milestone}))
    gate.say("qa", "/uat passed", number)
    gate.say("releaser", "/approve", number)
    gate.settle()
    check = gate.check(gate.pull(number)["head"]["sha"])
    assert check["conclusion"] == "failure" and check["output"]["title"] == "Missing: milestone"
    # a release manager vouching for it with the command
    gate.say("releaser", "/milestone v1.4.0", number)
    gate.settle()
    assert gate.check(gate.pull(number)["head"]["sha"])["conclusion"] == "success"


@pytest.mark.reliability(
    area="attack",
    case="a decoy pull request writes no conclusion over the gate",
    trials=1,
)
def test_check_name_on_the_decoy_is_the_gates_own(e2e: Any) -> None:
    """The decoy's reconcile writes nothing over the gate: still one run of ours on the commit."""
    gate = Gate(e2e, protect="ruleset")
    head = gate.pull()["head"]
    open_pull(e2e, head["ref"], "main")
    gate.settle()
    runs = ok(
        e2e.api("admin").get(f"/repos/{REPO}/commits/{head['sha']}/check-runs", params={"check_name": CHECK})
    )
    assert [r["conclusion"] for r in runs["check_runs"] if r["app"]["id"] == 1] == ["failure"]


@pytest.mark.reliability(
    area="attack",
    case="a flood of /help from one person gets at most 3 replies",
    trials=15,
)
def test_help_on_the_tracking_issue_is_throttled_per_person(e2e: Any) -> None:
    milestone = ok(e2e.api("pm").post(f"/repos/{REPO}/milestones", json={"title": "v2.0.0"}))["number"]
    e2e.settle()
    issues = ok(e2e.api("admin").get(f"/repos/{REPO}/issues", params={"milestone": milestone}))
    (tracking,) = [i["number"] for i in issues if i["user"]["login"] == "release-bot[bot]"]
    outsider = e2e.api("outsider")
    for _ in range(15):
        ok(outsider.post(f"/repos/{REPO}/issues/{tracking}/comments", json={"body": "/help"}))
    e2e.settle()
    comments = ok(e2e.api("admin").get(f"/repos/{REPO}/issues/{tracking}/comments", params={"per_page": 100}))
    replies = [c for c in comments if c["user"]["login"] == "release-bot[bot]" and "@outsider" in c["body"]]
    assert 1 <= len(replies) <= 3, [c["body"][:80] for c in replies]
