"""The merge gate end to end: the sandbox, a real `release-bot serve`, webhooks, protection, merges."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import httpx
import pytest

BOT = "release-bot[bot]"
CHECK = "release-bot/gate"
REPO = "acme/rocket"
_n = itertools.count(1)

pytestmark = pytest.mark.e2e


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


class Gate:
    """A release line `release/1.4` with milestone v1.4.0 and one pull request by `dev`."""

    def __init__(self, e2e: Any, protect: str | None = "classic") -> None:
        self.e2e = e2e
        admin = e2e.api("admin")
        main = ok(admin.get(f"/repos/{REPO}/git/ref/heads/main"))["object"]["sha"]
        ok(admin.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/heads/release/1.4", "sha": main}))
        self.milestone = ok(admin.post(f"/repos/{REPO}/milestones", json={"title": "v1.4.0"}))["number"]
        if protect == "classic":
            ok(
                admin.put(
                    f"/repos/{REPO}/branches/release%2F1.4/protection",
                    json={
                        "required_status_checks": {
                            "strict": False,
                            "checks": [{"context": CHECK, "app_id": 1}],
                        },
                        "enforce_admins": True,
                        "required_pull_request_reviews": None,
                        "restrictions": None,
                    },
                )
            )
        elif protect == "ruleset":
            ok(
                admin.post(
                    f"/repos/{REPO}/rulesets",
                    json={
                        "name": "gate",
                        "target": "branch",
                        "enforcement": "active",
                        "conditions": {"ref_name": {"include": ["refs/heads/release/*"], "exclude": []}},
                        "rules": [
                            {
                                "type": "required_status_checks",
                                "parameters": {
                                    "strict_required_status_checks_policy": False,
                                    "required_status_checks": [{"context": CHECK, "integration_id": 1}],
                                },
                            }
                        ],
                    },
                )
            )
        self.number = self.open_pull()

    def open_pull(self, author: str = "dev", settle: bool = True) -> int:
        branch = f"fix-{next(_n)}"
        api = self.e2e.api(author)
        base = ok(api.get(f"/repos/{REPO}/git/ref/heads/release%2F1.4"))["object"]["sha"]
        ok(api.post(f"/repos/{REPO}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": base}))
        self.commit(branch, author)
        number = ok(
            api.post(
                f"/repos/{REPO}/pulls", json={"title": f"Fix {branch}", "head": branch, "base": "release/1.4"}
            )
        )["number"]
        ok(
            self.e2e.api("releaser").patch(
                f"/repos/{REPO}/issues/{number}", json={"milestone": self.milestone}
            )
        )
        if settle:  # not while the bot is down
            self.e2e.settle()
        return number

    def commit(self, branch: str, login: str = "dev") -> str:
        n = next(_n)
        body = {
            "message": f"change {n}",
            "content": base64.b64encode(f"{n}\n".encode()).decode(),
            "branch": branch,
        }
        return ok(self.e2e.api(login).put(f"/repos/{REPO}/contents/f{n}.txt", json=body))["commit"]["sha"]

    def pull(self, number: int | None = None) -> dict[str, Any]:
        return ok(self.e2e.api("admin").get(f"/repos/{REPO}/pulls/{number or self.number}"))

    def labels(self, number: int | None = None) -> set[str]:
        return {label["name"] for label in self.pull(number)["labels"]}

    def label(self, login: str, label: str, number: int | None = None) -> None:
        ok(
            self.e2e.api(login).post(
                f"/repos/{REPO}/issues/{number or self.number}/labels", json={"labels": [label]}
            )
        )

    def say(self, login: str, body: str, number: int | None = None) -> int:
        return ok(
            self.e2e.api(login).post(
                f"/repos/{REPO}/issues/{number or self.number}/comments", json={"body": body}
            )
        )["id"]

    def bot_comments(self, number: int | None = None) -> list[str]:
        comments = ok(
            self.e2e.api("admin").get(
                f"/repos/{REPO}/issues/{number or self.number}/comments", params={"per_page": 100}
            )
        )
        return [c["body"] for c in comments if c["user"]["login"] == BOT]

    def check(self, sha: str | None = None) -> dict[str, Any]:
        sha = sha or self.pull()["head"]["sha"]
        runs = ok(
            self.e2e.api("admin").get(f"/repos/{REPO}/commits/{sha}/check-runs", params={"check_name": CHECK})
        )
        ours = [r for r in runs["check_runs"] if r["app"]["id"] == 1]
        assert len(ours) == 1, runs
        return ours[0]

    def merge(self, login: str = "admin", number: int | None = None) -> httpx.Response:
        return self.e2e.api(login).put(f"/repos/{REPO}/pulls/{number or self.number}/merge", json={})

    def settle(self) -> None:
        self.e2e.settle()


def bot_writes_since(e2e: Any, seq: int) -> list[str]:
    """The bot's writes that touch the gate: pull requests, their comments and labels, check runs."""
    gate_paths = ("/issues/", "/pulls/", "/check-runs")
    return [
        f"{r['method']} {r['path']}"
        for r in e2e.requests_since(seq)
        if r["actor"] == BOT and r["method"] != "GET" and any(p in r["path"] for p in gate_paths)
    ]


