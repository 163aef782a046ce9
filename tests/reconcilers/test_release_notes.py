"""sync_release_notes and apply_release_note_command against the sandbox (real HTTP, real git history).

Each test builds a fresh repository through GitHub's API (tests/notes_world.py): pull requests are
merged as GitHub merges them (merge commits, squashes, rebases), so the comparison the notes read
is the one git gives; what the bot sent is seen on a spy around the App client's requester.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
from memory_store import MemoryStore as Store
from notes_world import NotesRepo
from world import BOT, World, ok

from bot.config.defaults import default_config
from bot.core.versions import parse_version
from bot.github import permissions
from bot.github.auth import GitHubApp
from bot.github.notes_facts import NotesInputs
from bot.github.release_json import release_of
from bot.jobs import JobSpec
from bot.reconcilers.context import JobContext
from bot.reconcilers.release_notes import apply_release_note_command, sync_release_notes

V140 = parse_version("1.4.0")
assert V140 is not None


@pytest.fixture
def w(sandbox_world: World, sandbox_app: GitHubApp) -> NotesRepo:
    permissions.clear_caches()
    return NotesRepo(sandbox_world, sandbox_app)


def make_ctx(w: NotesRepo, store: Store | None = None, **notes: Any) -> JobContext:
    config = default_config()
    config["notes"].update(notes)
    config["_sources"] = {"release_yml": None, "release_drafter_yml": None}
    enqueued: list[JobSpec] = []
    ctx = JobContext(job=JobSpec("release:42@1", 1, w.full, "test"), gh=w.gh, repo_full_name=w.full,
                     bot_login=BOT, app_id=1, config=config, config_error=None, store=store or Store(),
                     enqueue=enqueued.extend)
    ctx.enqueued = enqueued  # type: ignore[attr-defined]  # what the run asked to requeue
    return ctx


def tag_names(w: NotesRepo) -> frozenset[str]:
    refs = w.repo.get("/git/matching-refs/tags", per_page=100)
    return frozenset(r["ref"].removeprefix("refs/tags/") for r in refs)


def facts(w: NotesRepo, *, branch: str | None = "release/1.4",
          releases: list[dict[str, Any]] | None = None) -> NotesInputs:
    """What the release reconcile hands the notes: the tags it read, the branch, the default branch
    (the milestone's items are read by the notes here); a complete release listing when given."""
    return NotesInputs(milestone_number=1, version=V140, branch=branch, tag_names=tag_names(w),
                       default_branch="main",
                       releases=tuple(release_of(r) for r in releases) if releases is not None else None)


class Scenario(SimpleNamespace):
    w: NotesRepo
    boosters: int
    crash: int
    late: int
    unmerged: int
    closed: int
    off: int


@pytest.fixture
def scenario(w: NotesRepo) -> Scenario:
    """v1.3.0 released; milestone 1 (v1.4.0) has merged PRs on release/1.4, one merged to main only."""
    w.tag("v1.2.0")
    w.commit("main")
    w.tag("v1.3.0")
    w.repo.branch("release/1.4")
    assert w.repo.milestone("v1.4.0") == 1
    s = Scenario(w=w)
    s.boosters = w.pull("Add boosters", labels=("feature",), author="qa")
    s.crash = w.pull("Fix crash", labels=("bug",), author="releaser",
                     body="```release-note\nNo more crashes on launch.\n```")
    s.late = w.pull("Late feature merged to main", base="main", labels=("feature",))
    s.unmerged = w.pull("Not merged yet", merged=False)
    s.closed = w.pull("Closed without merging", merged=False)
    w.close(s.closed)
    s.off = w.pull("x", milestone=None)  # merged into the branch without the milestone
    w.commit("release/1.4", "tidy")  # a direct push: no pull request says it
    return s


def items_with_bot_comments(s: Scenario) -> set[int]:
    numbers = (s.boosters, s.crash, s.late, s.unmerged, s.closed, s.off)
    return {n for n in numbers if s.w.bot_comments(n)}


def test_draft_built_from_what_ships(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    w.mark()
    outcome = sync_release_notes(make_ctx(w), facts(w))
    assert outcome.writes == 1 and not outcome.published
    release = w.only_release()
    assert release["draft"] and release["tag_name"] == "v1.4.0" and release["target_commitish"] == "release/1.4"
    body = release["body"]
    assert body.startswith("<!-- release-bot:notes:1 -->")
    assert f"### Features\n\n- Add boosters (#{s.boosters}) @qa" in body
    assert f"- No more crashes on launch. (#{s.crash}) @releaser" in body
    assert f"#{s.late}" not in body and f"#{s.unmerged}" not in body and f"#{s.closed}" not in body
    assert "compare/v1.3.0...v1.4.0" in body
    assert [p.number for p in outcome.not_on_branch] == [s.late]
    assert [(p.number, p.title) for p in outcome.off_milestone] == [(s.off, "x")]
    assert outcome.included == [s.boosters, s.crash]
    # Read budget: ceil(N/100) + ceil(C/250) + 8, here with tags from the facts.
    assert len(w.reads()) <= math.ceil(5 / 100) + math.ceil(8 / 250) + 8


def test_rebuild_without_changes_writes_nothing_even_from_an_empty_store(scenario: Scenario) -> None:
    w = scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    w.mark()
    assert sync_release_notes(make_ctx(w), facts(w)).writes == 0  # wiped store
    assert w.writes() == []
    store = Store()
    sync_release_notes(make_ctx(w, store), facts(w))
    w.mark()
    sync_release_notes(make_ctx(w, store), facts(w))
    assert w.writes() == []
    assert len(w.reads()) <= 3  # tags come from the facts: items + compare + hinted release


def test_human_text_survives_and_demilestoned_pr_disappears(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    release = w.only_release()
    w.edit_release(release["id"], body="Intro by a human.\n\n" + release["body"] + "\n\nOutro.")
    w.repo.set_milestone(s.boosters, None)
    w.mark()
    outcome = sync_release_notes(make_ctx(w), facts(w))
    assert outcome.writes == 1
    body = w.only_release()["body"]
    assert body.startswith("Intro by a human.\n\n") and body.endswith("\n\nOutro.")
    assert f"#{s.boosters}" not in body and [p.number for p in outcome.off_milestone] == [s.boosters, s.off]
    assert "target_commitish" not in w.gh.last_release_write()  # unchanged target is not sent


def test_target_follows_the_branch_once_it_exists(scenario: Scenario) -> None:
    w = scenario.w
    sync_release_notes(make_ctx(w), facts(w, branch=None))
    assert w.only_release()["target_commitish"] == "main"
    sync_release_notes(make_ctx(w), facts(w))
    assert w.gh.last_release_write().get("target_commitish") == "release/1.4"


def test_tag_publishes_the_draft_with_make_latest_and_marks_released_once(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    w.tag("v1.4.0", on="release/1.4")
    store = Store()
    w.mark()
    outcome = sync_release_notes(make_ctx(w, store), facts(w))
    release = w.only_release()
    assert outcome.published and not release["draft"] and release["tag_name"] == "v1.4.0"
    sent = w.sent_where(lambda verb, url: verb == "PATCH" and "/releases/" in url)[0][2]
    assert sent["make_latest"] == "true" and "target_commitish" not in sent
    assert items_with_bot_comments(s) == {s.boosters, s.crash}
    assert all("released" in w.labels(n) for n in (s.boosters, s.crash))
    assert not w.bot_comments(s.late)  # not on the branch: not released
    w.mark()
    sync_release_notes(make_ctx(w), facts(w))  # wiped store: labels say it is done
    assert w.writes() == []
    assert all(len(w.bot_comments(n)) == 1 for n in (s.boosters, s.crash))


def test_older_version_is_not_made_latest(scenario: Scenario) -> None:
    w = scenario.w
    w.tag("v1.4.0", on="release/1.4")
    w.tag("v2.0.0")
    sync_release_notes(make_ctx(w), facts(w))
    release = w.only_release()
    assert not release["draft"] and w.gh.last_release_write()["make_latest"] == "false"


def test_release_someone_else_created_for_the_tag_is_updated_not_duplicated(scenario: Scenario) -> None:
    w = scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    w.tag("v1.4.0", on="release/1.4")
    theirs = w.release(tag_name="v1.4.0", name="Rocket 1.4", body="Hand-written intro.",
                       target_commitish="release/1.4")
    outcome = sync_release_notes(make_ctx(w), facts(w))
    assert [r["id"] for r in w.releases()] == [theirs["id"]]  # our draft is gone, theirs kept
    kept = w.only_release()
    assert kept["body"].startswith("Hand-written intro.\n\n<!-- release-bot:notes:1 -->")
    assert kept["name"] == "Rocket 1.4" and outcome.release_id == theirs["id"]
    w.mark()
    sync_release_notes(make_ctx(w), facts(w))
    assert w.writes() == []


def test_prerelease_on_rc_tag_when_enabled(scenario: Scenario) -> None:
    w = scenario.w
    w.tag("v1.4.0-rc.1", on="release/1.4")
    w.tag("v1.4.0-rc.2", on="release/1.4")
    outcome = sync_release_notes(make_ctx(w, prereleases=True), facts(w))
    rc = [r for r in w.releases() if r["tag_name"] == "v1.4.0-rc.2"]
    assert len(rc) == 1 and rc[0]["prerelease"] and not rc[0]["draft"] and outcome.prerelease_url
    assert "Add boosters" in rc[0]["body"] and "<!-- release-bot:notes:1:rc -->" in rc[0]["body"]
    assert sum(1 for r in w.releases() if r["draft"]) == 1
    w.mark()
    sync_release_notes(make_ctx(w, prereleases=True), facts(w))
    assert w.writes() == []
    sync_release_notes(make_ctx(w), facts(w))  # default off: no pre-release made
    assert len(w.releases()) == 2


def test_template_errors_are_reported_not_raised(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    outcome = sync_release_notes(make_ctx(w, change_template="- $TITLE by $WHO"), facts(w))
    assert any("$WHO" in e for e in outcome.errors)
    assert f"- Add boosters (#{s.boosters}) @qa" in w.only_release()["body"]


def test_reads_facts_itself_when_not_given(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    # The bot's tracking issue, closed in the milestone: not a change of the release.
    _h, issue = w.gh.requester.requestJsonAndCheck("POST", w.path("/issues"), input={
        "title": "Release v1.4.0", "body": "<!-- release-bot:tracking:1 -->", "milestone": 1})
    w.gh.requester.requestJsonAndCheck("PATCH", w.path(f"/issues/{issue['number']}"), input={"state": "closed"})
    outcome = sync_release_notes(make_ctx(w), NotesInputs(milestone_number=1, version=V140, branch="release/1.4",
                                                          default_branch="main"))
    assert outcome.included == [s.boosters, s.crash]
    w.tag("v1.4.0", on="release/1.4")
    sync_release_notes(make_ctx(w, include_issues=True), NotesInputs(
        milestone_number=1, version=V140, branch="release/1.4", default_branch="main"))
    assert w.comments(issue["number"]) == [] and "Release v1.4.0" not in w.only_release()["body"]


def test_first_release_without_previous_tag_leaves_out_main_only_prs(w: NotesRepo) -> None:
    w.repo.branch("release/1.4")
    assert w.repo.milestone("v1.4.0") == 1
    on_branch = w.pull("On the branch")
    after_cut = w.pull("Merged to main after the cut", base="main")
    outcome = sync_release_notes(make_ctx(w), facts(w))
    assert outcome.included == [on_branch] and [p.number for p in outcome.not_on_branch] == [after_cut]
    assert "Full changelog" not in w.only_release()["body"]


class TestReleaseNoteCommand:
    def comment(self, login: str, body: str, cid: int) -> dict[str, Any]:
        return {"id": cid, "body": body, "user": {"login": login}}

    def pr(self, w: NotesRepo, body: str) -> int:
        w.repo.branch("release/1.4")
        return w.pull("Title", author="dev", body=body, merged=False, milestone=None)

    def test_author_sets_the_note_and_replays_write_nothing(self, w: NotesRepo) -> None:
        number = self.pr(w, "Description")
        ctx = make_ctx(w)
        assert apply_release_note_command(ctx, number, self.comment("dev", "/release-note Faster boot.", 100)) is None
        assert w.issue(number)["body"].startswith("Description\n\n<!-- release-bot:release-note:100 -->")
        assert apply_release_note_command(ctx, number, self.comment("dev", "/release-note Newer.", 101)) is None
        w.mark()
        assert apply_release_note_command(ctx, number, self.comment("dev", "/release-note Faster boot.", 100)) is None
        assert w.writes() == [] and "Newer." in w.issue(number)["body"]

    def test_others_need_the_release_manager_role(self, w: NotesRepo) -> None:
        number = self.pr(w, "")
        ctx = make_ctx(w)  # the sandbox's people: qa has write, releaser maintain
        refusal = apply_release_note_command(ctx, number, self.comment("qa", "/release-note nope", 1))
        assert refusal and "release manager" in refusal and (w.issue(number)["body"] or "") == ""
        assert apply_release_note_command(ctx, number, self.comment("releaser", "/release-note ok", 2)) is None
        assert "ok" in w.issue(number)["body"]

    def test_its_refusal_and_help_come_from_the_registry(self, w: NotesRepo) -> None:
        number = self.pr(w, "")
        ctx = make_ctx(w)
        refusal = apply_release_note_command(ctx, number, self.comment("qa", "/release-note nope", 1))
        assert refusal == (
            "@qa `/release-note` may only be run by the author of this pull request or release managers "
            "(people with maintain permission or above on the repository); nothing changed."
        )
        empty = apply_release_note_command(ctx, number, self.comment("dev", "/release-note   ", 2))
        assert empty is not None and empty.startswith("Nothing to set: `/release-note <text>` sets")
        assert "`/release-note NONE` leaves it out." in empty

    def test_no_command_no_call(self, w: NotesRepo) -> None:
        w.mark()
        assert apply_release_note_command(make_ctx(w), 5, self.comment("dev", "LGTM", 1)) is None
        assert w.gh.sent == [] and w.requests() == []


def test_missing_ref_is_reported_and_notes_still_build(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    inputs = facts(w)
    ok(w.api().delete(w.path("/git/refs/tags/v1.3.0")))  # the tag vanishes between the reads
    outcome = sync_release_notes(make_ctx(w), inputs)
    assert any("could not compare v1.3.0...release/1.4" in e for e in outcome.errors)
    # The milestone alone decides when the graph cannot.
    assert sorted(outcome.included) == sorted([s.boosters, s.crash, s.late])


def test_strict_mode_keeps_the_draft_until_publishing_is_allowed(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    w.tag("v1.4.0", on="release/1.4")
    outcome = sync_release_notes(make_ctx(w), facts(w), publish_allowed=False)
    release = w.only_release()
    assert release["draft"] and not outcome.published and items_with_bot_comments(s) == set()
    assert "target_commitish" not in w.gh.last_release_write()  # the tag exists: the release will sit on it
    outcome = sync_release_notes(make_ctx(w), facts(w), publish_allowed=True)
    assert outcome.published and not w.only_release()["draft"]


def test_duplicate_drafts_of_a_race_are_removed(scenario: Scenario) -> None:
    w = scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    first = w.only_release()
    # A second draft the bot wrote in a race (same tag, same section).
    _h, copy = w.gh.requester.requestJsonAndCheck("POST", w.path("/releases"), input={
        k: first[k] for k in ("tag_name", "name", "body", "draft", "prerelease", "target_commitish")})
    outcome = sync_release_notes(make_ctx(w), facts(w))
    assert [r["id"] for r in w.releases()] == [first["id"]] and outcome.release_id == first["id"]
    assert copy["id"] != first["id"]


def test_complete_release_listing_in_facts_saves_reads(scenario: Scenario) -> None:
    w = scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    listing = w.releases()
    w.mark()
    sync_release_notes(make_ctx(w), facts(w, releases=listing))
    assert [p for _m, p in w.reads() if "/releases" in p] == []


def test_default_branch_is_not_asked_for_when_not_needed(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    # Not given: the notes read it (GET /repos/{o}/{r}) only when they need it — here they do not.
    w.mark()
    outcome = sync_release_notes(make_ctx(w), NotesInputs(milestone_number=1, version=V140, branch="release/1.4",
                                                          tag_names=tag_names(w)))
    assert outcome.included == [s.boosters, s.crash]
    assert [p for _m, p in w.reads() if p == f"/repos/{w.full}"] == []


def test_rebase_merges_and_edited_squashes_ship_by_merge_commit_sha(w: NotesRepo) -> None:
    w.tag("v1.3.0")
    w.repo.branch("release/1.4")
    assert w.repo.milestone("v1.4.0") == 1
    normal = w.pull("Merged normally")
    rebased = w.pull("Rebase merged", method="rebase", commits=2)  # GitHub: the last commit the rebase wrote
    squashed = w.pull("Squashed, message edited", method="squash", commit_title="Squashed work, reworded by hand")
    elsewhere = w.pull("Rebase merged to main only", base="main", method="rebase")
    store = Store()
    w.mark()
    outcome = sync_release_notes(make_ctx(w, store), facts(w))
    assert sorted(outcome.included) == sorted([normal, rebased, squashed])
    assert [p.number for p in outcome.not_on_branch] == [elsewhere]
    assert sorted(p for _m, p in w.reads() if "/pulls/" in p) == sorted(
        f"/repos/{w.full}/pulls/{n}" for n in (rebased, squashed, elsewhere))
    w.mark()
    outcome = sync_release_notes(make_ctx(w, store), facts(w))  # SHAs remembered: no more pull reads
    assert sorted(outcome.included) == sorted([normal, rebased, squashed]) and w.writes() == []
    assert [p for _m, p in w.reads() if "/pulls/" in p] == []


def test_pull_reads_are_capped_per_rebuild_and_continue_in_a_requeued_run(w: NotesRepo) -> None:
    w.tag("v1.3.0")
    w.repo.branch("release/1.4")
    assert w.repo.milestone("v1.4.0") == 1
    numbers = [w.pull(f"Rebased {n}", method="rebase") for n in range(1, 11)]
    store = Store()
    ctx = make_ctx(w, store)
    w.mark()
    outcome = sync_release_notes(ctx, facts(w))
    pulls = [p for _m, p in w.reads() if "/pulls/" in p]
    assert len(pulls) == 4 and len(outcome.included) == 4
    assert [j.reason for j in ctx.enqueued] == ["notes.merge-sha-continue"]
    # Within the budget even on the first rebuild: ceil(N/100) + ceil(C/250) + 8.
    assert len(w.reads()) <= math.ceil(10 / 100) + math.ceil(10 / 250) + 8
    for _ in range(2):
        sync_release_notes(make_ctx(w, store), facts(w))
    final = make_ctx(w, store)
    assert sorted(sync_release_notes(final, facts(w)).included) == numbers and final.enqueued == []


def test_human_text_of_our_draft_moves_to_the_release_someone_else_made(scenario: Scenario) -> None:
    w = scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    draft = w.only_release()
    w.edit_release(draft["id"], body="Highlights written by a human.\n\n" + draft["body"] + "\n\nThanks to our testers.")
    w.tag("v1.4.0", on="release/1.4")
    theirs = w.release(tag_name="v1.4.0", name="Rocket 1.4", body="Hand-written intro.",
                       target_commitish="release/1.4")
    sync_release_notes(make_ctx(w), facts(w))
    assert [r["id"] for r in w.releases()] == [theirs["id"]]
    body = w.only_release()["body"]
    assert body.startswith("Hand-written intro.\n\nHighlights written by a human.\n\n<!-- release-bot:notes:1 -->")
    assert body.endswith("<!-- release-bot:notes-end:1 -->\n\nThanks to our testers.")
    assert body.count("Highlights written by a human.") == 1
    w.mark()
    sync_release_notes(make_ctx(w), facts(w))
    assert w.writes() == []


def test_name_and_tag_come_from_the_templates(w: NotesRepo) -> None:
    w.tag("rocket-1.3.0")
    w.repo.branch("release/1.4")
    assert w.repo.milestone("v1.4.0") == 1
    boosters = w.pull("Add boosters", labels=("feature",))
    ctx = make_ctx(w, name_template="Rocket {major}.{minor} ({version}) {0.__class__}",
                   tag_template="rocket-{version}")
    ctx.config["releases"]["final_tag_pattern"] = "rocket-{version}"
    ctx.config["releases"]["rc_tag_pattern"] = "rocket-{version}-rc.{n}"
    outcome = sync_release_notes(ctx, facts(w))
    release = w.only_release()
    # Plain substitution: "{0.__class__}" stays literal text, never str.format.
    assert release["name"] == "Rocket 1.4 (1.4.0) {0.__class__}" and release["tag_name"] == "rocket-1.4.0"
    assert outcome.included == [boosters] and "compare/rocket-1.3.0...rocket-1.4.0" in release["body"]


def test_publishing_run_marks_released_without_reading_comments(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    sync_release_notes(make_ctx(w), facts(w))
    w.tag("v1.4.0", on="release/1.4")
    w.mark()
    outcome = sync_release_notes(make_ctx(w), facts(w))
    assert outcome.published and outcome.published_now
    # Nothing can carry a "released" comment before the release is published: no reads for it,
    # so the publishing rebuild stays inside ceil(N/100) + ceil(C/250) + 8 reads.
    assert [p for _m, p in w.reads() if p.endswith("/comments")] == []
    assert len(w.reads()) <= math.ceil(5 / 100) + math.ceil(8 / 250) + 8
    assert items_with_bot_comments(s) == {s.boosters, s.crash}


def test_item_left_half_done_by_a_crash_is_checked_not_commented_twice(scenario: Scenario) -> None:
    s, w = scenario, scenario.w
    store = Store()
    sync_release_notes(make_ctx(w, store), facts(w))
    w.tag("v1.4.0", on="release/1.4")
    sync_release_notes(make_ctx(w, store), facts(w))
    # A crash between the comment and the label: the label is missing and the store forgot it.
    w.remove_label(s.boosters, "released")
    store.state[f"notes:released:{w.full}#1"] = [s.crash]
    w.mark()
    sync_release_notes(make_ctx(w, store), facts(w))
    assert len(w.bot_comments(s.boosters)) == 1  # its comment was found: not posted again
    assert any(p == f"/repos/{w.full}/issues/{s.boosters}/comments" for _m, p in w.reads())
    assert "released" in w.labels(s.boosters)
