"""Adapter tests of bot.github.notes_io against the sandbox (real HTTP): paging, finding the bot's
release, re-reading before an update, marking items released once."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from notes_world import NotesRepo
from world import BOT, World, ok

from bot.core.release_types import Release
from bot.github import notes_io, permissions
from bot.github.auth import GitHubApp
from bot.github.notes_io import DesiredRelease, ReleasedTarget, ReleaseRecord


@pytest.fixture
def w(sandbox_world: World, sandbox_app: GitHubApp) -> NotesRepo:
    permissions.clear_caches()
    return NotesRepo(sandbox_world, sandbox_app)


def record(**kw: object) -> ReleaseRecord:
    base = dict(
        id=1,
        tag_name="v1.4.0",
        name="v1.4.0",
        body="b",
        draft=True,
        prerelease=False,
        target_commitish="release/1.4",
        author=BOT,
        html_url="u",
    )
    base.update(kw)
    return ReleaseRecord(**base)  # type: ignore[arg-type]


def gets(w: NotesRepo, part: str) -> list[str]:
    """The GETs the bot sent whose URL has ``part``, each with its query as sent."""
    return [
        f"{url}?{urlencode(query)}" if query else url
        for url, query, _body in w.sent_where(lambda verb, url: verb == "GET" and part in url)
    ]


def marker(milestone: int) -> str:
    return f"<!-- release-bot:notes:{milestone} -->\nnotes\n<!-- release-bot:notes-end:{milestone} -->"


def bot_release(w: NotesRepo, **fields: object) -> dict[str, object]:
    """A release the bot itself wrote (the App's client)."""
    _h, data = w.gh.requester.requestJsonAndCheck("POST", w.path("/releases"), input=fields)
    return data


def test_milestone_items_are_listed_closed_100_per_page(w: NotesRepo) -> None:
    milestone = w.repo.milestone("v1.4.0")
    numbers = []
    for n in range(1, 251):
        number = w.repo.issue(f"Item {n}", milestone=milestone)
        w.close(number)
        numbers.append(number)
    w.repo.issue("open one", milestone=milestone)
    seen: list[int] = []
    w.mark()
    items = notes_io.list_milestone_items(
        w.gh, w.full, milestone, on_page=lambda done, total: seen.append(done)
    )
    assert [i["number"] for i in items] == numbers
    assert seen == [100, 200, 250]
    sent = gets(w, "/issues")
    assert len(sent) == 3 and len(w.reads()) == 3
    assert all(
        f"milestone={milestone}" in url and "state=closed" in url and "per_page=100" in url for url in sent
    )


def test_compare_pages_250_and_stops_on_total(w: NotesRepo) -> None:
    w.tag("v1.3.0")
    tip = w.repo.head("main")
    tree = w.repo.get(f"/git/commits/{tip}")["tree"]["sha"]
    for n in range(500):
        tip = ok(
            w.api().post(
                w.path("/git/commits"),
                json={
                    "message": f"Merge pull request #{n} from acme/b{n}\n\nx",
                    "tree": tree,
                    "parents": [tip],
                },
            )
        )["sha"]
    ok(w.api().post(w.path("/git/refs"), json={"ref": "refs/heads/release/1.4", "sha": tip}))
    w.mark()
    commits = notes_io.compare_commits(w.gh, w.full, "v1.3.0", "release/1.4")
    assert len(commits) == 500 and commits[7].message.startswith("Merge pull request #7 ")
    sent = gets(w, "/compare/")
    assert len(sent) == 2 and len(w.reads()) == 2  # exactly ceil(500/250): no empty third page
    assert all("per_page=250" in url for url in sent)
    assert "/compare/v1.3.0...release%2F1.4" in sent[0]


def test_tags_come_from_matching_refs(w: NotesRepo) -> None:
    for name in ("v1.3.0", "v1.4.0-rc.1", "other"):
        w.tag(name)
    assert notes_io.list_tag_names(w.gh, w.full) == ["other", "v1.3.0", "v1.4.0-rc.1"]  # as GitHub sorts refs


def test_find_by_marker_written_by_the_bot_not_first_draft(w: NotesRepo) -> None:
    w.tag("v1.3.0")
    w.tag("v1.4.0")
    ours = bot_release(w, draft=True, body=marker(7), tag_name="v1.4.0")
    w.release("dev", draft=True, body=marker(7), tag_name="v1.4.0")  # forged marker
    bot_release(w, draft=True, body="somebody's draft", tag_name="v1.4.0")  # the "first draft"
    # the bot's own published notes of another version, with this milestone's marker pasted in
    bot_release(w, draft=False, body=marker(7), tag_name="v1.3.0")
    found, dups = notes_io.find_notes_release(w.gh, w.full, 7, BOT, tag="v1.4.0")
    assert found is not None and found.id == ours["id"] and dups == []


def test_stale_hint_falls_back_to_the_listing(w: NotesRepo) -> None:
    ours = bot_release(w, draft=True, tag_name="v1.4.0", body=marker(7))
    found, _ = notes_io.find_notes_release(w.gh, w.full, 7, BOT, tag="v1.4.0", hint_id=424242)
    assert found is not None and found.id == ours["id"]
    w.mark()
    found, _ = notes_io.find_notes_release(w.gh, w.full, 7, BOT, tag="v1.4.0", hint_id=int(str(ours["id"])))
    assert found is not None and len(w.reads()) == 1  # the hint alone


def test_duplicate_drafts_are_reported_oldest_wins(w: NotesRepo) -> None:
    body = "<!-- release-bot:notes:7 -->\nx"
    first = bot_release(w, draft=True, body=body, tag_name="v1.4.0")
    second = bot_release(w, draft=True, body=body, tag_name="v1.4.0")
    found, dups = notes_io.find_notes_release(w.gh, w.full, 7, BOT, tag="v1.4.0")
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

    def test_the_record_is_the_release_fact(self) -> None:
        assert ReleaseRecord is Release and record().published_at is None


def test_update_rereads_and_keeps_text_written_meanwhile(w: NotesRepo) -> None:
    w.repo.branch("release/1.4")
    release = bot_release(
        w, draft=True, tag_name="v1.4.0", name="v1.4.0", target_commitish="release/1.4", body="old"
    )
    w.edit_release(int(str(release["id"])), body="edited by a human just now")
    desired = DesiredRelease("v1.4.0", "v1.4.0", True, False, "release/1.4", None)
    w.mark()
    updated, patch = notes_io.update_release(
        w.gh, w.full, int(str(release["id"])), desired, lambda cur: cur + "\n+notes"
    )
    assert patch == {"body": "edited by a human just now\n+notes"}
    assert updated is not None and w.requests()[0] == ("GET", f"/repos/{w.full}/releases/{release['id']}")
    w.mark()
    _u, patch = notes_io.update_release(w.gh, w.full, int(str(release["id"])), desired, lambda cur: cur)
    assert patch == {} and w.writes() == []


def test_mark_released_once_each(w: NotesRepo) -> None:
    one, two, three = (w.repo.issue(title) for title in ("a", "b", "c"))
    w.repo.label(two, "admin", "released")
    w.gh.requester.requestJsonAndCheck(
        "POST", w.path(f"/issues/{three}/comments"), input={"body": "<!-- release-bot:released:7 -->\nold"}
    )
    targets = [ReleasedTarget(n, tuple(w.labels(n))) for n in (one, two, three)]
    w.mark()
    done, remaining = notes_io.mark_released(
        w.gh,
        w.full,
        targets,
        milestone_number=7,
        release_url="https://r",
        tag="v1.4.0",
        bot_login=BOT,
        label="released",
        comment=True,
        already_done=set(),
        max_items=50,
    )
    assert done == [one, three] and not remaining
    assert len(w.comments(one)) == 1 and len(w.comments(three)) == 1  # #3 was commented before: not again
    assert "[v1.4.0](https://r)" in w.comments(one)[0]["body"]
    assert w.labels(three) == {"released"}
    assert ("POST", f"/repos/{w.full}/issues/{two}/comments") not in w.requests()


def test_mark_released_limits_items_per_run(w: NotesRepo) -> None:
    numbers = [w.repo.issue("x") for _ in range(5)]
    targets = [ReleasedTarget(n, ()) for n in numbers]
    done, remaining = notes_io.mark_released(
        w.gh,
        w.full,
        targets,
        milestone_number=7,
        release_url="u",
        tag="v1",
        bot_login=BOT,
        label="",
        comment=True,
        already_done={numbers[0]},
        max_items=2,
    )
    assert done == numbers[1:3] and remaining
