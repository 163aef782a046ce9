"""First sync of a repository with many releases in flight, end to end (issue 4 item 1).

A repository with 30 open version milestones (plus a closed one and a non-version one) is added to
the installation (`installation_repositories` `added`): every open version milestone gets exactly one
tracking issue and its stage comments, the closed one is left alone, the bot's labels are created,
and the API calls stay within a fixed allowance per release. With GitHub's real pacing limits the
same sync is measured by `benchmarks/release_first_sync.py` (too slow for the suite: it waits out
the 80-writes-per-minute window on purpose).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

BOT = "release-bot[bot]"
BIG = "/repos/acme/big"
MILESTONES = 30
# Writes are exact: per release the release record (a check run, created first), the tracking issue,
# its stage comments (Identify Needs; Plan too when the milestone has a due date), the notes draft and
# the record's update noting the comments; plus the labels. (Before issue 16 the state was in the
# body: no record create, and the body update in its place — one write less per release.)
DUE_DATED = len(range(0, MILESTONES, 3))
EXPECTED_WRITES = 5 + MILESTONES * 5 + DUE_DATED
# Reads vary with how events coalesce: measured 22-27 reads per release (two or three reconciles of
# ~10 reads: the first, and those the events of the bot's own writes wake — the notes draft's
# `release` event wakes only its own release since routing recognises the bot's marker; before that,
# every draft woke all open releases: 26-42). The ceiling catches a fan-out gone quadratic again.
MAX_READS_PER_RELEASE = 40


def seed_repository(e2e: Any, milestones: int) -> None:
    """acme/big, out of the installation while it is seeded (the bot hears nothing of it)."""
    admin_base = f"{e2e.sandbox.base_url}/_sandbox"
    assert httpx.post(f"{admin_base}/repos", json={"owner": "acme", "name": "big"}).status_code == 201
    r = httpx.post(f"{admin_base}/installations/1/repositories", json={"remove": ["acme/big"]})
    assert r.status_code == 200, r.text
    e2e.settle()
    admin = e2e.api("admin")
    for i in range(milestones):
        body: dict[str, Any] = {"title": f"v1.{i}.0"}
        if i % 3 == 0:
            body["due_on"] = "2030-12-01T00:00:00Z"
        assert admin.post(f"{BIG}/milestones", json=body).status_code == 201
    for title in ("Backlog", "v0.9.0"):
        assert admin.post(f"{BIG}/milestones", json={"title": title}).status_code == 201
    closed = [
        m for m in admin.get(f"{BIG}/milestones", params={"per_page": 100}).json() if m["title"] == "v0.9.0"
    ]
    admin.patch(f"{BIG}/milestones/{closed[0]['number']}", json={"state": "closed"})


@pytest.mark.e2e
def test_a_repository_with_thirty_releases_is_adopted_once_within_its_call_allowance(e2e: Any) -> None:
    seed_repository(e2e, MILESTONES)
    e2e.settle()
    seq = e2e.requests_since(0)[-1]["seq"]

    started = time.monotonic()
    r = httpx.post(
        f"{e2e.sandbox.base_url}/_sandbox/installations/1/repositories", json={"add": ["acme/big"]}
    )
    assert r.status_code == 200, r.text
    e2e.settle(timeout=120)
    duration = time.monotonic() - started

    api = e2e.api("admin")
    issues = [
        i
        for page in range(1, 4)
        for i in api.get(f"{BIG}/issues", params={"state": "all", "per_page": 100, "page": page}).json()
    ]
    tracking = [
        i for i in issues if i["user"]["login"] == BOT and "release-bot:tracking:" in (i["body"] or "")
    ]
    titles = sorted(i["title"] for i in tracking)
    assert titles == sorted(f"Release v1.{i}.0" for i in range(MILESTONES)), (
        titles
    )  # once each, none for v0.9.0
    labels = {lbl["name"] for lbl in api.get(f"{BIG}/labels", params={"per_page": 100}).json()}
    assert {"release-tracking", "uat-passed", "release-approved", "hold", "released"} <= labels

    calls = [c for c in e2e.requests_since(seq) if c["actor"] in (BOT, "app")]
    reads = sum(1 for c in calls if c["method"] == "GET")
    writes = len(calls) - reads
    failed = [c for c in calls if c["status"] >= 400 and c["status"] != 404]
    print(
        f"\nfirst sync of {MILESTONES} releases: {len(calls)} calls ({reads} reads, {writes} writes), "
        f"{duration:.1f}s, {len(calls) / MILESTONES:.1f} calls per release"
    )
    assert failed == [], failed[:5]
    assert EXPECTED_WRITES <= writes <= EXPECTED_WRITES + 3, writes  # +3: a token or a body caught mid-change
    assert reads <= MAX_READS_PER_RELEASE * MILESTONES, reads

    # The same installation event again (a redelivery): nothing new.
    seq = e2e.requests_since(0)[-1]["seq"]
    httpx.post(f"{e2e.sandbox.base_url}/_sandbox/installations/1/repositories", json={"remove": ["acme/big"]})
    httpx.post(f"{e2e.sandbox.base_url}/_sandbox/installations/1/repositories", json={"add": ["acme/big"]})
    e2e.settle(timeout=120)
    again = [
        c for c in e2e.requests_since(seq) if c["actor"] == BOT and c["method"] != "GET" and c["status"] < 400
    ]
    assert again == [], again[:5]


@pytest.mark.e2e
def test_installing_the_app_adopts_open_version_milestones_where_they_stand(e2e: Any) -> None:
    """`installation` `created` (the App installed on an organization that already plans releases)."""
    admin_base = f"{e2e.sandbox.base_url}/_sandbox"
    assert httpx.post(f"{admin_base}/repos", json={"owner": "globex", "name": "app"}).status_code == 201
    e2e.settle()
    with e2e.sandbox.state.lock:
        [inst] = [
            i.id for i in e2e.sandbox.state.installations.values() if i.account == "globex" and not i.deleted
        ]
    assert httpx.delete(f"{admin_base}/installations/{inst}").status_code in (200, 204)
    e2e.settle()

    admin, base = e2e.api("admin"), "/repos/globex/app"
    sha = admin.get(f"{base}/git/ref/heads/main").json()["object"]["sha"]
    numbers = {}
    for title, due in (
        ("v2.0.0", "2030-06-01T00:00:00Z"),
        ("2.1.0-beta.1", None),
        ("Sprint 12", None),
        ("v1.9.0", None),
    ):
        body: dict[str, Any] = {"title": title, **({"due_on": due} if due else {})}
        numbers[title] = admin.post(f"{base}/milestones", json=body).json()["number"]
    admin.patch(f"{base}/milestones/{numbers['v1.9.0']}", json={"state": "closed"})
    # v2.0.0 is in flight: its branch and first candidate exist before the App is installed.
    for ref in ("refs/heads/release/2.0", "refs/tags/v2.0.0-rc.1"):
        assert admin.post(f"{base}/git/refs", json={"ref": ref, "sha": sha}).status_code == 201
    e2e.settle()
    assert not [
        c for c in e2e.requests_since(0) if c["actor"] == BOT and c["path"].startswith(f"/api/v3{base}")
    ]

    r = httpx.post(f"{admin_base}/installations", json={"account": "globex"})
    assert r.status_code == 201, r.text
    e2e.settle()
    issues = admin.get(f"{base}/issues", params={"state": "all", "per_page": 100}).json()
    tracking = {
        i["milestone"]["title"]: i
        for i in issues
        if i["user"]["login"] == BOT and "release-bot:tracking:" in (i["body"] or "")
    }
    assert sorted(tracking) == ["2.1.0-beta.1", "v2.0.0"]  # not Sprint 12, not the closed v1.9.0
    assert tracking["2.1.0-beta.1"]["title"] == "Release v2.1.0-beta.1"
    in_flight = tracking["v2.0.0"]["body"]
    assert "| UAT | ▶️ current |" in in_flight and "| Build & Test | ✅ done |" in in_flight, in_flight
    stages = [
        c["body"].split(":")[3].split(" ")[0]
        for c in admin.get(f"{base}/issues/{tracking['v2.0.0']['number']}/comments").json()
        if c["user"]["login"] == BOT and "release-bot:stage:" in c["body"]
    ]
    assert stages == ["identify_needs", "plan", "build_test", "uat"]
    labels = {lbl["name"] for lbl in admin.get(f"{base}/labels", params={"per_page": 100}).json()}
    assert {"release-tracking", "uat-passed", "release-approved", "hold", "released"} <= labels
