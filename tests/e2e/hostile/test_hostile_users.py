"""Hostile users, end to end: the sandbox, a real `release-bot serve`, one attack per test.

The people (bot/sandbox/state.py): `dev` and `qa` have write permission, `releaser` and `pm`
maintain (release managers), `triager` triage, `outsider` read. Each test performs the attack
over the sandbox's real REST API (or, for webhooks, straight at the bot's endpoint) and asserts
that nothing it wanted happened and that the person was told why where they acted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from harness import SECRET
from test_gate_e2e import BOT, CHECK, REPO, Gate, last_seq, ok

pytestmark = pytest.mark.e2e
GATE_LABELS = {"uat-passed", "release-approved"}


def bot_writes_since(e2e: Any, seq: int) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in e2e.requests_since(seq)
        if r["actor"] == BOT and r["method"] != "GET"
    ]


def deliveries(e2e: Any) -> list[tuple[str, bytes, dict[str, str], int]]:
    """(event, exact body, headers, status) of every delivery the sandbox sent so far."""
    e2e.sandbox.wait_idle(10)
    with e2e.sandbox.state.lock:
        return [
            (d.event, json.dumps(d.payload).encode(), dict(d.request_headers), d.status_code)
            for d in e2e.sandbox.state.deliveries
            if d.request_headers
        ]


def post_webhook(e2e: Any, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(e2e.bot.webhook_url, content=body, headers=headers, timeout=30)


def log_lines(e2e: Any) -> list[dict[str, Any]]:
    """The bot's JSON log lines (other output, such as gunicorn's, left out)."""
    out = []
    for line in e2e.bot.logs().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def told(gate: Gate, login: str, number: int | None = None) -> list[str]:
    return [b for b in gate.bot_comments(number) if b.startswith(f"@{login} ")]


# ------------------------------------------------------------------------------------ webhooks


@pytest.mark.reliability(
    area="attack",
    case="a forged webhook signature is refused (401) and runs nothing",
    trials=6,
)
def test_forged_signatures_are_refused_and_run_nothing(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    comment = gate.say("dev", "looks fine to me")
    gate.settle()
    ((event, original, headers, _),) = [
        d for d in deliveries(e2e) if d[0] == "issue_comment" and json.loads(d[1])["comment"]["id"] == comment
    ]
    # The attacker turns dev's comment into the release manager's approval.
    forged_payload = json.loads(original)
    forged_payload["comment"]["body"] = "/approve"
    forged_payload["comment"]["user"]["login"] = forged_payload["sender"]["login"] = "releaser"
    forged = json.dumps(forged_payload).encode()

    def signed(body: bytes, secret: str, algo: Any = hashlib.sha256) -> str:
        return hmac.new(secret.encode(), body, algo).hexdigest()

    def variant(**changes: str | None) -> dict[str, str]:
        h = {**headers, "X-GitHub-Delivery": str(uuid.uuid4())}
        for name, value in changes.items():
            h.pop(name.replace("_", "-"), None)
            if value is not None:
                h[name.replace("_", "-")] = value
        return h

    attempts = {
        "no signature": variant(**{"X_Hub_Signature_256": None, "X_Hub_Signature": None}),
        "another secret": variant(X_Hub_Signature_256="sha256=" + signed(forged, "guessed-secret")),
        "the original's signature": variant(),  # the header GitHub computed over the original body
        "SHA-1 only": variant(
            **{"X_Hub_Signature_256": None, "X_Hub_Signature": "sha1=" + signed(forged, SECRET, hashlib.sha1)}
        ),
        "SHA-1 in the SHA-256 header": variant(
            X_Hub_Signature_256="sha1=" + signed(forged, SECRET, hashlib.sha1)
        ),
        "empty signature": variant(X_Hub_Signature_256="sha256="),
    }
    seq = last_seq(e2e)
    for name, h in attempts.items():
        r = post_webhook(e2e, forged, h)
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.json()["error"], name
    gate.settle()
    assert bot_writes_since(e2e, seq) == []
    assert gate.labels() & GATE_LABELS == set()
    assert gate.check()["conclusion"] == "failure" and gate.merge("dev").status_code == 405
    rejected = [
        line for line in log_lines(e2e) if line.get("outcome") == "rejected" and line.get("status") == 401
    ]
    assert len(rejected) == len(attempts), rejected


@pytest.mark.reliability(
    area="attack",
    case="replayed webhooks (same delivery id, or a new one) change nothing",
    trials=2,
)
def test_replayed_deliveries_change_nothing(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success"
    new_head = gate.commit(gate.pull()["head"]["ref"])
    gate.settle()
    assert gate.labels() & GATE_LABELS == set() and gate.check(new_head)["conclusion"] == "failure"
    seq = last_seq(e2e)
    captured = [d for d in deliveries(e2e) if d[3] in (200, 202)]
    assert any(event == "issue_comment" for event, *_ in captured)
    # The exact bytes and headers again: the delivery id was seen.
    for event, body, headers, _ in captured:
        r = post_webhook(e2e, body, headers)
        assert r.status_code == 200 and ("duplicate" in r.json() or "ignored" in r.json()), (event, r.text)
    # The signed body with a fresh delivery id (the id is not signed): accepted, and harmless.
    for event, body, headers, _ in captured:
        r = post_webhook(e2e, body, {**headers, "X-GitHub-Delivery": str(uuid.uuid4())})
        assert r.status_code in (200, 202), (event, r.text)
    gate.settle()
    assert gate.labels() & GATE_LABELS == set()
    check = gate.check(new_head)
    assert check["conclusion"] == "failure" and check["output"]["title"] == "Missing: UAT, approval", check[
        "output"
    ]
    assert bot_writes_since(e2e, seq) == []
    assert gate.merge("releaser").status_code == 405


# ---------------------------------------------------------------------------- who may do what


@pytest.mark.reliability(
    area="attack",
    case="a triage user adding the gate labels (bot running, or stopped) is undone",
    trials=2,
)
def test_a_triage_user_adding_the_gate_labels_is_undone_also_while_the_bot_is_stopped(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    for label in sorted(GATE_LABELS):
        gate.label("triager", label)
    gate.settle()
    assert gate.labels() & GATE_LABELS == set()
    assert gate.check()["conclusion"] == "failure" and gate.merge("dev").status_code == 405
    first = told(gate, "triager")
    assert first and all("may only be given by" in b for b in first), first

    e2e.bot.kill()
    for label in sorted(GATE_LABELS):
        gate.label("triager", label)
    e2e.bot.start()
    assert e2e.redeliver_missed()
    gate.settle()
    assert gate.labels() & GATE_LABELS == set()
    check = gate.check()
    assert check["conclusion"] == "failure" and "by @triager" not in check["output"]["summary"]
    assert gate.merge("admin").status_code == 405
    assert len(told(gate, "triager")) > len(first)


@pytest.mark.reliability(
    area="attack",
    case="a read-only user running /approve and /uat passed is refused",
    trials=2,
)
def test_a_read_user_running_approve_is_refused(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    gate.say("outsider", "/approve")
    gate.say("outsider", "/uat passed")
    gate.settle()
    assert gate.labels() & GATE_LABELS == set()
    check = gate.check()
    assert check["conclusion"] == "failure" and check["output"]["title"] == "Missing: UAT, approval"
    replies = told(gate, "outsider")
    assert replies and all(" may only be " in b for b in replies), replies
    assert gate.merge("outsider").status_code in (403, 404, 405)


@pytest.mark.reliability(
    area="attack",
    case="an author approving their own pull request (command or label) is refused",
    trials=2,
)
def test_an_author_approving_their_own_pull_request_is_refused(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    own = gate.open_pull(author="releaser")  # a release manager's own pull request
    gate.say("qa", "/uat passed", own)
    gate.say("releaser", "/approve", own)
    gate.settle()
    head = gate.pull(own)["head"]["sha"]
    check = gate.check(head)
    assert check["conclusion"] == "failure" and check["output"]["title"] == "Missing: approval", check[
        "output"
    ]
    assert any(
        "the author of a pull request cannot give its approval" in b for b in told(gate, "releaser", own)
    )
    gate.label("releaser", "release-approved", own)
    gate.settle()
    assert "release-approved" not in gate.labels(own)
    assert gate.check(head)["conclusion"] == "failure" and gate.merge("releaser", own).status_code == 405
    # another release manager may
    gate.say("pm", "/approve", own)
    gate.settle()
    assert gate.check(head)["conclusion"] == "success", gate.check(head)["output"]


@pytest.mark.reliability(
    area="attack",
    case="a commit status named like the bot's check does not pass the gate",
    trials=1,
)
def test_commit_status_does_not_satisfy_a_ruleset_pinned_to_the_app(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    head = gate.pull()["head"]["sha"]
    ok(e2e.api("dev").post(f"/repos/{REPO}/statuses/{head}", json={"state": "success", "context": CHECK}))
    gate.settle()
    assert gate.check()["conclusion"] == "failure"
    assert gate.merge().status_code == 405


# ------------------------------------------------------------------------ markers and configs


@pytest.mark.reliability(
    area="attack",
    case="a user comment carrying the bot's hidden marker is not taken as the bot's",
    trials=2,
)
def test_a_user_comment_carrying_the_bots_marker_is_not_the_bots(e2e: Any) -> None:
    gate = Gate(e2e, protect=None)
    head = gate.pull()["head"]["sha"]
    # dev plants the audit marker so that a bypass merge would look already reported
    planted = gate.say("dev", f"Audit: nothing to see here.\n<!-- release-bot:gate-audit:{head} -->")
    gate.settle()
    assert gate.merge("admin").status_code == 200
    gate.settle()
    audits = [b for b in gate.bot_comments() if "Audit: this pull request was merged" in b]
    assert len(audits) == 1, gate.bot_comments()
    assert ok(e2e.api("admin").get(f"/repos/{REPO}/issues/comments/{planted}"))["user"]["login"] == "dev"

    # on the tracking issue: a copy of the bot's stage checklist, every box ticked
    admin = e2e.api("admin")
    issues = ok(admin.get(f"/repos/{REPO}/issues", params={"milestone": gate.milestone}))
    (tracking,) = [i for i in issues if i["user"]["login"] == BOT]
    listed = ok(admin.get(f"/repos/{REPO}/issues/{tracking['number']}/comments", params={"per_page": 100}))
    stage = [c for c in listed if c["user"]["login"] == BOT and "<!-- release-bot:stage" in c["body"]]
    assert stage, [c["body"][:80] for c in listed]
    body_before = ok(admin.get(f"/repos/{REPO}/issues/{tracking['number']}"))["body"]
    copy = ok(
        e2e.api("dev").post(
            f"/repos/{REPO}/issues/{tracking['number']}/comments",
            json={"body": stage[-1]["body"].replace("- [ ]", "- [x]")},
        )
    )
    seq = last_seq(e2e)
    ok(e2e.api("pm").patch(f"/repos/{REPO}/milestones/{gate.milestone}", json={"description": "touch"}))
    gate.settle()
    touched = [w for w in bot_writes_since(e2e, seq) if f"/comments/{copy['id']}" in w]
    assert touched == []
    after = ok(admin.get(f"/repos/{REPO}/issues/{tracking['number']}"))["body"]
    assert after == body_before, (body_before, after)


PR_BRANCH_CONFIG = """\
roles:
  release_managers:
    permission: write
