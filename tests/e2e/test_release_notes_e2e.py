"""Release notes end to end: the sandbox, a real `release-bot serve`, people acting over REST.

One story, checked step by step: merged pull requests land under their headings in the bot's
draft; a demilestoned one disappears; a milestone pull request merged to `main` after the branch
was cut is left out (and named on the tracking issue); a `release-note` block and `/release-note`
replace titles; pushing `v1.4.0` publishes exactly one release on that tag with the right compare
link; "released" comments appear once each; redeliveries, repeated rebuilds and a wiped store
write nothing.
"""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = "/repos/acme/rocket"
BOT = "release-bot[bot]"
ROOT = Path(__file__).resolve().parents[2]
_counter = itertools.count(1)


def ref_sha(api: httpx.Client, ref: str) -> str:
    r = api.get(f"{REPO}/git/ref/{ref}")
    assert r.status_code == 200, r.text
    return r.json()["object"]["sha"]


def create_ref(api: httpx.Client, ref: str, sha: str) -> None:
    r = api.post(f"{REPO}/git/refs", json={"ref": ref, "sha": sha})
    assert r.status_code == 201, r.text


def open_pr(api: httpx.Client, title: str, *, base: str = "main", labels: tuple[str, ...] = (),
            milestone: int | None = None, body: str = "") -> int:
    n = next(_counter)
    branch = f"topic/{n}"
    create_ref(api, f"refs/heads/{branch}", ref_sha(api, f"heads/{base}"))
    content = base64.b64encode(f"change {n}\n".encode()).decode()
    r = api.put(f"{REPO}/contents/changes/{n}.txt", json={"message": title, "content": content, "branch": branch})
    assert r.status_code == 201, r.text
    r = api.post(f"{REPO}/pulls", json={"title": title, "head": branch, "base": base, "body": body})
    assert r.status_code == 201, r.text
    number = int(r.json()["number"])
    if labels or milestone:
        patch: dict[str, Any] = {"labels": list(labels)}
        if milestone:
            patch["milestone"] = milestone
        r = api.patch(f"{REPO}/issues/{number}", json=patch)
        assert r.status_code == 200, r.text
    return number


def merge(api: httpx.Client, number: int) -> None:
    r = api.put(f"{REPO}/pulls/{number}/merge", json={"merge_method": "merge"})
    assert r.status_code == 200, r.text


def releases(api: httpx.Client) -> list[dict[str, Any]]:
    r = api.get(f"{REPO}/releases", params={"per_page": 100})
    assert r.status_code == 200, r.text
    return r.json()


def notes_releases(api: httpx.Client, milestone: int) -> list[dict[str, Any]]:
    marker = f"<!-- release-bot:notes:{milestone} -->"
    return [r for r in releases(api) if marker in (r.get("body") or "").splitlines()]


def bot_writes(e2e: Any, since: int) -> list[dict[str, Any]]:
    return [r for r in e2e.requests_since(since) if r["actor"] == BOT and r["method"] != "GET"]


def last_seq(e2e: Any) -> int:
    reqs = e2e.requests_since(0)
    return reqs[-1]["seq"] if reqs else 0


