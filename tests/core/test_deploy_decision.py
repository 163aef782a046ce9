"""Deployment decisions as tables: ref kind × UAT sign-off commit × checklists × hold → verdict."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.checklists import Progress
from bot.core.deploy import (
    CANDIDATE,
    FINAL,
    OTHER,
    DeploymentAsked,
    EnvironmentRule,
    ReleaseAtRef,
    SignOff,
    classify_ref,
    decide_deployment,
    release_at_ref,
    render_note,
)
from bot.core.release_types import Comment, Item, Milestone, ReleaseFacts, Tag
from bot.core.stages import StageRecord, UatVerdict
from bot.core.tracking import ChecklistRecord, TrackingState, stage_marker
from bot.core.versions import ReleaseConventions

GOOD = "a" * 40
OTHER_SHA = "b" * 40
PRODUCTION = EnvironmentRule("production", requires=("uat", "prepare"))
STAGING = EnvironmentRule("staging", requires=(), candidates=True)
STRICT_STAGING = EnvironmentRule("staging", requires=())

SIGNED = SignOff(rc=2, tag="v1.4.0-rc.2", by="qa", date="2026-12-01", commit=GOOD)
COMPLETE = {"prepare": Progress(3, 3)}
OPEN_ITEMS = {"prepare": Progress(1, 3, ("Notes reviewed", "Comms drafted"))}


def release(kind: str = FINAL, sign_off: SignOff | None = SIGNED, progress=None, holds=()) -> ReleaseAtRef:
    return ReleaseAtRef(
        version="1.4.0",
        milestone_number=1,
        kind=kind,
        final_tag="v1.4.0",
        latest_candidate_tag="v1.4.0-rc.2",
        sign_off=sign_off,
        progress=COMPLETE if progress is None else progress,
        holds=tuple(holds),
        tracking_issue=7,
    )


def asked(ref: str = "v1.4.0", sha: str = GOOD, env: str = "production") -> DeploymentAsked:
    return DeploymentAsked(deployment_id=41, environment=env, ref=ref, sha=sha)


HOLD = "the tracking issue #7 carries `hold`"

# (case, rule, ref, sha, release facts, approved, words every reason text must contain)
CASES = [
    ("final, signed off on it, prepare ticked", PRODUCTION, "v1.4.0", GOOD, release(), True, []),
    ("candidate to production", PRODUCTION, "v1.4.0-rc.2", GOOD, release(CANDIDATE), False, ["final tag"]),
    (
        "candidate where candidates deploy",
        STAGING,
        "v1.4.0-rc.2",
        GOOD,
        release(CANDIDATE, None, {}),
        True,
        [],
    ),
    (
        "candidate, staging without candidates",
        STRICT_STAGING,
        "v1.4.0-rc.2",
        GOOD,
        release(CANDIDATE),
        False,
        ["candidates: true"],
    ),
    ("final before sign-off", PRODUCTION, "v1.4.0", GOOD, release(sign_off=None), False, ["/uat passed"]),
    (
        "final on another commit than signed off",
        PRODUCTION,
        "v1.4.0",
        OTHER_SHA,
        release(),
        False,
        ["`bbbbbbb`", "`aaaaaaa`"],
    ),
    (
        "signed-off candidate tag gone",
        PRODUCTION,
        "v1.4.0",
        GOOD,
        release(sign_off=replace(SIGNED, commit=None)),
        False,
        ["(none)"],
    ),
    (
        "prepare unticked",
        PRODUCTION,
        "v1.4.0",
        GOOD,
        release(progress=OPEN_ITEMS),
        False,
        ["2 unticked items", "Notes reviewed", "#7"],
    ),
    ("prepare not posted", PRODUCTION, "v1.4.0", GOOD, release(progress={}), False, ["not posted yet"]),
    (
        "prepare skipped",
        PRODUCTION,
        "v1.4.0",
        GOOD,
        replace(release(progress={}), skipped=frozenset({"prepare"})),
        False,
        ["skipped Prepare", "deploy.environments.production.requires"],
    ),
    ("on hold", PRODUCTION, "v1.4.0", GOOD, release(holds=[HOLD]), False, ["on hold", "`hold`"]),
    ("on hold where nothing is required", STAGING, "v1.4.0", GOOD, release(holds=[HOLD]), False, ["on hold"]),
    ("a branch", PRODUCTION, "main", GOOD, release(OTHER), False, ["not a tag of an open release"]),
    ("no release at all", PRODUCTION, "v9.9.9", GOOD, None, False, ["not a tag of an open release"]),
    ("unconfigured environment", None, "v1.4.0", GOOD, release(), False, ["deploy.environments"]),
]


@pytest.mark.parametrize(
    ("rule", "ref", "sha", "facts", "approved", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decision_table(rule, ref, sha, facts, approved, words) -> None:
    decision = decide_deployment(asked(ref, sha), rule, facts)
    assert decision.approved is approved
    assert decision.state == ("approved" if approved else "rejected")
    if approved:
        assert decision.reasons == ()
        assert decision.comment.startswith("Approved by release-bot")
    else:
        assert decision.reasons
        text = " ".join(decision.reasons)
        for word in words:
            assert word in text
        assert decision.comment.startswith("Rejected by release-bot")


def test_every_missing_requirement_is_listed_at_once() -> None:
    decision = decide_deployment(
        asked("v1.4.0-rc.2"), PRODUCTION, release(CANDIDATE, None, OPEN_ITEMS, [HOLD])
    )
    assert len(decision.reasons) == 4  # candidate, hold, sign-off, checklist


def test_approval_says_what_was_checked() -> None:
    decision = decide_deployment(asked(), PRODUCTION, release())
    assert "final tag of v1.4.0" in decision.comment
    assert "`v1.4.0-rc.2`" in decision.comment and "@\u200bqa" in decision.comment
    assert "Prepare checklist is complete" in decision.comment


def test_user_text_is_escaped_and_bounded() -> None:
    hostile = "<img src=x onerror=alert(1)>`@everyone|" + "x" * 5000
    progress = {"prepare": Progress(0, 40, tuple(hostile for _ in range(8)))}
    decision = decide_deployment(asked(ref=hostile, env=hostile), PRODUCTION, release(progress=progress))
    for text in (decision.comment, render_note(asked(ref=hostile, env=hostile), decision)):
        assert "<img" not in text and "@everyone" not in text
        assert len(text) <= 4000
    assert len(decision.comment) <= 1000
    assert "and 37 more" in " ".join(decision.reasons)


def test_note_carries_its_marker_and_every_reason() -> None:
    decision = decide_deployment(asked("v1.4.0-rc.2"), PRODUCTION, release(CANDIDATE))
    note = render_note(asked("v1.4.0-rc.2"), decision)
    assert note.startswith("<!-- release-bot:deploy:41 -->")
    assert all(reason in note for reason in decision.reasons)


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        ("v1.4.0", FINAL),
        ("refs/tags/v1.4.0", FINAL),
        ("v1.4.0-rc.3", CANDIDATE),
        ("main", OTHER),
        ("release/1.4", OTHER),
        ("1.4.0", OTHER),
    ],
)
def test_classify_ref(ref: str, kind: str) -> None:
    assert classify_ref(ref, ReleaseConventions())[0] == kind


# -- from the release's facts and record ---------------------------------------------------------

BOT = "release-bot[bot]"


def facts(tags=("v1.4.0-rc.1", "v1.4.0-rc.2", "v1.4.0"), labels=(), comments=()) -> ReleaseFacts:
    return ReleaseFacts(
        repo_full_name="acme/rocket",
        milestone_number=1,
        milestone=Milestone(1, "v1.4.0"),
        conventions=ReleaseConventions(),
        bot_login=BOT,
        tracking_issue=Item(7, "Release v1.4.0", labels=tuple(labels)),
        tracking_comments=tuple(comments),
        tags=tuple(Tag(t, GOOD) for t in tags),
    )


def state(rc: int | None = 2, passed: bool = True, prepare: Progress | None = None) -> TrackingState:
    verdict = UatVerdict(passed=passed, rc=rc, by="qa", date="2026-12-01") if rc is not None else None
    lists = {"prepare": ChecklistRecord(90, prepare)} if prepare is not None else {}
    return TrackingState(stages=StageRecord(current="deploy", uat=verdict), checklists=lists)


def test_sign_off_counts_for_the_latest_candidate_only() -> None:
    at = release_at_ref(facts(), state(rc=2), asked(), hold_label="hold", candidate_commit=GOOD)
    assert at.kind == FINAL and at.sign_off is not None and at.sign_off.tag == "v1.4.0-rc.2"
    older = release_at_ref(facts(), state(rc=1), asked(), hold_label="hold", candidate_commit=GOOD)
    assert older.sign_off is None
    failed = release_at_ref(facts(), state(passed=False), asked(), hold_label="hold", candidate_commit=GOOD)
    assert failed.sign_off is None


def test_listed_stage_comments_win_over_the_record() -> None:
    body = f"{stage_marker(1, 'prepare')}\n- [x] Notes reviewed\n- [x] Comms drafted\n"
    listed = Comment(90, body=body, author=BOT)
    forged = Comment(91, body=f"{stage_marker(1, 'prepare')}\n- [ ] x\n", author="dev")
    at = release_at_ref(
        facts(comments=[forged, listed]),
        state(prepare=Progress(0, 2, ("a", "b"))),
        asked(),
        hold_label="hold",
        candidate_commit=GOOD,
    )
    assert at.progress["prepare"] == Progress(2, 2)
    unlisted = release_at_ref(
        facts(), state(prepare=Progress(0, 2, ("a", "b"))), asked(), hold_label="hold", candidate_commit=GOOD
    )
    assert not unlisted.progress["prepare"].complete


def test_hold_label_on_the_tracking_issue_holds() -> None:
    at = release_at_ref(
        facts(labels=("release-tracking", "Hold")), state(), asked(), hold_label="hold", candidate_commit=GOOD
    )
    assert at.holds and "#7" in at.holds[0]


def test_a_tag_that_does_not_exist_is_no_release_tag() -> None:
    at = release_at_ref(
        facts(tags=("v1.4.0-rc.2",)), state(), asked(), hold_label="hold", candidate_commit=GOOD
    )
    assert at.kind == OTHER


def test_no_valid_configuration_rejects_everything() -> None:
    decision = decide_deployment(asked(), PRODUCTION, release(), config_valid=False)
    assert not decision.approved and "check-config" in decision.reasons[0]


def test_a_sign_off_is_bound_to_what_the_tag_pointed_at() -> None:
    def at(recorded: str) -> ReleaseAtRef:
        verdict = UatVerdict(passed=True, rc=2, by="qa", date="2026-12-01", tag_sha=recorded)
        st = TrackingState(stages=StageRecord(current="deploy", uat=verdict))
        return release_at_ref(facts(), st, asked(), hold_label="hold", candidate_commit=GOOD)

    assert at(GOOD).sign_off is not None and not at(GOOD).sign_off.moved
    assert at(OTHER_SHA).sign_off.moved  # the rc tag points at GOOD now, not at what was signed off
    assert not at("").sign_off.moved  # a verdict recorded before tag_sha existed: the commit decides


def test_the_verdict_keeps_the_candidate_tag_target() -> None:
    from bot.core.stages import StageFacts, record_uat

    record = StageRecord(current="uat")
    decided = record_uat(
        record, StageFacts(candidates=(2,), latest_candidate_sha=GOOD), True, "qa", "2026-12-01"
    )
    assert decided.record.uat is not None and decided.record.uat.tag_sha == GOOD
    again = StageRecord.from_json(decided.record.to_json())
    assert again.uat == decided.record.uat
    assert UatVerdict.from_json({"passed": True, "rc": 2, "tag_sha": "not-a-sha"}).tag_sha == ""
