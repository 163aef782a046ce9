"""A hostile developer against the release notes, end to end on the sandbox.

Anyone with contents write can edit any release, the bot's published notes included, so a
notes marker pasted into a body must not make that release the bot's notes of another version.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_release_notes_e2e import REPO, create_ref, merge, open_pr, ref_sha, releases

BOT = "release-bot[bot]"

pytestmark = pytest.mark.e2e


def ours(api: Any, tag: str) -> list[dict[str, Any]]:
    return [r for r in releases(api) if r["tag_name"] == tag and r["author"]["login"] == BOT]


@pytest.mark.timeout(180)
@pytest.mark.reliability(
    area="attack",
    case="a notes marker pasted into a published release does not hijack it",
    trials=1,
)
def test_a_pasted_notes_marker_does_not_hijack_a_published_release(e2e: Any) -> None:
    admin, pm, dev = e2e.api("admin"), e2e.api("pm"), e2e.api("dev")
    m14 = pm.post(f"{REPO}/milestones", json={"title": "v1.4.0"}).json()["number"]
    shipped = open_pr(dev, "Shipped in 1.4", labels=("feature",), milestone=m14)
    merge(dev, shipped)
    e2e.settle()
    create_ref(admin, "refs/tags/v1.4.0", ref_sha(admin, "heads/main"))
    e2e.settle()
    (published,) = ours(pm, "v1.4.0")
    assert not published["draft"]

    m15 = pm.post(f"{REPO}/milestones", json={"title": "v1.5.0"}).json()["number"]
    upcoming = open_pr(dev, "Coming in 1.5", labels=("feature",), milestone=m15)
    merge(dev, upcoming)
    e2e.settle()
    (draft,) = ours(pm, "v1.5.0")
    assert draft["draft"] and f"(#{upcoming})" in draft["body"]

    # dev pastes v1.5.0's marker into the published v1.4.0 release
    forged = (
        published["body"]
        + f"\n\n<!-- release-bot:notes:{m15} -->\nforged\n<!-- release-bot:notes-end:{m15} -->\n"
    )
    r = dev.patch(f"{REPO}/releases/{published['id']}", json={"body": forged})
    assert r.status_code == 200, r.text
    pm.patch(f"{REPO}/milestones/{m15}", json={"description": "touch: rebuild the notes"})
    e2e.settle()

    # v1.5.0's draft is still the one the bot made, and v1.4.0 got none of v1.5.0's changes
    (still,) = ours(pm, "v1.5.0")
    assert still["id"] == draft["id"] and f"(#{upcoming})" in still["body"]
    after = dev.get(f"{REPO}/releases/{published['id']}").json()
    assert f"(#{upcoming})" not in after["body"] and "compare/v1.4.0...v1.5.0" not in after["body"]
    assert after["body"] == forged  # the bot does not write into a published release of another version


@pytest.mark.timeout(180)
@pytest.mark.reliability(
    area="fault",
    case="a duplicate draft release left by a race is resolved, keeping people's text",
    trials=1,
)
def test_a_duplicate_draft_is_resolved_keeping_peoples_text(e2e: Any) -> None:
    pm, dev, releaser = e2e.api("pm"), e2e.api("dev"), e2e.api("releaser")
    m = pm.post(f"{REPO}/milestones", json={"title": "v2.0.0"}).json()["number"]
    merge(dev, open_pr(dev, "Big change", labels=("feature",), milestone=m))
    e2e.settle()
    (draft,) = ours(pm, "v2.0.0")
    # a leftover of a race: a second draft by the bot with the same section, where a person wrote text
    e2e.bot.kill()
    r = e2e.installation_api().post(
        f"{REPO}/releases",
        json={"tag_name": "v2.0.0", "name": "v2.0.0", "draft": True, "body": draft["body"]},
    )
    assert r.status_code == 201, r.text
    duplicate = r.json()
    r = releaser.patch(
        f"{REPO}/releases/{duplicate['id']}",
        json={"body": "Upgrade notes by a human.\n\n" + duplicate["body"]},
    )
    assert r.status_code == 200, r.text
    e2e.bot.start()
    pm.patch(f"{REPO}/milestones/{m}", json={"description": "touch"})
    e2e.settle()
    (kept,) = ours(pm, "v2.0.0")
    assert kept["id"] == draft["id"]
    assert "Upgrade notes by a human." in kept["body"]
