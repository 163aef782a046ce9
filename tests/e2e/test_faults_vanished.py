"""Issue 16 item 2: what a job works on disappears while it runs, or the App loses its access.

A job is held in the middle of its work by a 2-second latency fault on one of its requests; the
thing it works on is deleted meanwhile (a pull request, a milestone, a comment), or the App is
uninstalled or suspended. The bot never retries what cannot succeed: such a job ends in the
dead-letter list with the reason, visible in `release-bot jobs` and `/metrics`, and nothing else
is left waiting. What can still be done is done: the deleted comment is simply not answered; once
the App is installed again, or unsuspended, the bot catches up by itself.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import httpx
import pytest

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"
ME = r"release-bot\[bot\]"  # faults aimed at the bot's requests only

pytestmark = pytest.mark.e2e


def _ok(resp: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _hold(e2e: Any, method: str, path: str) -> str:
    """Arm a 2-second latency on the bot's next ``method path``; returns the faults URL."""
    url = f"{e2e.sandbox.base_url}/_sandbox/faults"
    _ok(httpx.post(url, json={"method": method, "path": path, "delay_ms": 2000, "times": 1, "actor": ME}))
    return url


def _held(e2e: Any) -> bool:
    """The armed latency fault has caught its request (the job is inside it now)."""
    faults = httpx.get(f"{e2e.sandbox.base_url}/_sandbox/faults", params={"all": 1}).json()
    return any(f["delay_ms"] == 2000 and f["hits"] == 1 and f["times"] == 0 for f in faults)


def _clear(e2e: Any) -> None:
    assert httpx.delete(f"{e2e.sandbox.base_url}/_sandbox/faults").status_code == 204


def _metric(e2e: Any, name: str, **labels: str) -> float:
    text = httpx.get(e2e.bot.url + "/metrics", timeout=10).text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if got == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def _open_pull(e2e: Any, branch: str, base: str) -> int:
    dev = e2e.api("dev")
    sha = dev.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": sha}))
    content = base64.b64encode(branch.encode()).decode()
    _ok(
        dev.put(
            f"{REPO}/contents/{branch}.txt", json={"message": branch, "content": content, "branch": branch}
        )
    )
    return _ok(dev.post(f"{REPO}/pulls", json={"title": branch, "head": branch, "base": base}))["number"]


@pytest.mark.reliability(area="fault", case="pull request, milestone, comment deleted mid-job", trials=1)
def test_objects_deleted_mid_job_end_in_the_dead_letter_list_with_the_reason(e2e: Any) -> None:
    pm, dev, qa = e2e.api("pm"), e2e.api("dev"), e2e.api("qa")
    sha = dev.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/heads/release/9.0", "sha": sha}))
    m = _ok(pm.post(f"{REPO}/milestones", json={"title": "v9.0.0", "due_on": "2030-12-01T00:00:00Z"}))[
        "number"
    ]
    pull = _open_pull(e2e, "fix-a", "release/9.0")
    e2e.settle()

    # 1. A pull request vanishes while its job waits for GitHub.
    _hold(e2e, "GET", rf"^/repos/acme/rocket/pulls/{pull}$")
    _ok(qa.post(f"{REPO}/issues/{pull}/comments", json={"body": "/uat passed"}))
    _wait(lambda: _held(e2e), 20, "the pull request's job inside its request")
    assert httpx.delete(f"{e2e.sandbox.base_url}/_sandbox/repos/acme/rocket/pulls/{pull}").status_code == 204
    e2e.settle()
    _clear(e2e)

    # 2. A comment is deleted while the job that would answer it runs (nothing to answer then).
    tracking = next(
        i for i in pm.get(f"{REPO}/issues", params={"milestone": m}).json() if i["user"]["login"] == BOT
    )
    _hold(e2e, "GET", rf"^/repos/acme/rocket/issues/{tracking['number']}/comments$")
    helped = _ok(dev.post(f"{REPO}/issues/{tracking['number']}/comments", json={"body": "/help"}))["id"]
    _wait(lambda: _held(e2e), 20, "the release job inside its comments read")
    _ok(dev.delete(f"{REPO}/issues/comments/{helped}"), 204)
    e2e.settle()
    _clear(e2e)
    bot_comments = pm.get(f"{REPO}/issues/{tracking['number']}/comments", params={"per_page": 100}).json()
    assert not [c for c in bot_comments if f"release-bot:reply:{helped}" in c["body"]]

    # 3. The milestone is deleted while its release job runs.
    _hold(e2e, "GET", r"^/repos/acme/rocket/milestones$")
    _ok(pm.patch(f"{REPO}/milestones/{m}", json={"description": "last words"}), 200)
    _wait(lambda: _held(e2e), 20, "the release job inside its milestones read")
    _ok(pm.delete(f"{REPO}/milestones/{m}"), 204)
    e2e.settle()
    _clear(e2e)

    # Nothing waits to be retried; what could not be applied is listed with its reason.
    listing = e2e.bot.jobs("--state", "failed")
    assert "pending=0 running=0" in listing, listing
    assert f"permanent: pull request acme/rocket#{pull} no longer exists" in listing, listing
    failed = int(re.search(r"failed=(\d+)", listing).group(1))  # type: ignore[union-attr]
    assert failed >= 1
    rows = listing.splitlines()
    reasons = [rows[i + 1].strip() for i, row in enumerate(rows) if re.match(r"^\s*\d+\s+failed\s", row)]
    assert len(reasons) == failed and all(r.startswith("permanent: ") for r in reasons), listing
    assert _metric(e2e, "release_bot_queue_jobs", state="failed") == failed
    assert _metric(e2e, "release_bot_jobs_total", kind="pr", outcome="permanent") >= 1
    assert "no longer exists" in e2e.bot.logs()


