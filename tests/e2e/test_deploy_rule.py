"""Deployments wait for the release, end to end: the sandbox plays deploying workflow jobs, a real
`release-bot serve` answers its custom deployment protection rule (docs/deployments.md).

`release-bot protect` enables the App on the environments of `deploy.environments`; a candidate
deploys to staging freely; production refuses the candidate (saying why, on the deployment and on the
tracking issue), refuses the final tag before UAT signed off the commit it points at, and approves it
after the sign-off — then the deployment succeeds and the release moves to Monitor.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import open_e2e
from test_release_lifecycle import BOT, REPO, comments, create_ref, tracking_issue
from test_release_lifecycle_strict import put_config, tick_stage

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
deploy:
  environments:
    production: {requires: [uat, prepare]}   # final tag only, UAT signed off on its commit, Prepare ticked
    staging: {requires: []}
stages:
  prepare: {checklist: ['Notes reviewed', 'Comms drafted']}
"""


def protect(e2e: Any) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "APP_ID": "1",
        "PRIVATE_KEY_PATH": str(e2e.sandbox.app_key_path),
        "GITHUB_API_URL": e2e.sandbox.api_url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "protect",
            "acme/rocket",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def deploy(e2e: Any, ref: str, environment: str) -> int:
    """A workflow job deploying ``ref``; returns the deployment id once the bot answered and settled."""
    resp = httpx.post(
        f"{e2e.sandbox.base_url}/_sandbox/deployments/request",
        json={"repo": "acme/rocket", "ref": ref, "environment": environment, "by": "releaser"},
    )
    assert resp.status_code == 202, resp.text
    e2e.settle()
    return int(resp.json()["deployment_id"])


def gate_production(admin: httpx.Client, rule: str) -> None:
    """``deploy.environments.production: <rule>`` configured, the environment created and the App
    enabled as its deployment protection rule by hand (what `release-bot protect` does)."""
    put_config(admin, f"deploy:\n  environments:\n    production: {rule}\n", "gate production")
    assert admin.put(f"{REPO}/environments/production").status_code == 200
    enabled = admin.post(
        f"{REPO}/environments/production/deployment_protection_rules", json={"integration_id": 1}
    )
    assert enabled.status_code == 201, enabled.text


def outcome(e2e: Any, deployment_id: int) -> tuple[list[str], dict[str, Any]]:
    """The deployment's status states (newest first) and the run's rule answers and comments."""
    statuses = e2e.api("releaser").get(f"{REPO}/deployments/{deployment_id}/statuses").json()
    run = httpx.get(f"{e2e.sandbox.base_url}/_sandbox/deployments/{deployment_id}").json()
    return [s["state"] for s in statuses], run


def notes(api: httpx.Client, issue: int, deployment_id: int) -> list[str]:
    marker = f"<!-- release-bot:deploy:{deployment_id} -->"
    return [c["body"] for c in comments(api, issue) if marker in c["body"] and c["user"]["login"] == BOT]


def new_commit(api: httpx.Client, name: str) -> None:
    content = base64.b64encode(f"{name}\n".encode()).decode()
    r = api.put(
        f"{REPO}/contents/{name}.txt", json={"message": f"fix {name}", "content": content, "branch": "main"}
    )
    assert r.status_code == 201, r.text