def section(body: str, heading: str) -> str:
    """The lines under '### heading' up to the next heading."""
    out, inside = [], False
    for line in body.splitlines():
        if line.startswith("### "):
            inside = line == f"### {heading}"
            continue
        if inside and line.startswith("- "):
            out.append(line)
    return "\n".join(out)


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_release_notes_story(e2e: Any) -> None:
    admin, pm, dev, releaser = e2e.api("admin"), e2e.api("pm"), e2e.api("dev"), e2e.api("releaser")
    create_ref(admin, "refs/tags/v1.3.0", ref_sha(admin, "heads/main"))  # the previous release
    m = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0"}).json()["number"]

    feature = open_pr(dev, "Add rocket boosters for @octocat", labels=("feature",), milestone=m)
    fix = open_pr(dev, "Fix launch crash", labels=("bug",), milestone=m,
                  body="Details.\n\n```release-note\nLaunches no longer crash when fuel is low.\n```\n")
    chore = open_pr(dev, "Bump dependencies", labels=("dependencies",), milestone=m)
    commanded = open_pr(dev, "Refactor telemetry <internals>", labels=("enhancement",), milestone=m)
    dropped = open_pr(dev, "Short-lived idea", labels=("feature",), milestone=m)
    for n in (feature, fix, chore, commanded, dropped):
        merge(dev, n)
    create_ref(dev, "refs/heads/release/1.4", ref_sha(dev, "heads/main"))  # the branch is cut
    late = open_pr(dev, "Late feature merged to main only", labels=("feature",), milestone=m)
    merge(dev, late)
    backport = open_pr(dev, "Hotfix on the branch", labels=("bug",), base="release/1.4", milestone=m)
    merge(dev, backport)
    dev.post(f"{REPO}/issues/{commanded}/comments", json={"body": "/release-note Telemetry is 2x faster."})
    pm.patch(f"{REPO}/issues/{dropped}", json={"milestone": None})
    e2e.settle()

    (draft,) = notes_releases(pm, m)
    assert draft["draft"] and draft["author"]["login"] == BOT
    assert draft["tag_name"] == "v1.4.0" and draft["target_commitish"] == "release/1.4"
    body = draft["body"]
    assert f"Add rocket boosters for @<!---->octocat (#{feature})" in section(body, "Features")
    assert f"Telemetry is 2x faster. (#{commanded})" in section(body, "Features")
    assert f"Launches no longer crash when fuel is low. (#{fix})" in section(body, "Fixes")
    assert f"Hotfix on the branch (#{backport})" in section(body, "Fixes")
    assert f"(#{chore})" in section(body, "Maintenance")
    assert f"(#{dropped})" not in body and f"(#{late})" not in body
    assert "compare/v1.3.0...v1.4.0" in body
    (tracking,) = [i for i in pm.get(f"{REPO}/issues", params={"milestone": m, "state": "all"}).json()
                   if i["user"]["login"] == BOT and not i.get("pull_request")]
    # Rendered by the release reconciler from NotesOutcome.not_on_branch.
    listed = tracking["body"].split("### In the milestone but not on the release branch", 1)
    assert len(listed) == 2 and f"#{late}" in listed[1].split("###", 1)[0], tracking["body"]

    # Human text outside the bot's section survives rebuilds.
    r = releaser.patch(f"{REPO}/releases/{draft['id']}", json={"body": "Highlights by a human.\n\n" + body})
    assert r.status_code == 200, r.text
    e2e.settle()

    # The final tag lands on the release branch: the draft is published on it.
    create_ref(dev, "refs/tags/v1.4.0", ref_sha(dev, "heads/release/1.4"))
    e2e.settle()
    on_tag = [r for r in releases(pm) if r["tag_name"] == "v1.4.0"]
    assert len(on_tag) == 1, on_tag
    published = on_tag[0]
    assert not published["draft"] and published["body"].startswith("Highlights by a human.\n\n")
    assert "[v1.3.0...v1.4.0](" in published["body"] and "/compare/v1.3.0...v1.4.0)" in published["body"]
    latest = pm.get(f"{REPO}/releases/latest")
    assert latest.status_code == 200 and latest.json()["id"] == published["id"]
    shipped = (feature, fix, chore, commanded, backport)
    for n in shipped:
        notes = [c for c in pm.get(f"{REPO}/issues/{n}/comments").json()
                 if c["user"]["login"] == BOT and "release-bot:released:" in c["body"]]
        assert len(notes) == 1, (n, notes)
        assert "released" in [lbl["name"] for lbl in pm.get(f"{REPO}/issues/{n}").json()["labels"]]
    assert not [c for c in pm.get(f"{REPO}/issues/{late}/comments").json() if "release-bot:released:" in c["body"]]

    # Nothing new: a redelivered event, a repeated rebuild and a wiped store write nothing.
    seq = last_seq(e2e)
    from bot.sandbox.webhooks import emitter

    with e2e.sandbox.state.lock:
        deliveries = [d.id for d in e2e.sandbox.state.deliveries if d.event == "pull_request"][-3:]
    for delivery in deliveries:
        emitter(e2e.sandbox.state).redeliver(delivery)
    e2e.settle()
    pm.patch(f"{REPO}/milestones/{m}", json={"description": "touch: rebuild"})
    e2e.settle()
    e2e.bot.kill()
    (e2e.bot.workdir / "queue.db").unlink()
    e2e.bot.start()
    pm.patch(f"{REPO}/milestones/{m}", json={"description": "touch again"})
    e2e.settle()
    before_reconcile = last_seq(e2e)
    env = {**os.environ, **e2e.bot.env, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                           "reconcile", "acme/rocket"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    e2e.settle()
    rebuilt = [r for r in e2e.requests_since(before_reconcile)
               if r["actor"] == BOT and r["method"] == "GET" and "/compare/" in r["path"]]
    assert rebuilt, "release-bot reconcile did not rebuild the notes"
    writes = [w for w in bot_writes(e2e, seq) if "/releases" in w["path"] or w["path"].endswith("/labels")
              or ("/comments" in w["path"] and f"/issues/{shipped[0]}/" in w["path"])]
    assert writes == [], writes
    assert len([r for r in releases(pm) if r["tag_name"] == "v1.4.0"]) == 1
