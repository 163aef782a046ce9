"""Adapter tests of bot.github.notes_io against a responses-backed fake of GitHub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from notes_fake import BOT, REPO, FakeGitHub, client

from bot.github import notes_io
from bot.github.notes_io import DesiredRelease, ReleasedTarget, ReleaseRecord


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeGitHub()
        fake.install(mock)
        yield fake


def record(**kw: object) -> ReleaseRecord:
    base = dict(id=1, tag_name="v1.4.0", name="v1.4.0", body="b", draft=True, prerelease=False,
                target_commitish="release/1.4", author=BOT, html_url="u")
    base.update(kw)
    return ReleaseRecord(**base)  # type: ignore[arg-type]


def test_milestone_items_are_listed_closed_100_per_page(fake: FakeGitHub) -> None:
    for n in range(1, 251):
        fake.add_pr(n, f"PR {n}")
    fake.add_pr(999, "open one", merged=False)
    seen: list[int] = []
    items = notes_io.list_milestone_items(client(), REPO, 1, on_page=lambda done, total: seen.append(done))
    assert [i["number"] for i in items] == list(range(1, 251))
    assert seen == [100, 200, 250]
    assert all("milestone=1" in path and "state=closed" in path and "per_page=100" in path
               for _m, path in fake.reads())


def test_compare_pages_250_and_stops_on_total(fake: FakeGitHub) -> None:
    fake.compares[("v1.3.0", "release/1.4")] = [fake.merge_commit(n) for n in range(500)]
    commits = notes_io.compare_commits(client(), REPO, "v1.3.0", "release/1.4")
    assert len(commits) == 500 and commits[7].message.startswith("Merge pull request #7 ")
    assert len(fake.reads()) == 2  # exactly ceil(500/250): no empty third page
    assert all("per_page=250" in path for _m, path in fake.reads())
    assert "/compare/v1.3.0...release%2F1.4" in fake.reads()[0][1]


def test_tags_come_from_matching_refs(fake: FakeGitHub) -> None:
    fake.tags = ["v1.3.0", "v1.4.0-rc.1", "other"]
    assert notes_io.list_tag_names(client(), REPO) == ["v1.3.0", "v1.4.0-rc.1", "other"]


def test_find_by_marker_written_by_the_bot_not_first_draft(fake: FakeGitHub) -> None:
    marker = "<!-- release-bot:notes:7 -->\nnotes\n<!-- release-bot:notes-end:7 -->"
    ours = fake.add_release(draft=True, body=marker, author={"login": BOT}, tag_name="v1.4.0")
    fake.add_release(draft=True, body=marker, author={"login": "mallory"}, tag_name="v1.4.0")  # forged marker
    fake.add_release(draft=True, body="somebody's draft", author={"login": BOT})  # the "first draft"
    # the bot's own published notes of another version, with this milestone's marker pasted in
    fake.add_release(draft=False, body=marker, author={"login": BOT}, tag_name="v1.3.0")
    found, dups = notes_io.find_notes_release(client(), REPO, 7, BOT, tag="v1.4.0")
    assert found is not None and found.id == ours["id"] and dups == []


def test_stale_hint_falls_back_to_the_listing(fake: FakeGitHub) -> None:
    ours = fake.add_release(draft=True, author={"login": BOT}, tag_name="v1.4.0",
                            body="<!-- release-bot:notes:7 -->\nx\n<!-- release-bot:notes-end:7 -->")
    found, _ = notes_io.find_notes_release(client(), REPO, 7, BOT, tag="v1.4.0", hint_id=424242)
    assert found is not None and found.id == ours["id"]
    fake.calls.clear()
    found, _ = notes_io.find_notes_release(client(), REPO, 7, BOT, tag="v1.4.0", hint_id=ours["id"])
    assert found is not None and len(fake.reads()) == 1  # the hint alone


def test_duplicate_drafts_are_reported_oldest_wins(fake: FakeGitHub) -> None:
    body = "<!-- release-bot:notes:7 -->\nx"
    first = fake.add_release(draft=True, author={"login": BOT}, body=body, tag_name="v1.4.0")
    second = fake.add_release(draft=True, author={"login": BOT}, body=body, tag_name="v1.4.0")
    found, dups = notes_io.find_notes_release(client(), REPO, 7, BOT, tag="v1.4.0")
    assert found is not None and found.id == first["id"] and [d.id for d in dups] == [second["id"]]


class TestReleasePatch:
    def test_unchanged_is_empty(self) -> None:
        desired = DesiredRelease("v1.4.0", "v1.4.0", True, False, "release/1.4", None)
        assert notes_io.release_patch(record(), desired, "b") == {}

    def test_published_is_never_made_a_draft_again(self) -> None:
        desired = DesiredRelease("v1.4.0", "v1.4.0", True, False, "release/1.4", None)
        assert notes_io.release_patch(record(draft=False), desired, "new") == {"body": "new"}

    def test_target_only_when_changing_and_make_latest_only_when_publishing(self) -> None:
        moving = DesiredRelease("v1.4.0", "v1.4.0", True, False, "main", None)
        assert notes_io.release_patch(record(), moving, "b") == {"target_commitish": "main"}
        publish = DesiredRelease("v1.4.0", "v1.4.0", False, False, None, True)
        assert notes_io.release_patch(record(), publish, "b") == {"draft": False, "make_latest": "true"}
        older = DesiredRelease("v1.4.0", "v1.4.0", False, False, None, False)
        assert notes_io.release_patch(record(), older, "b")["make_latest"] == "false"


def test_update_rereads_and_keeps_text_written_meanwhile(fake: FakeGitHub) -> None:
    release = fake.add_release(draft=True, author={"login": BOT}, tag_name="v1.4.0", name="v1.4.0",
                               target_commitish="release/1.4", body="old")
    release["body"] = "edited by a human just now"
    desired = DesiredRelease("v1.4.0", "v1.4.0", True, False, "release/1.4", None)
    updated, patch = notes_io.update_release(client(), REPO, release["id"], desired, lambda cur: cur + "\n+notes")
    assert patch == {"body": "edited by a human just now\n+notes"}
    assert updated is not None and fake.calls[0] == ("GET", f"/repos/{REPO}/releases/{release['id']}")
    fake.calls.clear()
    _u, patch = notes_io.update_release(client(), REPO, release["id"], desired, lambda cur: cur)
    assert patch == {} and fake.writes() == []


def test_mark_released_once_each(fake: FakeGitHub) -> None:
    fake.add_pr(1, "a")
    fake.add_pr(2, "b", labels=("released",))
    fake.add_pr(3, "c")
    fake.comments[3] = [{"id": 5, "user": {"login": BOT}, "body": "<!-- release-bot:released:7 -->\nold"}]
    targets = [ReleasedTarget(n, tuple(x["name"] for x in fake.items[n]["labels"])) for n in (1, 2, 3)]
    done, remaining = notes_io.mark_released(
        client(), REPO, targets, milestone_number=7, release_url="https://r", tag="v1.4.0", bot_login=BOT,
        label="released", comment=True, already_done=set(), max_items=50)
    assert done == [1, 3] and not remaining
    assert len(fake.comments[1]) == 1 and len(fake.comments[3]) == 1  # #3 was commented before: not again
    assert "[v1.4.0](https://r)" in fake.comments[1][0]["body"]
    assert {x["name"] for x in fake.items[3]["labels"]} == {"released"}
    assert ("POST", f"/repos/{REPO}/issues/2/comments") not in fake.calls


def test_mark_released_limits_items_per_run(fake: FakeGitHub) -> None:
    for n in range(1, 6):
        fake.add_pr(n, "x")
    targets = [ReleasedTarget(n, ()) for n in range(1, 6)]
    done, remaining = notes_io.mark_released(
        client(), REPO, targets, milestone_number=7, release_url="u", tag="v1", bot_login=BOT,
        label="", comment=True, already_done={1}, max_items=2)
    assert done == [2, 3] and remaining