def last_seq(e2e: Any) -> int:
    log = e2e.requests_since(0)
    return log[-1]["seq"] if log else 0


def test_gate_life_of_a_pull_request(e2e: Any) -> None:
    gate = Gate(e2e)
    assert gate.check()["conclusion"] == "failure"
    assert gate.merge().status_code == 405  # protection requires the App's check, admins included

    # a label from someone not allowed is removed, with a reply naming the rule
    gate.label("triager", "uat-passed")
    gate.settle()
    assert "uat-passed" not in gate.labels()
    assert any(
        "@triager" in body and "`uat-passed` label was removed" in body for body in gate.bot_comments()
    )

    # refused commands: an outsider approving, the author giving their own UAT
    gate.say("outsider", "/approve")
    gate.say("dev", "/uat passed")
    gate.settle()
    assert gate.labels() == set()
    replies = gate.bot_comments()
    assert any("@outsider" in b and "release managers" in b for b in replies)
    assert any("@dev" in b and "author of a pull request" in b for b in replies)

    # QA and a release manager: green
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    check = gate.check()
    assert check["conclusion"] == "success", check["output"]
    assert {"uat-passed", "release-approved"} <= gate.labels()

    # /hold turns it red, /unhold green again
    gate.say("qa", "/hold")
    gate.settle()
    assert gate.check()["conclusion"] == "failure"
    gate.say("releaser", "/unhold")
    gate.settle()
    assert gate.check()["conclusion"] == "success"

    # a new commit resets both labels; the new head's check fails
    new_head = gate.commit(gate.pull()["head"]["ref"])
    gate.settle()
    assert gate.labels() & {"uat-passed", "release-approved"} == set()
    assert gate.check(new_head)["conclusion"] == "failure"
    assert sum("New head commit" in body for body in gate.bot_comments()) == 1
    assert gate.merge().status_code == 405

    # given again on the new head: the merge goes through
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check(new_head)["conclusion"] == "success"
    merged = gate.merge("releaser")
    assert merged.status_code == 200, merged.text


