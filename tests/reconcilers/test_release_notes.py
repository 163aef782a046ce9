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
from notes_fake import BOT, REPO, FakeGitHub, client  # noqa: E402

from bot.config.defaults import default_config  # noqa: E402
from bot.jobs import JobSpec  # noqa: E402
from bot.reconcilers.release_notes import apply_release_note_command, sync_release_notes  # noqa: E402


class Store:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get_state(self, name: str) -> Any:
        return self.data.get(name)

    def set_state(self, name: str, value: Any) -> None:
        self.data[name] = value


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


def facts(fake: FakeGitHub, *, branch: str | None = "release/1.4", **kw: Any) -> SimpleNamespace:
    base = dict(milestone_number=1, milestone_title="v1.4.0", release_branch=branch, default_branch="main",
                tag_names=set(fake.tags))
    base.update(kw)
    return SimpleNamespace(**base)


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
    outcome = sync_release_notes(make_ctx(), SimpleNamespace(milestone_number=1, milestone_title="1.4.0",
                                                             release_branch="release/1.4", default_branch="main"))
    assert outcome.included == [10, 11]
    scenario.tags.append("v1.4.0")
    sync_release_notes(make_ctx(include_issues=True), SimpleNamespace(
        milestone_number=1, milestone_title="1.4.0", release_branch="release/1.4", default_branch="main"))
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
    outcome = sync_release_notes(make_ctx(), facts(scenario, publish_allowed=False))
    (release,) = scenario.releases.values()
    assert release["draft"] and not outcome.published and scenario.comments == {}
    assert "target_commitish" not in release["_sent"]  # the tag exists: the release will sit on it
    outcome = sync_release_notes(make_ctx(), facts(scenario, publish_allowed=True))
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
    class Facts(SimpleNamespace):
        asked = 0

        @property
        def default_branch(self) -> str:  # ReleaseFacts reads it with a call: count the asks
            type(self).asked += 1
            return "main"

    sync_release_notes(make_ctx(), Facts(milestone_number=1, milestone_title="v1.4.0", release_branch="release/1.4",
                                         tag_names=set(scenario.tags)))
    assert Facts.asked == 0
