"""The release plan as tables, without I/O: facts and recorded state in, every write of a run out.

Stages (what begins, which stage comments are due), commands (roles looked up first, refusals
naming the rule, edited comments), carry-over (where open items go, the reads it needs), and
publishing (strict mode withholds it before Deploy; duplicates keep one owner of the notes).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config.defaults import default_config
from bot.config.repo_config import RepoConfig
from bot.core.release_commands import EDITED_REPLY
from bot.core.release_plan import ReleasePlan, RunInputs, plan_deleted, plan_release, record_json
from bot.core.release_types import (
    Comment,
    Deployment,
    Item,
    Milestone,
    RecordFacts,
    ReleaseFacts,
    RoleAnswer,
    Tag,
    Wants,
)
from bot.core.release_view import CarryOverMove, ReleaseSettings
from bot.core.stages import (
    BUILD_TEST,
    DEPLOY,
    FUTURE_PLANNING,
    IDENTIFY_NEEDS,
    MONITOR,
    PLAN,
    PREPARE,
    UAT,
    StageRecord,
    UatVerdict,
)
from bot.core.tracking import TrackingState
from bot.core.versions import ReleaseConventions

BOT = "release-bot[bot]"
REPO = "acme/rocket"
TODAY = "2026-11-26"
CREATED = datetime(2026, 11, 1, 10, tzinfo=UTC)
RUN = RunInputs(bot_login=BOT)


def settings(**releases: object) -> ReleaseSettings:
    config = default_config()
    config["releases"].update(releases)
    return RepoConfig.from_mapping(config, "acme").release_settings()


AGILE = settings()
STRICT_MODE = settings(mode="strict")


def milestone(
    number: int = 1, title: str = "v1.4.0", *, state: str = "open", due: str | None = None
) -> Milestone:
    return Milestone(
        number,
        title,
        state,
        due_on_text=due,
        created_at=CREATED,
        html_url=f"https://github.com/{REPO}/milestone/{number}",
    )


def tracking_issue(number: int = 90, title: str = "Release v1.4.0") -> Item:
    return Item(
        number,
        title=title,
        body="<!-- release-bot:tracking:1 -->",
        author=BOT,
        author_type="Bot",
        labels=("release-tracking",),
        milestone=milestone(),
    )


def comment(cid: int, body: str, author: str = "qa", at: str = "2026-11-26T05:00:00Z") -> Comment:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return Comment(cid, body, author, "User", moment, moment, at, at)


def facts(
    *,
    ms: Milestone | None = None,
    tags: tuple[str, ...] = (),
    branch: bool = False,
    state: TrackingState | None = None,
    tracking: Item | None = None,
    comments: tuple[Comment, ...] = (),
    items: tuple[Item, ...] = (),
    others: tuple[Milestone, ...] = (),
    **kw: object,
) -> ReleaseFacts:
    ms = ms or milestone()
    record = RecordFacts(7, state, record_json(state)) if state is not None else None
    return ReleaseFacts(
        repo_full_name=REPO,
        milestone_number=ms.number,
        milestone=ms,
        conventions=ReleaseConventions(),
        bot_login=BOT,
        open_milestones=(ms, *others) if ms.open else others,
        all_items=items,
        tracking_issue=tracking,
        record=record,
        tracking_comments=comments,
        tags=tuple(Tag(t) for t in tags),
        branch_name="release/1.4",
        branch_sha="b" * 40 if branch else None,
        **kw,  # type: ignore[arg-type]
    )


def plan(f: ReleaseFacts, config: ReleaseSettings = AGILE, run: RunInputs = RUN) -> ReleasePlan:
    state = f.record.state if f.record is not None else TrackingState()
    planned = plan_release(f, state, config, TODAY, run)
    assert isinstance(planned, ReleasePlan), planned
    return planned


def recorded(current: str, *began: str, **kw: object) -> TrackingState:
    stages = StageRecord(current=current, began={s: "2026-11-20" for s in began}, **kw)  # type: ignore[arg-type]
    return TrackingState(stages=stages, posted=began, comments_seen="2026-11-26T00:00:00Z")


# -- stages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "kw", "stage", "comments"),
    [
        ("a new milestone", {}, IDENTIFY_NEEDS, [IDENTIFY_NEEDS]),
        ("a due date", {"ms": milestone(due="2026-12-01T08:00:00Z")}, PLAN, [IDENTIFY_NEEDS, PLAN]),
        ("an existing branch (patch release)", {"branch": True}, BUILD_TEST, [IDENTIFY_NEEDS, BUILD_TEST]),
        (
            "a candidate tag",
            {"branch": True, "tags": ("v1.4.0-rc.1",)},
            UAT,
            [IDENTIFY_NEEDS, BUILD_TEST, UAT],
        ),
        (
            "the final tag",
            {"branch": True, "tags": ("v1.4.0-rc.1", "v1.4.0")},
            DEPLOY,
            [IDENTIFY_NEEDS, BUILD_TEST, UAT, DEPLOY],
        ),
        (
            "a production deployment",
            {
                "tags": ("v1.4.0",),
                "newest_deployment": Deployment(5, "v1.4.0", "production", ("success",)),
                "feedback_issues": (),
            },
            MONITOR,
            [IDENTIFY_NEEDS, DEPLOY, MONITOR],
        ),
    ],
)
def test_a_release_seen_first_starts_where_its_facts_put_it(
    case: str, kw: dict[str, object], stage: str, comments: list[str]
) -> None:
    p = plan(facts(**kw))  # type: ignore[arg-type]
    assert p.stage == stage, case
    assert [s for s, _body in p.stage_comments] == comments, case
    assert p.create_issue and p.title == "Release v1.4.0" and p.label == "release-tracking"
    # The first record claims no stage comment yet: a crash before posting them must not lose them.
    assert p.initial_record is not None and p.initial_record.posted == ()
    assert p.state.posted == tuple(comments)


def test_a_steady_release_plans_no_write() -> None:
    state = recorded(BUILD_TEST, IDENTIFY_NEEDS, BUILD_TEST, skipped=(PLAN,))
    f = facts(branch=True, state=state, tracking=tracking_issue(), comments_complete=False)
    p = plan(f)
    assert (p.stage_comments, p.edits, p.answers, p.moves, p.retrospective) == ((), (), (), (), None)
    assert record_json(p.state) == p.written and p.issue_patch.fields() == {} and not p.add_label


def test_a_new_candidate_in_prepare_returns_to_uat() -> None:
    signed = UatVerdict(passed=True, rc=1, by="qa", date="2026-11-21")
    state = recorded(PREPARE, IDENTIFY_NEEDS, BUILD_TEST, UAT, PREPARE, candidate=1, uat=signed)
    p = plan(
        facts(
            branch=True,
            tags=("v1.4.0-rc.1", "v1.4.0-rc.2"),
            state=state,
            tracking=tracking_issue(),
            comments_complete=False,
        )
    )
    assert p.stage == UAT and p.state.stages.candidate == 2


# -- commands ---------------------------------------------------------------------------------


def test_roles_are_looked_up_before_commands_are_decided() -> None:
    state = recorded(UAT, IDENTIFY_NEEDS, BUILD_TEST, UAT, candidate=1)
    comments = (
        comment(200, "/uat passed", "qa"),
        comment(201, "/stage prepare", "dev"),
        comment(202, "/help", "dev"),
        comment(203, "/uat maybe", "dev"),
    )
    f = facts(branch=True, tags=("v1.4.0-rc.1",), state=state, tracking=tracking_issue(), comments=comments)
    wants = plan_release(f, state, AGILE, TODAY, RUN)
    # Only what a decision needs: /help and a usage error ask about no role.
    assert wants == Wants(roles=frozenset({("qa", "qa"), ("dev", "release_managers")}))


@pytest.mark.parametrize(
    ("qa_holds", "stage", "accepted", "reply"),
    [
        (True, PREPARE, True, None),
        (False, UAT, False, "`/uat` is for QA: people with write permission or above on the repository."),
    ],
)
def test_uat_sign_off_needs_the_qa_role(
    qa_holds: bool, stage: str, accepted: bool, reply: str | None
) -> None:
    state = recorded(UAT, IDENTIFY_NEEDS, BUILD_TEST, UAT, candidate=1)
    f = facts(
        branch=True,
        tags=("v1.4.0-rc.1",),
        state=state,
        tracking=tracking_issue(),
        comments=(comment(200, "/uat passed", "qa"),),
        roles=(RoleAnswer("qa", "qa", qa_holds),),
    )
    p = plan(f)
    assert p.stage == stage
    (answer,) = p.answers
    assert (answer.comment_id, answer.accepted, answer.reply) == (200, accepted, reply)
    assert p.state.comment_watermark == 200
    if accepted:
        assert p.state.stages.uat == UatVerdict(passed=True, rc=1, by="qa", date="2026-11-26")
        assert [s for s, _ in p.stage_comments] == [PREPARE]


def test_an_edited_comment_runs_nothing_and_is_answered_once() -> None:
    state = recorded(UAT, IDENTIFY_NEEDS, BUILD_TEST, UAT, candidate=1)
    f = facts(
        branch=True,
        tags=("v1.4.0-rc.1",),
        state=state,
        tracking=tracking_issue(),
        comments=(comment(200, "/uat passed", "qa"),),
    )
    p = plan(f, run=replace(RUN, edited_comments=frozenset({200})))
    assert p.stage == UAT and p.answers[0].reply == EDITED_REPLY and not p.answers[0].accepted
    answered = replace(
        f, tracking_comments=(*f.tracking_comments, comment(201, "<!-- release-bot:reply:200 -->", BOT))
    )
    assert plan(answered, run=replace(RUN, edited_comments=frozenset({200}))).answers[0].reply is None


def test_without_a_record_old_commands_are_not_replayed() -> None:
    f = facts(
        branch=True, tags=("v1.4.0-rc.1",), tracking=tracking_issue(), comments=(comment(200, "/uat passed"),)
    )
    p = plan(f)
    assert p.answers == () and p.state.comment_watermark == 200 and p.stage == UAT


# -- Monitor feedback, carry-over, retrospective --------------------------------------------------


def test_monitor_reads_feedback_then_lists_it() -> None:
    state = recorded(MONITOR, IDENTIFY_NEEDS, DEPLOY, MONITOR, deployed=True)
    f = facts(tags=("v1.4.0",), state=state, tracking=tracking_issue(), comments_complete=False)
    assert plan_release(f, state, AGILE, TODAY, RUN) == Wants(
        feedback_since=datetime(2026, 11, 20, tzinfo=UTC)
    )
    late = datetime(2026, 11, 21, tzinfo=UTC)
    feedback = (
        Item(301, "Crash since v1.4.0", created_at=late),
        Item(302, "Crash in 11.4.0", created_at=late),
        Item(303, "Slow", labels=("Regression",), created_at=late),
        Item(304, "Old v1.4.0 bug", created_at=datetime(2026, 11, 1, tzinfo=UTC)),
    )
    assert plan(replace(f, feedback_issues=feedback)).state.feedback == (301, 303)


def test_closing_the_milestone_carries_open_items_over() -> None:
    state = recorded(DEPLOY, IDENTIFY_NEEDS, BUILD_TEST, DEPLOY)
    nxt = milestone(3, "v1.5.0")  # no later milestone on the 1.4 line
    items = (
        Item(
            10,
            "Merged",
            is_pull_request=True,
            state="closed",
            merged_at_text="2026-11-10T00:00:00Z",
            author="dev",
        ),
        Item(11, "Late PR", is_pull_request=True),
        Item(12, "Open issue"),
        Item(13, "Side PR", is_pull_request=True),
    )
    f = facts(
        ms=milestone(state="closed"),
        branch=True,
        tags=("v1.4.0",),
        state=state,
        tracking=tracking_issue(),
        items=items,
        others=(nxt,),
        comments_complete=False,
    )
    assert plan_release(f, state, AGILE, TODAY, RUN) == Wants(branch_pulls=True)
    p = plan(replace(f, branch_pulls=frozenset({11})))
    assert p.stage == FUTURE_PLANNING and p.state.retro_done
    # The open pull request into release/1.4 stays on its line (none open: it needs a home); the
    # rest go to the next version.
    assert p.moves == (CarryOverMove(11, None), CarryOverMove(12, 3), CarryOverMove(13, 3))
    assert p.retrospective is not None and "| Delivered items | 1 |" in p.retrospective
    assert "pull request #11 Late PR → **needs a home**" in p.retrospective
    assert "issue #12 Open issue → v1.5.0" in p.retrospective and "@\u200bdev" in p.retrospective
    # The retrospective once: a run after it was posted (record says done) plans neither again.
    again = plan(
        replace(f, branch_pulls=frozenset({11}), record=RecordFacts(7, p.state, record_json(p.state)))
    )
    assert again.retrospective is None and again.moves == ()


def test_nowhere_to_go_needs_a_home() -> None:
    state = recorded(DEPLOY, IDENTIFY_NEEDS, DEPLOY)
    f = facts(
        ms=milestone(state="closed"),
        tags=("v1.4.0",),
        state=state,
        tracking=tracking_issue(),
        items=(Item(12, "Open issue"),),
        comments_complete=False,
    )
    p = plan(f)
    assert p.moves == (CarryOverMove(12, None),) and "needs a home" in (p.retrospective or "")


# -- publishing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "tags", "allowed"),
    [
        (AGILE, (), True),
        (STRICT_MODE, (), False),
        (STRICT_MODE, ("v1.4.0",), True),  # strict: once Deploy begins
    ],
)
def test_publishing_is_withheld_in_strict_mode_before_deploy(
    config: ReleaseSettings, tags: tuple[str, ...], allowed: bool
) -> None:
    assert plan(facts(tags=tags), config).publish_allowed is allowed


def test_of_two_milestones_of_one_version_the_older_keeps_the_notes() -> None:
    twin = milestone(2, "1.4.0")
    older = plan(facts(others=(twin,)))
    newer = plan(facts(ms=twin, others=(milestone(),)))
    assert older.notes_owner and not newer.notes_owner
    assert older.duplicates == (2,) and newer.duplicates == (1,)
    assert any("Several open milestones name version 1.4.0" in w for w in older.view.warnings)


def test_a_deleted_milestone_closes_its_tracking_issue_with_one_note() -> None:
    gone = replace(facts(tracking=tracking_issue()), milestone=None)
    first = plan_deleted(gone)
    assert first is not None and first.issue == 90 and first.note and "v1.4.0 was deleted" in first.note
    noted = replace(gone, tracking_comments=(comment(5, first.note, BOT),))
    assert plan_deleted(noted) == replace(first, note=None)


# -- the calendar's tag days, the announcements, the calendar link ------------------------------


def test_the_day_each_tag_of_the_release_was_first_seen_is_recorded_once() -> None:
    first = plan(facts(tags=("v1.4.0-rc.1", "v2.0.0", "not-a-tag"), branch=True, tracking=tracking_issue()))
    assert dict(first.state.tag_days) == {"v1.4.0-rc.1": TODAY}  # another version's tag is not ours
    kept = replace(first.state, tag_days={"v1.4.0-rc.1": "2026-11-20"})
    both = ("v1.4.0-rc.1", "v1.4.0-rc.2")
    later = plan(facts(tags=both, branch=True, state=kept, tracking=tracking_issue()))
    assert dict(later.state.tag_days) == {"v1.4.0-rc.1": "2026-11-20", "v1.4.0-rc.2": TODAY}
    steady = plan(facts(tags=("v1.4.0-rc.1",), branch=True, state=kept, tracking=tracking_issue()))
    assert steady.state.tag_days is kept.tag_days  # nothing new: the record is not rewritten for it


def test_announcements_made_are_kept_and_round_trip_the_record() -> None:
    state = replace(recorded("plan", "identify_needs", "plan"), announced=("releases/stage:plan:2026-11-20",))
    planned = plan(facts(ms=milestone(due="2026-12-15T08:00:00Z"), state=state, tracking=tracking_issue()))
    assert planned.state.announced == ("releases/stage:plan:2026-11-20",)
    assert TrackingState.from_json(planned.state.to_json()) == planned.state
    assert "announced" not in TrackingState().to_json() and "tag_days" not in TrackingState().to_json()


def test_the_body_links_the_calendar_and_names_unusable_channels() -> None:
    run = replace(RUN, calendar_url="https://bot.example/calendar/acme/rocket.ics?token=ab",
                  announce_warnings=("Announcements: channel `releases` is not announced to: …",))
    body = plan(facts(tracking=tracking_issue()), run=run).body(TrackingState(), None, None)
    assert "- [Release calendar (iCalendar)](https://bot.example/calendar/acme/rocket.ics?token=ab)" in body
    assert "> Announcements: channel `releases` is not announced to" in body