def test_missed_events_and_replays(e2e: Any) -> None:
    from bot.sandbox.webhooks import emitter

    gate = Gate(e2e, protect=None)
    gate.label("triager", "uat-passed")
    gate.settle()
    assert "uat-passed" not in gate.labels()

    # the bot is down while triager adds the label again; it restarts with an empty store
    e2e.bot.kill()
    gate.label("triager", "uat-passed")
    (e2e.bot.workdir / "queue.db").unlink()
    e2e.bot.start()
    e2e.sandbox.wait_idle(10)
    with e2e.sandbox.state.lock:
        missed = [d.id for d in e2e.sandbox.state.deliveries if d.status_code not in (200, 202, 204)]
    assert missed, "the label event was missed while the bot was down"
    for delivery_id in missed:  # what an operator does with GitHub's "Redeliver"
        emitter(e2e.sandbox.state).redeliver(delivery_id)
    gate.settle()
    assert "uat-passed" not in gate.labels()
    assert sum("@triager" in body for body in gate.bot_comments()) == 2

    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success"
    comments_before = len(gate.bot_comments())

    # every delivery so far, redelivered in reverse order: nothing changes
    seq = last_seq(e2e)
    with e2e.sandbox.state.lock:
        ids = [d.id for d in e2e.sandbox.state.deliveries if not d.redelivery]
    for delivery_id in reversed(ids):
        emitter(e2e.sandbox.state).redeliver(delivery_id)
    gate.settle()
    assert bot_writes_since(e2e, seq) == []
    assert gate.check()["conclusion"] == "success"
    assert len(gate.bot_comments()) == comments_before