@pytest.mark.reliability(area="fault", case="App uninstalled or suspended mid-run", trials=1)
def test_uninstalled_or_suspended_mid_run_stops_cleanly_and_catches_up_when_back(e2e: Any) -> None:
    pm, dev = e2e.api("pm"), e2e.api("dev")
    admin = f"{e2e.sandbox.base_url}/_sandbox/installations"
    m = _ok(pm.post(f"{REPO}/milestones", json={"title": "v9.1.0", "due_on": "2030-12-01T00:00:00Z"}))[
        "number"
    ]
    e2e.settle()

    # Suspended while a job runs: the job ends, nothing is retried in a loop.
    _hold(e2e, "GET", r"^/repos/acme/rocket/milestones$")
    _ok(pm.patch(f"{REPO}/milestones/{m}", json={"description": "scope"}), 200)
    _wait(lambda: _held(e2e), 20, "the release job inside its milestones read")
    _ok(httpx.post(f"{admin}/1/suspend"), 200)
    e2e.settle()
    _clear(e2e)
    listing = e2e.bot.jobs()
    assert "pending=0 running=0" in listing, listing
    assert "failed=1" in listing and "permanent: the installation is suspended (403)" in listing, listing
    # While suspended nothing reaches the bot; a release branch appears meanwhile.
    sha = dev.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"]
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/heads/release/9.1", "sha": sha}))
    _ok(httpx.post(f"{admin}/1/unsuspend"), 200)
    e2e.settle()

    def stages(number: int) -> list[str]:
        comments = pm.get(f"{REPO}/issues/{number}/comments", params={"per_page": 100}).json()
        return [
            re.search(r"release-bot:stage:\d+:(\w+)", c["body"]).group(1)  # type: ignore[union-attr]
            for c in comments
            if c["user"]["login"] == BOT and "release-bot:stage:" in c["body"]
        ]

    tracking = next(
        i for i in pm.get(f"{REPO}/issues", params={"milestone": m}).json() if i["user"]["login"] == BOT
    )
    assert stages(tracking["number"]) == ["identify_needs", "plan", "build_test"]  # caught up after unsuspend

    # Uninstalled while a job runs: the job ends with the reason, the waiting jobs are dropped.
    _hold(e2e, "GET", r"^/repos/acme/rocket/milestones$")
    _ok(pm.patch(f"{REPO}/milestones/{m}", json={"description": "scope, again"}), 200)
    _wait(lambda: _held(e2e), 20, "the release job inside its milestones read")
    assert httpx.delete(f"{admin}/1").status_code == 204
    e2e.settle()
    _clear(e2e)
    listing = e2e.bot.jobs()
    assert "pending=0 running=0" in listing, listing
    assert (
        "failed=2" in listing and "permanent: not found on GitHub (404: deleted, or not installed)" in listing
    ), listing
    assert _metric(e2e, "release_bot_queue_jobs", state="failed") == 2
    assert _metric(e2e, "release_bot_jobs_total", kind="release", outcome="permanent") == 2
    # Installed again: the bot picks the repository up by itself (installation.created fans out).
    _ok(dev.post(f"{REPO}/git/refs", json={"ref": "refs/tags/v9.1.0-rc.1", "sha": sha}))
    _ok(httpx.post(admin, json={"account": "acme"}))
    e2e.settle()
    assert stages(tracking["number"]) == ["identify_needs", "plan", "build_test", "uat"]