gate:
  allow_self_approval: true
"""


@pytest.mark.reliability(
    area="attack",
    case="a configuration on a pull request branch cannot widen who may approve",
    trials=1,
)
def test_a_configuration_on_a_pull_request_branch_cannot_widen_who_may_approve(e2e: Any) -> None:
    gate = Gate(e2e, protect="ruleset")
    branch = gate.pull()["head"]["ref"]
    dev = e2e.api("dev")
    ok(
        dev.put(
            f"/repos/{REPO}/contents/.github/release-bot.yml",
            json={
                "message": "let developers approve",
                "branch": branch,
                "content": base64.b64encode(PR_BRANCH_CONFIG.encode()).decode(),
            },
        )
    )
    gate.settle()
    gate.say("qa", "/uat passed")
    gate.say("dev", "/approve")
    gate.settle()
    check = gate.check()
    assert check["conclusion"] == "failure" and check["output"]["title"] == "Missing: approval", check[
        "output"
    ]
    assert any("may only be run by release managers" in b for b in told(gate, "dev")), gate.bot_comments()
    assert gate.merge("dev").status_code == 405


@pytest.mark.reliability(
    area="attack",
    case="a payload or a configuration naming a repository of another installation changes nothing",
    trials=3,
)
def test_another_installations_repository_named_in_a_payload_or_configuration_changes_nothing(
    e2e: Any,
) -> None:
    base = e2e.sandbox.base_url
    ok(httpx.post(f"{base}/_sandbox/repos", json={"owner": "rival", "name": "secret-plans"}, timeout=30))
    e2e.settle()
    rival = ok(e2e.api("admin").get("/repos/rival/secret-plans"))
    ours = ok(e2e.api("admin").get(f"/repos/{REPO}"))
    ok(e2e.api("admin").post("/repos/rival/secret-plans/milestones", json={"title": "v9.9.0"}))
    e2e.settle()
    with e2e.sandbox.state.lock:
        rival_installation = next(
            i.id for i in e2e.sandbox.state.installations.values() if i.account == "rival"
        )
    assert rival_installation != 1
    seq = last_seq(e2e)

    def milestone_event(repo: dict[str, Any], installation: int, number: int) -> bytes:
        return json.dumps(
            {
                "action": "created",
                "milestone": {"number": number, "title": "v9.9.1", "state": "open"},
                "repository": {
                    "id": repo["id"],
                    "full_name": repo["full_name"],
                    "name": repo["name"],
                    "owner": {"login": repo["owner"]["login"]},
                },
                "installation": {"id": installation},
                "sender": {"login": "dev"},
            }
        ).encode()

    # A correctly signed payload (as if GitHub were confused, or the secret leaked) pairing our
    # installation with the rival's repository, and the rival's installation with ours.
    for body in (milestone_event(rival, 1, 1), milestone_event(ours, rival_installation, 1)):
        headers = {
            "X-GitHub-Event": "milestone",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        }
        r = post_webhook(e2e, body, headers)
        assert r.status_code == 202, r.text
    e2e.settle()
    writes = bot_writes_since(e2e, seq)
    assert not [w for w in writes if "/repos/rival/" in w], writes
    assert not [w for w in writes if "/repos/acme/rocket/" in w], writes  # milestone 1 of ours does not exist
    # the jobs ended (nothing stuck in the queue), and the bot still serves
    assert e2e.bot.healthz()["queue"]["running"] == 0

    # A configuration naming the rival's repository (whose file lets anyone with write approve) is
    # refused: who may approve never comes from another account's file.
    admin = e2e.api("admin")
    ok(
        admin.put(
            "/repos/rival/secret-plans/contents/.github/release-bot.yml",
            json={"message": "rival roles", "content": base64.b64encode(PR_BRANCH_CONFIG.encode()).decode()},
        )
    )
    ok(
        admin.put(
            f"/repos/{REPO}/contents/.github/release-bot.yml",
            json={
                "message": "extend the rival",
                "branch": "main",
                "content": base64.b64encode(b"_extends: rival/secret-plans\n").decode(),
            },
        )
    )
    e2e.settle()
    gate = Gate(e2e, protect="ruleset")
    gate.say("qa", "/uat passed")
    gate.say("dev", "/approve")
    gate.settle()
    check = gate.check()
    assert check["conclusion"] == "failure", check["output"]
    assert any("may only be run by release managers" in b for b in told(gate, "dev")), gate.bot_comments()
    assert "_extends may only name a repository of `acme`" in check["output"]["summary"] + e2e.bot.logs()


# ------------------------------------------------------------------------------------ injection

# The markers name the milestone the bot's own section is for (the tests' first milestone is 1).
INJECTED = (
    "<img src=x onerror=alert(1)> <script>alert(2)</script> @admin @acme/release-managers #1 "
    "<!-- release-bot:notes-end:1 --> <!-- release-bot:tracking:1 --> | pipe\n## Heading"
)
RAW = ("<img", "<script", "@admin", "@acme/release-managers")


def assert_inert(text: str) -> None:
    """No HTML, no mention that pings, no copy of the bot's markers, no table cell split."""
    for raw in RAW:
        assert raw not in text, (raw, text)
    assert (
        text.count("<!-- release-bot:notes-end:1 -->") <= 1
        and "<!-- release-bot:tracking:1 --> |" not in text
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in text or "&lt;img" in text, text


@pytest.mark.reliability(
    area="attack",
    case="HTML, Markdown and mention injection through titles and release-note blocks into the notes",
    trials=2,
)
def test_injection_through_titles_and_release_note_blocks_stays_text_in_the_notes(e2e: Any) -> None:
    from test_release_notes_e2e import REPO as NOTES_REPO
    from test_release_notes_e2e import merge, open_pr, releases

    pm, dev = e2e.api("pm"), e2e.api("dev")
    m = ok(pm.post(f"{NOTES_REPO}/milestones", json={"title": "v3.1.0"}))["number"]
    by_title = open_pr(dev, "Fix " + INJECTED.replace("\n", " "), labels=("feature",), milestone=m)
    block = "Some text.\n\n```release-note\n" + INJECTED + "\n```\n"
    by_block = open_pr(dev, "Harmless title", labels=("bug",), milestone=m, body=block)
    merge(dev, by_title)
    merge(dev, by_block)
    e2e.settle()
    (draft,) = [r for r in releases(pm) if r["tag_name"] == "v3.1.0" and r["author"]["login"] == BOT]
    body = draft["body"]
    assert f"(#{by_title})" in body and f"(#{by_block})" in body, body
    assert_inert(body)
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "&lt;script&gt;" in body
    # No heading of its own: a title stays on its line, a note's lines stay inside its list item.
    assert "\n## Heading" not in body
    assert body.count("<!-- release-bot:notes:") == 1 and body.count("<!-- release-bot:notes-end:") == 1, body


@pytest.mark.reliability(
    area="attack",
    case="HTML, Markdown and mention injection through command arguments into the bot's comments and check",
    trials=3,
)
def test_injection_through_command_arguments_stays_text_in_comments_and_checks(e2e: Any) -> None:
    gate = Gate(e2e, protect=None)
    payload = INJECTED.replace("\n", " ")
    gate.say("qa", f"/uat failed {payload}")
    gate.say("releaser", f"/milestone {payload}")
    gate.settle()
    check = gate.check()
    texts = [check["output"]["summary"], check["output"].get("text") or "", *gate.bot_comments()]
    assert any("&lt;img" in t for t in texts), texts
    for text in texts:
        for raw in RAW:
            assert raw not in text, (raw, text)
        assert (
            "<!-- release-bot:notes-end:1 -->" not in text and "<!-- release-bot:tracking:1 -->" not in text
        )
    # the tracking issue: a UAT failure reason
    from test_release_lifecycle import REPO as LC_REPO
    from test_release_lifecycle import tracking_issue

    pm, dev, qa = e2e.api("pm"), e2e.api("dev"), e2e.api("qa")
    m = ok(pm.post(f"{LC_REPO}/milestones", json={"title": "v7.0.0"}))["number"]
    ok(
        dev.post(
            f"{LC_REPO}/git/refs", json={"ref": "refs/tags/v7.0.0-rc.1", "sha": gate.pull()["base"]["sha"]}
        )
    )
    e2e.settle()
    number = tracking_issue(pm, m)["number"]
    ok(qa.post(f"{LC_REPO}/issues/{number}/comments", json={"body": f"/uat failed {payload}"}))
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "failed on rc.1" in body and "&lt;img" in body, body
    for raw in RAW:
        assert raw not in body, (raw, body)
    assert body.count("<!-- release-bot:tracking:") == 1, body
    assert "\\| pipe" in body and not re.search(
        r"[^\\]\| pipe", body
    )  # a bare '|' would split the table cell