def test_merge_group_gets_the_check(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")  # the group waits for the required check
    second = gate.open_pull()
    for number in (gate.number, second):
        gate.say("qa", "/uat passed", number=number)
        gate.say("releaser", "/approve", number=number)
    gate.settle()
    assert gate.check()["conclusion"] == "success"
    queued = httpx.post(
        f"{e2e.sandbox.base_url}/_sandbox/merge-queue",
        json={"repo": REPO, "pull_numbers": [gate.number, second]},
        timeout=10,
    )
    assert queued.status_code < 300, queued.text
    gate.settle()
    with e2e.sandbox.state.lock:
        groups = [d.payload for d in e2e.sandbox.state.deliveries if d.event == "merge_group"]
    assert groups, "no merge_group delivery"
    head_sha = groups[-1]["merge_group"]["head_sha"]
    runs = ok(
        e2e.api("admin").get(f"/repos/{REPO}/commits/{head_sha}/check-runs", params={"check_name": CHECK})
    )
    ours = [r for r in runs["check_runs"] if r["app"]["id"] == 1]
    assert ours and ours[0]["conclusion"] == "success", ours[0]["output"] if ours else runs
    assert f"#{gate.number}" in ours[0]["output"]["summary"] and f"#{second}" in ours[0]["output"]["summary"]
    # the queue merged the group once the check passed
    assert gate.pull()["merged"] and gate.pull(second)["merged"]


def audit_entries(e2e: Any) -> list[dict[str, Any]]:
    """The audit the bot keeps for the tracking issue (its store lives beside the queue)."""
    import json
    import sqlite3

    with sqlite3.connect(e2e.bot.workdir / "queue.db") as db:
        row = db.execute("SELECT value FROM kv WHERE name = ?", (f"gate-audit:{REPO}",)).fetchone()
    return json.loads(row[0]) if row else []


def test_bypass_merge_and_direct_push_are_audited(e2e: Any) -> None:
    gate = Gate(e2e, protect=None)  # no protection: an admin can merge past the failing gate
    assert gate.check()["conclusion"] == "failure"
    merged = gate.merge("admin")
    assert merged.status_code == 200, merged.text
    gate.settle()
    audit_comments = sum("Audit: this pull request was merged" in body for body in gate.bot_comments())
    assert audit_comments == 1, (
        e2e.bot.jobs(),
        [line for line in e2e.bot.logs().splitlines() if '"pr:' in line][-20:],
    )

    direct = gate.commit("release/1.4", "dev")  # a push straight to the release branch
    gate.settle()
    entries = audit_entries(e2e)
    kinds = [(entry["kind"], entry.get("number"), entry["sha"]) for entry in entries]
    assert ("bypass_merge", gate.number, gate.pull()["head"]["sha"]) in kinds
    assert [sha for kind, _, sha in kinds if kind == "direct_push"] == [direct], entries
    # and both are named on the release's tracking issue
    issues = ok(e2e.api("admin").get(f"/repos/{REPO}/issues", params={"state": "all", "per_page": 100}))
    tracking = [i for i in issues if f"<!-- release-bot:tracking:{gate.milestone} -->" in (i["body"] or "")]
    assert len(tracking) == 1, [i["title"] for i in issues]
    section = tracking[0]["body"].split("### Reached `release/1.4` past the gate", 1)
    assert len(section) == 2, tracking[0]["body"]
    assert f"#{gate.number}" in section[1] and f"commit `{direct[:12]}` pushed directly" in section[1]

    # a merge through a green gate is neither a bypass nor a direct push
    second = gate.open_pull()
    gate.say("qa", "/uat passed", number=second)
    gate.say("releaser", "/approve", number=second)
    gate.settle()
    assert gate.merge("releaser", number=second).status_code == 200
    gate.settle()
    assert len(audit_entries(e2e)) == len(entries)


def _redelivered_after_start(e2e: Any, timeout: float = 60.0) -> None:
    """Start the bot again and wait until its start-up scan had GitHub redeliver every failed delivery."""
    import time

    e2e.bot.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        e2e.sandbox.wait_idle(10)
        with e2e.sandbox.state.lock:
            attempts = [(d.guid, d.status) for d in e2e.sandbox.state.deliveries]
        failed = {g for g, s in attempts if s != "OK"}
        if failed and failed <= {g for g, s in attempts if s == "OK"}:
            e2e.settle()
            return
        time.sleep(0.1)
    raise AssertionError(f"failed deliveries not redelivered:\n{e2e.bot.logs()[-3000:]}")


def test_labels_given_while_the_bot_was_down_and_a_hold_lifted_by_label(e2e: Any) -> None:
    gate = Gate(e2e, protect=None)
    # the bot is down while dev pushes and QA and a release manager label the new head
    e2e.bot.kill()
    new_head = gate.commit(gate.pull()["head"]["ref"])
    e2e.sandbox.state.advance_clock(2)
    gate.label("qa", "uat-passed")
    gate.label("releaser", "release-approved")
    (e2e.bot.workdir / "queue.db").unlink()
    _redelivered_after_start(e2e)
    # GitHub's repository activity dates the push before the labels: they count, as for a bot that
    # was up, and nobody is told anything
    assert gate.labels() >= {"uat-passed", "release-approved"}
    assert gate.check(new_head)["conclusion"] == "success"
    assert not any(b.startswith(("@qa ", "@releaser ")) for b in gate.bot_comments())

    # a hold lifted by someone not allowed to (removing the label) is put back
    gate.say("qa", "/hold")
    gate.settle()
    assert gate.check()["conclusion"] == "failure"
    ok(e2e.api("triager").delete(f"/repos/{REPO}/issues/{gate.number}/labels/hold"))
    gate.settle()
    assert "hold" in gate.labels() and gate.check()["conclusion"] == "failure"
    assert any(b.startswith("@triager ") and "`hold` label was put back" in b for b in gate.bot_comments())
    ok(e2e.api("releaser").delete(f"/repos/{REPO}/issues/{gate.number}/labels/hold"))
    gate.settle()
    assert "hold" not in gate.labels() and gate.check()["conclusion"] == "success"


def test_retarget_edited_comments_and_rerequest(e2e: Any) -> None:
    gate = Gate(e2e, protect=None)
    admin = e2e.api("admin")
    # retargeted off the release branch: a neutral check saying so
    ok(e2e.api("dev").patch(f"/repos/{REPO}/pulls/{gate.number}", json={"base": "main"}))
    gate.settle()
    check = gate.check()
    assert check["conclusion"] == "neutral" and "`main` is not a release branch" in check["output"]["title"]
    # and back onto it: evaluated again
    ok(e2e.api("dev").patch(f"/repos/{REPO}/pulls/{gate.number}", json={"base": "release/1.4"}))
    gate.settle()
    assert (
        gate.check()["conclusion"] == "failure"
        and gate.check()["output"]["title"] == "Missing: UAT, approval"
    )

    # a command smuggled in by editing a comment does nothing
    comment_id = gate.say("releaser", "looks good")
    gate.settle()
    ok(e2e.api("releaser").patch(f"/repos/{REPO}/issues/comments/{comment_id}", json={"body": "/approve"}))
    gate.settle()
    assert "release-approved" not in gate.labels()

    # `check_run` `rerequested` re-evaluates: a label given while no webhook reached the bot counts then
    e2e.bot.kill()
    gate.label("qa", "uat-passed")
    e2e.bot.start()
    gate.settle()
    assert "UAT passed — by @qa" not in gate.check()["output"]["summary"]
    ok(admin.post(f"/repos/{REPO}/check-runs/{gate.check()['id']}/rerequest"))
    gate.settle()
    assert "UAT passed — by @qa" in gate.check()["output"]["summary"]
    assert gate.check()["output"]["title"] == "Missing: approval"


def reactions(e2e: Any, comment_id: int) -> list[str]:
    listed = ok(e2e.api("admin").get(f"/repos/{REPO}/issues/comments/{comment_id}/reactions"))
    return [r["content"] for r in listed if r["user"]["login"] == BOT]


def test_the_other_commands_and_throttled_replies(e2e: Any) -> None:
    gate = Gate(e2e, protect=None)
    helped = gate.say("outsider", "/help")
    gate.settle()
    help_reply = [b for b in gate.bot_comments() if b.startswith("@outsider ")]
    assert len(help_reply) == 1 and "`/uat passed`" in help_reply[0] and "release managers" in help_reply[0]
    assert reactions(e2e, helped) == ["+1"]

    # /milestone: clear, an unknown title (the reply lists the open version milestones), a known one
    ok(e2e.api("admin").post(f"/repos/{REPO}/milestones", json={"title": "v1.5.0"}))
    gate.say("releaser", "/milestone clear")
    gate.settle()
    assert (
        gate.pull()["milestone"] is None
        and "Missing: UAT, approval, milestone" == gate.check()["output"]["title"]
    )
    unknown = gate.say("releaser", "/milestone v9.9.9")
    gate.settle()
    assert any("`v1.4.0`, `v1.5.0`" in b for b in gate.bot_comments()) and reactions(e2e, unknown) == [
        "confused"
    ]
    gate.say("releaser", "/milestone v1.4.0")
    gate.settle()
    assert gate.pull()["milestone"]["title"] == "v1.4.0"

    # /uat failed records who and why; /approve cancel withdraws the approval
    gate.say("qa", "/uat passed")
    approve = gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success" and reactions(e2e, approve) == ["+1"]
    gate.say("qa", "/uat failed login broken on Safari")
    gate.say("releaser", "/approve cancel")
    gate.settle()
    check = gate.check()
    assert gate.labels() & {"uat-passed", "release-approved"} == set()
    assert check["conclusion"] == "failure" and "failed by @qa" in check["output"]["summary"]
    assert "login broken on Safari" in check["output"]["summary"]

    # replies to one person on one pull request are throttled; every comment still gets its reaction
    spam = [gate.say("outsider", "/approve") for _ in range(6)]
    gate.settle()
    answered = [b for b in gate.bot_comments() if b.startswith("@outsider ")]
    assert len(answered) == 3, answered  # the /help reply above counts toward the same budget of 3
    assert all(reactions(e2e, comment_id) == ["confused"] for comment_id in spam)


@pytest.mark.reliability(
    area="fault", case="pull request opened, signed off and approved while the bot was down", trials=1
)
def test_sign_offs_while_the_bot_was_down_count_from_githubs_time_of_the_head(e2e: Any) -> None:
    """Commands on a pull request opened during an outage count once the start-up scan has them
    redelivered (GitHub dates the head: the pull request's opening); on another, a commit made
    before its sign-offs and pushed after them gets none (GitHub dates that push, not the commit)."""
    gate = Gate(e2e, protect=None)
    e2e.settle()
    e2e.bot.kill()
    opened = gate.open_pull(settle=False)  # opened, signed off and approved while the bot is down
    e2e.sandbox.state.advance_clock(2)
    gate.say("qa", "/uat passed", number=opened)
    gate.say("releaser", "/approve", number=opened)

    dev = e2e.api("dev")
    head = gate.pull()["head"]
    tree = ok(dev.get(f"/repos/{REPO}/git/commits/{head['sha']}"))["tree"]["sha"]
    body = {"message": "later", "tree": tree, "parents": [head["sha"]]}
    made = ok(dev.post(f"/repos/{REPO}/git/commits", json=body))["sha"]  # made (dated) before sign-offs
    e2e.sandbox.state.advance_clock(5)
    gate.say("qa", "/uat passed")
    approve = gate.say("releaser", "/approve")
    e2e.sandbox.state.advance_clock(5)
    ok(dev.patch(f"/repos/{REPO}/git/refs/heads/{head['ref']}", json={"sha": made}))  # … pushed after them
    e2e.sandbox.state.advance_clock(600)
    _redelivered_after_start(e2e)

    assert gate.labels(opened) >= {"uat-passed", "release-approved"}
    assert gate.check(gate.pull(opened)["head"]["sha"])["conclusion"] == "success"
    assert not any(b.startswith(("@qa ", "@releaser ")) for b in gate.bot_comments(opened))

    assert gate.pull()["head"]["sha"] == made and gate.check(made)["conclusion"] == "failure"
    assert gate.labels() & {"uat-passed", "release-approved"} == set()
    refused = [b for b in gate.bot_comments() if b.startswith("@releaser ")]
    assert len(refused) == 1
    assert f"before head commit {made[:7]} became this pull request's head" in refused[0]
    reactions = ok(e2e.api("admin").get(f"/repos/{REPO}/issues/comments/{approve}/reactions"))
    assert [r["content"] for r in reactions if r["user"]["login"] == BOT] == ["confused"]


def test_commands_cost_no_comment_reads_and_a_wiped_store_redoes_nothing(e2e: Any) -> None:
    """A command's comment comes from the timeline the gate reads, and its empty reactions rollup
    spares the reactions listing (docs/github-reads.md, section 6). After the store is wiped (the
    command ledger with it), the redelivered commands are looked up on GitHub, where the bot's
    reactions say they were handled: nothing is done twice."""
    from bot.sandbox.webhooks import emitter

    gate = Gate(e2e, protect=None)
    seq = last_seq(e2e)
    uat = gate.say("qa", "/uat passed")
    approve = gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success"
    calls = [r for r in e2e.requests_since(seq) if r["actor"] == BOT]
    single = [r["path"] for r in calls if r["method"] == "GET" and "/issues/comments/" in r["path"]]
    assert single == [], single
    replies = len(gate.bot_comments())

    e2e.bot.kill()
    for suffix in ("", "-wal", "-shm"):
        (e2e.bot.workdir / f"queue.db{suffix}").unlink(missing_ok=True)
    e2e.bot.start()
    seq = last_seq(e2e)
    with e2e.sandbox.state.lock:
        commands = [
            d.id
            for d in e2e.sandbox.state.deliveries
            if d.event == "issue_comment" and d.payload.get("comment", {}).get("id") in (uat, approve)
        ]
    assert len(commands) == 2, commands
    for delivery_id in commands:  # the store forgot these deliveries: they run again
        emitter(e2e.sandbox.state).redeliver(delivery_id)
    gate.settle()
    reads = [r["path"] for r in e2e.requests_since(seq) if r["actor"] == BOT and r["method"] == "GET"]
    assert sorted(p for p in reads if p.endswith("/reactions")) == sorted(
        f"/repos/{REPO}/issues/comments/{c}/reactions" for c in (uat, approve)
    ), reads
    assert bot_writes_since(e2e, seq) == []
    assert len(gate.bot_comments()) == replies and gate.check()["conclusion"] == "success"
