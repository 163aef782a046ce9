"""sync_release_notes and apply_release_note_command against a responses-backed fake of GitHub."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import responses

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "github"))
from memory_store import MemoryStore as Store  # noqa: E402
from notes_fake import BOT, REPO, FakeGitHub, client  # noqa: E402

from bot.config.defaults import default_config  # noqa: E402
from bot.core.versions import parse_version  # noqa: E402
from bot.github.notes_facts import NotesInputs  # noqa: E402
from bot.github.release_json import release_of  # noqa: E402
from bot.jobs import JobSpec  # noqa: E402
from bot.reconcilers.release_notes import apply_release_note_command, sync_release_notes  # noqa: E402

V140 = parse_version("1.4.0")
assert V140 is not None


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeGitHub()
        fake.install(mock)
        yield fake


def make_ctx(store: Store | None = None, **notes: Any) -> SimpleNamespace:
    config = default_config()
    config["notes"].update(notes)
    config["_sources"] = {"release_yml": None, "release_drafter_yml": None}
    enqueued: list[JobSpec] = []
    return SimpleNamespace(gh=client(), repo_full_name=REPO, bot_login=BOT, config=config, store=store or Store(),
                           enqueue=enqueued.extend, enqueued=enqueued,
                           job=JobSpec("release:42@1", 1, REPO, "test"))


def facts(fake: FakeGitHub, *, branch: str | None = "release/1.4",
          releases: list[dict[str, Any]] | None = None) -> NotesInputs:
    """What the release reconcile hands the notes: the tags it read, the branch, the default branch
    (the milestone's items are read by the notes here); a complete release listing when given."""
    return NotesInputs(milestone_number=1, version=V140, branch=branch, tag_names=frozenset(fake.tags),
                       default_branch="main",
                       releases=tuple(release_of(r) for r in releases) if releases is not None else None)


@pytest.fixture
def scenario(fake: FakeGitHub) -> FakeGitHub:
    """v1.3.0 released; milestone 1 (v1.4.0) has merged PRs on release/1.4, one merged to main only."""
    fake.tags = ["v1.3.0", "v1.2.0"]
    fake.add_pr(10, "Add boosters", labels=("feature",), author="alice")
    fake.add_pr(11, "Fix crash", labels=("bug",), author="bob",
                body="```release-note\nNo more crashes on launch.\n```")
    fake.add_pr(12, "Late feature merged to main", labels=("feature",))
    fake.add_pr(13, "Not merged yet", merged=False)
    fake.add_pr(14, "Closed without merging", merged=False)["state"] = "closed"
    fake.compares[("v1.3.0", "release/1.4")] = [fake.merge_commit(10), fake.merge_commit(11),
                                                 fake.merge_commit(20), {"sha": "s", "commit": {"message": "tidy"}}]
    fake.compares[("v1.3.0", "v1.4.0")] = fake.compares[("v1.3.0", "release/1.4")]
    return fake


def test_draft_built_from_what_ships(scenario: FakeGitHub) -> None:
    ctx = make_ctx()
    outcome = sync_release_notes(ctx, facts(scenario))
    assert outcome.writes == 1 and not outcome.published
    (release,) = scenario.releases.values()
    assert release["draft"] and release["tag_name"] == "v1.4.0" and release["target_commitish"] == "release/1.4"
    body = release["body"]
    assert body.startswith("<!-- release-bot:notes:1 -->")
    assert "### Features\n\n- Add boosters (#10) @alice" in body
    assert "- No more crashes on launch. (#11) @bob" in body
    assert "#12" not in body and "#13" not in body and "#14" not in body
    assert "compare/v1.3.0...v1.4.0" in body
    assert [p.number for p in outcome.not_on_branch] == [12]
    assert [(p.number, p.title) for p in outcome.off_milestone] == [(20, "x")]
    assert outcome.included == [10, 11]
    # Read budget: ceil(N/100) + ceil(C/250) + 8, here with tags and items from the facts.
    assert len(scenario.reads()) <= math.ceil(5 / 100) + math.ceil(4 / 250) + 8


def test_rebuild_without_changes_writes_nothing_even_from_an_empty_store(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    scenario.calls.clear()
    assert sync_release_notes(make_ctx(), facts(scenario)).writes == 0  # wiped store
    assert scenario.writes() == []
    store = Store()
    sync_release_notes(make_ctx(store), facts(scenario))
    scenario.calls.clear()
    sync_release_notes(make_ctx(store), facts(scenario))
    assert scenario.writes() == []
    assert len(scenario.reads()) <= 3  # items and tags come from the facts: compare + hinted release


def test_human_text_survives_and_demilestoned_pr_disappears(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    (release,) = scenario.releases.values()
    release["body"] = "Intro by a human.\n\n" + release["body"] + "\n\nOutro."
    scenario.items[10]["milestone"] = None
    outcome = sync_release_notes(make_ctx(), facts(scenario))
    assert outcome.writes == 1
    assert release["body"].startswith("Intro by a human.\n\n") and release["body"].endswith("\n\nOutro.")
    assert "#10" not in release["body"] and [p.number for p in outcome.off_milestone] == [10, 20]
    assert "target_commitish" not in release["_sent"]  # unchanged target is not sent


def test_target_follows_the_branch_once_it_exists(scenario: FakeGitHub) -> None:
    scenario.compares[("v1.3.0", "main")] = scenario.compares[("v1.3.0", "release/1.4")]
    sync_release_notes(make_ctx(), facts(scenario, branch=None))
    (release,) = scenario.releases.values()
    assert release["target_commitish"] == "main"
    sync_release_notes(make_ctx(), facts(scenario))
    assert release["_sent"].get("target_commitish") == "release/1.4"


def test_tag_publishes_the_draft_with_make_latest_and_marks_released_once(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    scenario.tags.append("v1.4.0")
    store = Store()
    outcome = sync_release_notes(make_ctx(store), facts(scenario))
    (release,) = scenario.releases.values()
    assert outcome.published and not release["draft"] and release["tag_name"] == "v1.4.0"
    assert release["_sent"]["make_latest"] == "true" and "target_commitish" not in release["_sent"]
    assert {n for n, c in scenario.comments.items() if c} == {10, 11}
    assert all(any(x["name"] == "released" for x in scenario.items[n]["labels"]) for n in (10, 11))
    assert 12 not in scenario.comments  # not on the branch: not released
    scenario.calls.clear()
    sync_release_notes(make_ctx(), facts(scenario))  # wiped store: labels say it is done
    assert scenario.writes() == []
    assert all(len(scenario.comments[n]) == 1 for n in (10, 11))


def test_older_version_is_not_made_latest(scenario: FakeGitHub) -> None:
    scenario.tags += ["v1.4.0", "v2.0.0"]
    sync_release_notes(make_ctx(), facts(scenario))
    (release,) = scenario.releases.values()
    assert not release["draft"] and release["_sent"]["make_latest"] == "false"


def test_release_someone_else_created_for_the_tag_is_updated_not_duplicated(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    scenario.tags.append("v1.4.0")
    theirs = scenario.add_release(tag_name="v1.4.0", name="Rocket 1.4", body="Hand-written intro.",
                                  author={"login": "releaser"}, target_commitish="release/1.4")
    outcome = sync_release_notes(make_ctx(), facts(scenario))
    assert list(scenario.releases) == [theirs["id"]]  # our draft is gone, theirs kept
    assert theirs["body"].startswith("Hand-written intro.\n\n<!-- release-bot:notes:1 -->")
    assert theirs["name"] == "Rocket 1.4" and outcome.release_id == theirs["id"]
    scenario.calls.clear()
    sync_release_notes(make_ctx(), facts(scenario))
    assert scenario.writes() == []


def test_prerelease_on_rc_tag_when_enabled(scenario: FakeGitHub) -> None:
    scenario.tags += ["v1.4.0-rc.1", "v1.4.0-rc.2"]
    outcome = sync_release_notes(make_ctx(prereleases=True), facts(scenario))
    rc = [r for r in scenario.releases.values() if r["tag_name"] == "v1.4.0-rc.2"]
    assert len(rc) == 1 and rc[0]["prerelease"] and not rc[0]["draft"] and outcome.prerelease_url
    assert "Add boosters" in rc[0]["body"] and "<!-- release-bot:notes:1:rc -->" in rc[0]["body"]
    assert sum(1 for r in scenario.releases.values() if r["draft"]) == 1
    scenario.calls.clear()
    sync_release_notes(make_ctx(prereleases=True), facts(scenario))
    assert scenario.writes() == []
    sync_release_notes(make_ctx(), facts(scenario))  # default off: no pre-release made
    assert len(scenario.releases) == 2


def test_template_errors_are_reported_not_raised(scenario: FakeGitHub) -> None:
    outcome = sync_release_notes(make_ctx(change_template="- $TITLE by $WHO"), facts(scenario))
    assert any("$WHO" in e for e in outcome.errors)
    assert "- Add boosters (#10) @alice" in next(iter(scenario.releases.values()))["body"]


def test_reads_facts_itself_when_not_given(scenario: FakeGitHub) -> None:
    tracking = scenario.add_pr(50, "Release v1.4.0", author=BOT, body="<!-- release-bot:tracking:1 -->")
    tracking.pop("pull_request")  # the bot's tracking issue, closed in the milestone: not a change
    outcome = sync_release_notes(make_ctx(), NotesInputs(milestone_number=1, version=V140, branch="release/1.4",
                                                         default_branch="main"))
    assert outcome.included == [10, 11]
    scenario.tags.append("v1.4.0")
    sync_release_notes(make_ctx(include_issues=True), NotesInputs(
        milestone_number=1, version=V140, branch="release/1.4", default_branch="main"))
    assert 50 not in scenario.comments and "Release v1.4.0" not in next(iter(scenario.releases.values()))["body"]


def test_first_release_without_previous_tag_leaves_out_main_only_prs(fake: FakeGitHub) -> None:
    fake.add_pr(1, "On the branch")
    fake.add_pr(2, "Merged to main after the cut")
    fake.compares[("release/1.4", "main")] = [fake.merge_commit(2)]
    outcome = sync_release_notes(make_ctx(), facts(fake))
    assert outcome.included == [1] and [p.number for p in outcome.not_on_branch] == [2]
    assert "Full changelog" not in next(iter(fake.releases.values()))["body"]


class TestReleaseNoteCommand:
    def comment(self, login: str, body: str, cid: int) -> dict[str, Any]:
        return {"id": cid, "body": body, "user": {"login": login}}

    def test_author_sets_the_note_and_replays_write_nothing(self, fake: FakeGitHub) -> None:
        fake.add_pr(5, "Title", author="dev", body="Description")
        ctx = make_ctx()
        assert apply_release_note_command(ctx, 5, self.comment("dev", "/release-note Faster boot.", 100)) is None
        assert fake.items[5]["body"].startswith("Description\n\n<!-- release-bot:release-note:100 -->")
        assert apply_release_note_command(ctx, 5, self.comment("dev", "/release-note Newer.", 101)) is None
        fake.calls.clear()
        assert apply_release_note_command(ctx, 5, self.comment("dev", "/release-note Faster boot.", 100)) is None
        assert fake.writes() == [] and "Newer." in fake.items[5]["body"]

    def test_others_need_the_release_manager_role(self, fake: FakeGitHub) -> None:
        fake.add_pr(5, "Title", author="dev", body="")
        fake.permissions.update({"qa": "write", "releaser": "maintain"})
        ctx = make_ctx()
        refusal = apply_release_note_command(ctx, 5, self.comment("qa", "/release-note nope", 1))
        assert refusal and "release manager" in refusal and fake.items[5]["body"] == ""
        assert apply_release_note_command(ctx, 5, self.comment("releaser", "/release-note ok", 2)) is None
        assert "ok" in fake.items[5]["body"]

    def test_no_command_no_call(self, fake: FakeGitHub) -> None:
        assert apply_release_note_command(make_ctx(), 5, self.comment("dev", "LGTM", 1)) is None
        assert fake.calls == []


def test_missing_ref_is_reported_and_notes_still_build(scenario: FakeGitHub) -> None:
    del scenario.compares[("v1.3.0", "release/1.4")]
    outcome = sync_release_notes(make_ctx(), facts(scenario))
    assert any("could not compare v1.3.0...release/1.4" in e for e in outcome.errors)
    assert sorted(outcome.included) == [10, 11, 12]  # the milestone alone decides when the graph cannot


def test_strict_mode_keeps_the_draft_until_publishing_is_allowed(scenario: FakeGitHub) -> None:
    scenario.tags.append("v1.4.0")
    outcome = sync_release_notes(make_ctx(), facts(scenario), publish_allowed=False)
    (release,) = scenario.releases.values()
    assert release["draft"] and not outcome.published and scenario.comments == {}
    assert "target_commitish" not in release["_sent"]  # the tag exists: the release will sit on it
    outcome = sync_release_notes(make_ctx(), facts(scenario), publish_allowed=True)
    assert outcome.published and not release["draft"]


def test_duplicate_drafts_of_a_race_are_removed(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    (first,) = scenario.releases.values()
    copy = scenario.add_release(**{k: v for k, v in first.items() if k not in ("id", "html_url", "_sent")})
    outcome = sync_release_notes(make_ctx(), facts(scenario))
    assert list(scenario.releases) == [first["id"]] and outcome.release_id == first["id"]
    assert copy["id"] not in scenario.releases


def test_complete_release_listing_in_facts_saves_reads(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    listing = [dict(r) for r in scenario.releases.values()]
    scenario.calls.clear()
    sync_release_notes(make_ctx(), facts(scenario, releases=listing))
    assert [p for _m, p in scenario.reads() if "/releases" in p] == []


def test_default_branch_is_not_asked_for_when_not_needed(scenario: FakeGitHub) -> None:
    # Not given: the notes read it (GET /repos/{o}/{r}) only when they need it — here they do not.
    outcome = sync_release_notes(make_ctx(), NotesInputs(milestone_number=1, version=V140, branch="release/1.4",
                                                         tag_names=frozenset(scenario.tags)))
    assert outcome.included == [10, 11]
    assert [p for _m, p in scenario.reads() if p.split("?")[0] == f"/repos/{REPO}"] == []


def chain(*commits: tuple[str, str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """Compare entries with parents: (sha, message, parents)."""
    return [{"sha": sha, "commit": {"message": msg}, "parents": [{"sha": p} for p in parents]}
            for sha, msg, parents in commits]


def test_rebase_merges_and_edited_squashes_ship_by_merge_commit_sha(fake: FakeGitHub) -> None:
    fake.tags = ["v1.3.0"]
    fake.add_pr(10, "Merged normally")
    fake.add_pr(11, "Rebase merged")["_merge_sha"] = "r2"  # GitHub: the last commit the rebase wrote
    fake.add_pr(12, "Squashed, message edited")["_merge_sha"] = "sq"
    fake.add_pr(13, "Rebase merged to main only")["_merge_sha"] = "elsewhere"
    fake.compares[("v1.3.0", "release/1.4")] = chain(
        ("t10", "topic work", ("base",)),
        ("m10", "Merge pull request #10 from acme/a\n\nMerged normally", ("base", "t10")),
        ("r1", "rebased 1", ("m10",)), ("r2", "rebased 2", ("r1",)),
        ("sq", "Squashed work, reworded by hand", ("r2",)),
    )
    store = Store()
    outcome = sync_release_notes(make_ctx(store), facts(fake))
    assert sorted(outcome.included) == [10, 11, 12] and [p.number for p in outcome.not_on_branch] == [13]
    assert sorted(p for _m, p in fake.reads() if "/pulls/" in p) == [f"/repos/{REPO}/pulls/{n}" for n in (11, 12, 13)]
    fake.calls.clear()
    outcome = sync_release_notes(make_ctx(store), facts(fake))  # SHAs remembered: no more pull reads
    assert sorted(outcome.included) == [10, 11, 12] and fake.writes() == []
    assert [p for _m, p in fake.reads() if "/pulls/" in p] == []


def test_pull_reads_are_capped_per_rebuild_and_continue_in_a_requeued_run(fake: FakeGitHub) -> None:
    fake.tags = ["v1.3.0"]
    shas = [f"r{n}" for n in range(1, 11)]
    for n, sha in enumerate(shas, start=1):
        fake.add_pr(n, f"Rebased {n}")["_merge_sha"] = sha
    fake.compares[("v1.3.0", "release/1.4")] = chain(
        *[(sha, f"commit {sha}", (shas[i - 1],) if i else ("base",)) for i, sha in enumerate(shas)])
    store = Store()
    ctx = make_ctx(store)
    outcome = sync_release_notes(ctx, facts(fake))
    pulls = [p for _m, p in fake.reads() if "/pulls/" in p]
    assert len(pulls) == 4 and len(outcome.included) == 4
    assert [j.reason for j in ctx.enqueued] == ["notes.merge-sha-continue"]
    # Within the budget even on the first rebuild: ceil(N/100) + ceil(C/250) + 8.
    assert len(fake.reads()) <= math.ceil(10 / 100) + math.ceil(10 / 250) + 8
    for _ in range(2):
        sync_release_notes(make_ctx(store), facts(fake))
    final = make_ctx(store)
    assert sorted(sync_release_notes(final, facts(fake)).included) == list(range(1, 11)) and final.enqueued == []


def test_human_text_of_our_draft_moves_to_the_release_someone_else_made(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    (draft,) = scenario.releases.values()
    draft["body"] = "Highlights written by a human.\n\n" + draft["body"] + "\n\nThanks to our testers."
    scenario.tags.append("v1.4.0")
    theirs = scenario.add_release(tag_name="v1.4.0", name="Rocket 1.4", body="Hand-written intro.",
                                  author={"login": "releaser"}, target_commitish="release/1.4")
    sync_release_notes(make_ctx(), facts(scenario))
    assert list(scenario.releases) == [theirs["id"]]
    body = theirs["body"]
    assert body.startswith("Hand-written intro.\n\nHighlights written by a human.\n\n<!-- release-bot:notes:1 -->")
    assert body.endswith("<!-- release-bot:notes-end:1 -->\n\nThanks to our testers.")
    assert body.count("Highlights written by a human.") == 1
    scenario.calls.clear()
    sync_release_notes(make_ctx(), facts(scenario))
    assert scenario.writes() == []


def test_name_and_tag_come_from_the_templates(fake: FakeGitHub) -> None:
    fake.tags = ["rocket-1.3.0"]
    fake.add_pr(10, "Add boosters", labels=("feature",))
    fake.compares[("rocket-1.3.0", "release/1.4")] = [fake.merge_commit(10)]
    ctx = make_ctx(name_template="Rocket {major}.{minor} ({version}) {0.__class__}", tag_template="rocket-{version}")
    ctx.config["releases"]["final_tag_pattern"] = "rocket-{version}"
    ctx.config["releases"]["rc_tag_pattern"] = "rocket-{version}-rc.{n}"
    outcome = sync_release_notes(ctx, facts(fake))
    (release,) = fake.releases.values()
    # Plain substitution: "{0.__class__}" stays literal text, never str.format.
    assert release["name"] == "Rocket 1.4 (1.4.0) {0.__class__}" and release["tag_name"] == "rocket-1.4.0"
    assert outcome.included == [10] and "compare/rocket-1.3.0...rocket-1.4.0" in release["body"]


def test_publishing_run_marks_released_without_reading_comments(scenario: FakeGitHub) -> None:
    sync_release_notes(make_ctx(), facts(scenario))
    scenario.tags.append("v1.4.0")
    scenario.calls.clear()
    outcome = sync_release_notes(make_ctx(), facts(scenario))
    assert outcome.published and outcome.published_now
    # Nothing can carry a "released" comment before the release is published: no reads for it,
    # so the publishing rebuild stays inside ceil(N/100) + ceil(C/250) + 8 reads.
    assert [p for _m, p in scenario.reads() if p.split("?")[0].endswith("/comments")] == []
    assert len(scenario.reads()) <= math.ceil(5 / 100) + math.ceil(4 / 250) + 8
    assert {n for n, c in scenario.comments.items() if c} == {10, 11}


def test_item_left_half_done_by_a_crash_is_checked_not_commented_twice(scenario: FakeGitHub) -> None:
    store = Store()
    sync_release_notes(make_ctx(store), facts(scenario))
    scenario.tags.append("v1.4.0")
    sync_release_notes(make_ctx(store), facts(scenario))
    # A crash between the comment and the label: the label is missing and the store forgot #10.
    scenario.items[10]["labels"] = [x for x in scenario.items[10]["labels"] if x["name"] != "released"]
    store.state[f"notes:released:{REPO}#1"] = [11]
    scenario.calls.clear()
    sync_release_notes(make_ctx(store), facts(scenario))
    assert len(scenario.comments[10]) == 1  # its comment was found: not posted again
    assert any(p.startswith(f"/repos/{REPO}/issues/10/comments") for _m, p in scenario.reads())
    assert any(x["name"] == "released" for x in scenario.items[10]["labels"])
