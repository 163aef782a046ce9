"""The compatible notes formats end to end: a real `release-bot serve` against the sandbox, the
repository's own `.github/release-drafter.yml` and then `.github/release.yml` pushed over REST.

A release-drafter file gives release-drafter's body (newest first, uncategorized first under no
heading, `## ` headings, `* ` bullets, no compare link, skip-changelog not special) and what the
bot cannot honour (a path condition) is named on the tracking issue; adding GitHub's release.yml
switches the same draft to GitHub's generated-notes layout.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from test_release_notes_e2e import BOT, REPO, merge, notes_releases, open_pr


def push_file(admin: httpx.Client, name: str, text: str) -> None:
    path = f"{REPO}/contents/.github/{name}"
    current = admin.get(path, params={"ref": "main"})
    payload = {
        "message": f"add {name}",
        "branch": "main",
        "content": base64.b64encode(text.encode()).decode(),
    }
    if current.status_code == 200:
        payload["sha"] = current.json()["sha"]
    r = admin.put(path, json=payload)
    assert r.status_code in (200, 201), r.text


def section(body: str, milestone: int) -> str:
    start, end = f"<!-- release-bot:notes:{milestone} -->", f"<!-- release-bot:notes-end:{milestone} -->"
    return body.split(start, 1)[1].split(end, 1)[0].strip("\n")


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_release_drafter_then_github_format(e2e: Any) -> None:
    admin, pm, dev, qa = e2e.api("admin"), e2e.api("pm"), e2e.api("dev"), e2e.api("qa")
    merge(qa, open_pr(qa, "Earlier work"))  # qa contributed before this release; dev never did
    push_file(
        admin,
        "release-drafter.yml",
        "categories:\n  - title: Features\n    when:\n      label: feature\n"
        "exclude-paths: [docs/]\n"
        "template: |\n  ## What's Changed in $RESOLVED_VERSION\n\n  $CHANGES\n\n  Thanks $CONTRIBUTORS\n",
    )
    m = pm.post(f"{REPO}/milestones", json={"title": "v3.0.0"}).json()["number"]
    feature = open_pr(dev, "Add hyperdrive", labels=("feature",), milestone=m)
    fix = open_pr(dev, "Fix hull <breach>", labels=("bug",), milestone=m)
    skipped = open_pr(dev, "Internal cleanup", labels=("skip-changelog",), milestone=m)
    polish = open_pr(qa, "Polish docs", milestone=m)
    for number in (feature, fix, skipped, polish):
        merge(dev, number)
    e2e.settle()

    (draft,) = notes_releases(pm, m)
    assert draft["author"]["login"] == BOT and draft["draft"]
    text = section(draft["body"], m)
    head, features = text.split("\n\n## Features\n\n")
    lines = head.split("\n")
    assert lines[:2] == ["## What's Changed in 3.0.0", ""], text
    # Uncategorized first, under no heading; skip-changelog means nothing to release-drafter;
    # titles as written.
    assert sorted(lines[2:]) == sorted(
        [
            f"* Fix hull <breach> (#{fix}) @dev",
            f"* Internal cleanup (#{skipped}) @dev",
            f"* Polish docs (#{polish}) @qa",
        ]
    )
    assert features == f"* Add hyperdrive (#{feature}) @dev\n\nThanks @dev and @qa", text
    assert "Full changelog" not in draft["body"]
    tracking = [
        i
        for i in pm.get(f"{REPO}/issues", params={"milestone": m, "state": "all"}).json()
        if i["user"]["login"] == BOT and not i.get("pull_request")
    ]
    assert len(tracking) == 1 and "conditions on changed files" in tracking[0]["body"], tracking

    # GitHub's release.yml comes first among the sources: the same draft, GitHub's layout, with
    # New Contributors read once per author (dev's first merged pull request is in this release,
    # qa's is not).
    push_file(
        admin, "release.yml", "changelog:\n  categories:\n    - title: Features\n      labels: [feature]\n"
    )
    e2e.settle()
    (draft,) = notes_releases(pm, m)
    text = section(draft["body"], m)
    web = draft["html_url"].split("/acme/rocket/")[0]
    assert text == (
        f"## What's Changed\n### Features\n* Add hyperdrive by @dev in {web}/acme/rocket/pull/{feature}\n"
        f"### Other Changes\n* Fix hull <breach> by @dev in {web}/acme/rocket/pull/{fix}\n"
        f"* Internal cleanup by @dev in {web}/acme/rocket/pull/{skipped}\n"
        f"* Polish docs by @qa in {web}/acme/rocket/pull/{polish}\n\n"
        "## New Contributors\n"
        f"* @dev made their first contribution in {web}/acme/rocket/pull/{feature}\n\n"
        f"**Full Changelog**: {web}/acme/rocket/commits/v3.0.0"
    ), text