def test_production_waits_for_the_release(e2e: Any) -> None:
    admin, pm, dev, qa = e2e.api("admin"), e2e.api("pm"), e2e.api("dev"), e2e.api("qa")
    put_config(admin, CONFIG, "gate deployments on the release")
    e2e.settle()
    done = protect(e2e)
    assert done.returncode == 0, done.stderr
    assert "environment production: created, the App's deployment protection rule enabled" in done.stdout
    assert "environment staging: created" in done.stdout
    again = protect(e2e)
    assert again.returncode == 0 and again.stdout.count("already enabled") == 2, again.stdout
    rules = admin.get(f"{REPO}/environments/production/deployment_protection_rules").json()
    assert [r["app"]["slug"] for r in rules["custom_deployment_protection_rules"]] == ["release-bot"]

    m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0"}).json()["number"]
    create_ref(dev, "refs/tags/v1.4.0-rc.1")
    e2e.settle()
    issue = tracking_issue(pm, m)["number"]

    # staging takes candidates freely
    staged = deploy(e2e, "v1.4.0-rc.1", "staging")
    states, run = outcome(e2e, staged)
    assert states == ["success"] and run["state"] == "approved"

    # production refuses the candidate, on the deployment and on the tracking issue
    refused = deploy(e2e, "v1.4.0-rc.1", "production")
    states, run = outcome(e2e, refused)
    assert states == ["failure"] and run["state"] == "rejected"
    [answer] = run["comments"]
    assert answer["state"] == "rejected" and "takes only the final tag `v1.4.0`" in answer["comment"]
    [note] = notes(pm, issue, refused)
    assert "`v1.4.0-rc.1`" in note and "takes only the final tag" in note

    # UAT signs off rc.1, Prepare is ticked; a fix needs rc.2, and the final tag is cut on it
    qa.post(f"{REPO}/issues/{issue}/comments", json={"body": "/uat passed"})
    e2e.settle()
    tick_stage(pm, issue, "prepare")
    new_commit(dev, "hotfix")
    create_ref(dev, "refs/tags/v1.4.0-rc.2")
    e2e.settle()
    create_ref(dev, "refs/tags/v1.4.0")
    e2e.settle()
    assert "| Deploy | ▶️ current |" in tracking_issue(pm, m)["body"]

    # the final tag before UAT signed off its commit (rc.1's sign-off does not cover rc.2)
    early = deploy(e2e, "v1.4.0", "production")
    states, run = outcome(e2e, early)
    assert states == ["failure"]
    assert "UAT is not signed off on the latest candidate (`v1.4.0-rc.2`)" in run["comments"][0]["comment"]
    [note] = notes(pm, issue, early)
    assert "/uat passed" in note and f"#{issue}" in note

    # signed off, but QA holds the release: refused while the hold stands; a triager cannot lift it
    qa.post(f"{REPO}/issues/{issue}/comments", json={"body": "/uat passed"})
    qa.post(f"{REPO}/issues/{issue}/comments", json={"body": "/hold the db migration is not rehearsed"})
    e2e.settle()
    assert "| On hold | ⏸️ since " in tracking_issue(pm, m)["body"]
    held = deploy(e2e, "v1.4.0", "production")
    states, run = outcome(e2e, held)
    assert states == ["failure"]
    assert "`/hold` by @\u200bqa" in run["comments"][0]["comment"], run
    assert "the db migration is not rehearsed" in run["comments"][0]["comment"]
    e2e.api("triager").post(f"{REPO}/issues/{issue}/comments", json={"body": "/unhold"})
    e2e.settle()
    assert "| On hold | ⏸️ since " in tracking_issue(pm, m)["body"]

    # after /unhold: approved, deployed, and the release moves to Monitor
    qa.post(f"{REPO}/issues/{issue}/comments", json={"body": "/unhold"})
    e2e.settle()
    assert "On hold" not in tracking_issue(pm, m)["body"]
    shipped = deploy(e2e, "v1.4.0", "production")
    states, run = outcome(e2e, shipped)
    assert states == ["success"] and run["state"] == "approved", run
    [answer] = run["comments"]
    assert "final tag of v1.4.0" in answer["comment"] and "`v1.4.0-rc.2`" in answer["comment"]
    assert "Prepare checklist is complete" in answer["comment"]
    assert notes(pm, issue, shipped) == []
    e2e.settle()
    body = tracking_issue(pm, m)["body"]
    assert "| Monitor | ▶️ current |" in body and "| Deploy | ✅ done |" in body
    # each deployment was answered exactly once, and each refusal noted once
    for deployment_id in (refused, early, held, shipped):
        assert len(outcome(e2e, deployment_id)[1]["comments"]) == 1
    assert len(notes(pm, issue, refused)) == len(notes(pm, issue, early)) == 1


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.reliability(
    area="crash", case="SIGKILL while the deployment protection rule's answer is in flight", trials=1
)
def test_an_answer_in_flight_survives_a_crash_and_is_given_once(tmp_path: Path, bot_factory: Any) -> None:
    with open_e2e(tmp_path, bot_factory, env={"LEASE_SECONDS": "2"}) as e2e:
        admin, pm, dev = e2e.api("admin"), e2e.api("pm"), e2e.api("dev")
        gate_production(admin, "{requires: [], candidates: false}")
        m = pm.post(f"{REPO}/milestones", json={"title": "v2.0.0"}).json()["number"]
        create_ref(dev, "refs/tags/v2.0.0-rc.1")
        e2e.settle()
        issue = tracking_issue(pm, m)["number"]
        # The answer reaches GitHub slowly; the bot is killed while it is on its way.
        fault = httpx.post(
            f"{e2e.sandbox.base_url}/_sandbox/faults",
            json={
                "method": "POST",
                "path": r"/actions/runs/\d+/deployment_protection_rule$",
                "delay_ms": 3000,
            },
        )
        assert fault.status_code in (200, 201), fault.text
        resp = httpx.post(
            f"{e2e.sandbox.base_url}/_sandbox/deployments/request",
            json={"repo": "acme/rocket", "ref": "v2.0.0-rc.1", "environment": "production"},
        )
        deployment_id = int(resp.json()["deployment_id"])

        def answer_on_its_way() -> bool:
            faults = httpx.get(f"{e2e.sandbox.base_url}/_sandbox/faults", params={"all": 1}).json()
            return any(f["hits"] >= 1 for f in faults)

        _wait(answer_on_its_way, 30, "the bot's answer to reach the sandbox")
        e2e.bot.kill()
        e2e.bot.start()
        e2e.settle()
        _wait(lambda: outcome(e2e, deployment_id)[1]["state"] != "waiting", 30, "the answer")
        e2e.settle()
        states, run = outcome(e2e, deployment_id)
        assert states == ["failure"] and run["state"] == "rejected"
        assert len(run["comments"]) == 1  # the job ran again, and its second answer changed nothing
        assert len(notes(pm, issue, deployment_id)) == 1
        # Two answers reached GitHub (the one in flight at the kill, the job's run after it): one
        # counted, the other refused with 422, which ended the job instead of retrying it.
        _wait(lambda: len(_answers(e2e)) == 2, 30, "both answers to be served")
        assert sorted(_answers(e2e)) == [204, 422]


def _answers(e2e: Any) -> list[int]:
    rows = httpx.get(f"{e2e.sandbox.base_url}/_sandbox/requests", params={"since": 0}).json()
    return [
        r["status"]
        for r in rows
        if r["method"] == "POST" and r["path"].endswith("/deployment_protection_rule")
    ]
