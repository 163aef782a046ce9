"""Exception binding as tables (``bot.core.freeze.exceptions``): who may grant, which commit and
branch a grant holds for, withdrawals, the check run it is kept in, and what it renders."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.commands import parse_commands
from bot.core.freeze import FreezeSettings
from bot.core.freeze.exceptions import (
    FreezeCause,
    FreezeCheckFacts,
    FreezeCheckRecord,
    parse_freeze_record,
    plan_freeze_check,
)
from bot.core.freeze.state import FreezeException
from bot.core.gate import CommentFacts, ExistingCheck, PullFacts
from bot.core.stages import UAT

SHA = "a" * 40
NEW_SHA = "b" * 40
ARRIVED = "2026-11-26T09:00:00Z"
RM = "release managers (people with maintain permission or above on the repository)"
CAUSE = FreezeCause("1.4.0", 3, "2026-11-20", "stage")
SETTINGS = FreezeSettings(starts_stage=UAT)


def pull(sha: str = SHA, base: str = "main") -> PullFacts:
    return PullFacts(number=12, author="dev", base=base, head_sha=sha)


def comment(cid: int, body: str, author: str, at: str = "2026-11-26T10:00:00Z", **kw: object) -> CommentFacts:
    return CommentFacts(cid, author, body, at, tuple(parse_commands(body)), **kw)  # type: ignore[arg-type]


def facts(
    existing: ExistingCheck | None = None, causes: tuple[FreezeCause, ...] = (CAUSE,), **kw: object
) -> FreezeCheckFacts:
    base = FreezeCheckFacts(
        pull=pull(),
        settings=SETTINGS,
        causes=causes,
        existing=existing,
        rm_words=RM,
        roles={"releaser": frozenset({"release_managers"}), "qa": frozenset({"qa"})},
        head_arrived_at=ARRIVED,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def check_of(plan_facts: FreezeCheckFacts, *comments: CommentFacts) -> ExistingCheck:
    """The check run as the bot would have written it (what the next reconcile reads back)."""
    out = plan_freeze_check(plan_facts, comments).check
    return ExistingCheck(1, "completed", out.conclusion, out.title, out.summary, ARRIVED)


GRANT = comment(100, "/exception fixes the crash", "releaser")
EARLY = "2026-11-26T08:59:59Z"
ONE = FreezeException(1, SHA, "main", "rm", ARRIVED, "x", 5)


@pytest.mark.parametrize(
    ("case", "kw", "comments", "conclusion", "replies", "reactions"),
    [
        ("frozen, nothing asked", {}, (), "failure", [], []),
        ("not frozen", {"causes": ()}, (), "success", [], []),
        ("a release manager grants", {}, (GRANT,), "success", [], [(100, "+1")]),
        ("dev may not grant", {}, (comment(101, "/exception please", "dev"),), "failure",
         [f"@dev `/exception` may only be run by {RM}; nothing changed."], [(101, "confused")]),
        ("QA may not grant", {}, (comment(102, "/exception please", "qa"),), "failure",
         [f"@qa `/exception` may only be run by {RM}; nothing changed."], [(102, "confused")]),
        ("a reason is needed", {}, (comment(103, "/exception", "releaser"),), "failure",
         ["@releaser usage: `/exception <reason>` or `/exception cancel`."], [(103, "confused")]),
        ("written before the head arrived", {}, (comment(104, "/exception x", "releaser", EARLY),),
         "failure", ["@releaser this `/exception` was written before head commit aaaaaaa became this pull "
                     "request's head, so it cannot be for this commit. Comment `/exception <reason>` again."],
         [(104, "confused")]),
        ("the head's arrival unknown", {"head_arrived_at": ""}, (GRANT,), "failure", None,
         [(100, "confused")]),
        ("not frozen: nothing to grant", {"causes": ()}, (GRANT,), "success",
         ["@releaser `main` is not frozen now: this pull request needs no exception. Nothing changed."],
         [(100, "confused")]),
        ("handled before (a redelivery)", {}, (replace(GRANT, handled=True),), "failure", [], []),
        ("an edited comment runs nothing", {}, (replace(GRANT, edited=True),), "failure", None,
         [(100, "confused")]),
        ("the gate answers a mixed comment", {"gate_answers": frozenset({100})},
         (comment(100, "/approve\n/exception needed", "releaser"),), "success", [], []),
        ("nothing to withdraw", {}, (comment(105, "/exception cancel", "releaser"),), "failure",
         ["@releaser there is no exception for head commit aaaaaaa to withdraw. Nothing changed."],
         [(105, "confused")]),
    ],
)
def test_exception_commands(
    case: str,
    kw: dict[str, object],
    comments: tuple[CommentFacts, ...],
    conclusion: str,
    replies: list[str] | None,
    reactions: list[tuple[int, str]],
) -> None:
    plan = plan_freeze_check(facts(**kw), comments)
    assert plan.check.conclusion == conclusion, case
    if replies is not None:
        assert [r.body for r in plan.replies] == replies, case
    else:
        assert len(plan.replies) == 1, case
    assert plan.reactions == reactions, case


def test_a_grant_is_recorded_in_the_check_with_who_when_why() -> None:
    plan = plan_freeze_check(facts(), [GRANT])
    [grant] = plan.record.grants
    assert grant == FreezeException(12, SHA, "main", "releaser", GRANT.created_at, "fixes the crash", 100)
    assert plan.check.title == "Freeze exception for aaaaaaa: granted by @releaser"
    assert plan.unlisted  # the release does not list it yet: it is to be told
    assert parse_freeze_record(plan.check.summary, SHA) == plan.record


@pytest.mark.parametrize(
    ("case", "later", "conclusion"),
    [
        ("same commit, same branch: holds", facts(), "success"),
        ("a new head commit: needs it again", facts(pull=pull(NEW_SHA)), "failure"),
        ("retargeted to another frozen branch", facts(pull=pull(base="develop")), "failure"),
        ("another pull request, same commit and branch", facts(pull=replace(pull(), number=13)), "success"),
    ],
)
def test_a_grant_binds_to_the_commit_and_branch(case: str, later: FreezeCheckFacts, conclusion: str) -> None:
    existing = check_of(facts(), GRANT)
    assert plan_freeze_check(replace(later, existing=existing), ()).check.conclusion == conclusion, case


def test_cancel_withdraws_and_stays_on_record() -> None:
    granted = check_of(facts(), GRANT)
    cancel = comment(110, "/exception cancel", "releaser", "2026-11-26T11:00:00Z")
    plan = plan_freeze_check(facts(existing=granted), [cancel])
    assert plan.check.conclusion == "failure" and plan.reactions == [(110, "+1")]
    [grant] = plan.record.grants
    assert grant.withdrawn and (grant.withdrawn_by, grant.withdrawn_at) == ("releaser", cancel.created_at)
    assert "withdrawn by @\u200breleaser" in plan.check.summary


def test_a_listed_grant_is_not_reported_again() -> None:
    existing = check_of(facts(), GRANT)
    [grant] = parse_freeze_record(existing.summary, SHA).grants
    listed = replace(CAUSE, listed=frozenset({(grant.key, False)}))
    assert not plan_freeze_check(facts(existing=existing, causes=(listed,)), ()).unlisted
    assert plan_freeze_check(facts(existing=existing), ()).unlisted


@pytest.mark.parametrize(
    ("summary", "sha", "grants"),
    [
        (None, SHA, 0),
        ("no marker", SHA, 0),
        ("<!-- release-bot:freeze-record:{not json} -->", SHA, 0),
        (FreezeCheckRecord(SHA, (ONE,)).marker(), SHA, 1),
        # A record is the commit's: read on another commit it holds nothing.
        (FreezeCheckRecord(SHA, (ONE,)).marker(), NEW_SHA, 0),
        # A grant naming another commit inside this commit's record does not count.
        (FreezeCheckRecord(SHA, (replace(ONE, sha=NEW_SHA),)).marker(), SHA, 0),
    ],
)
def test_parse_freeze_record(summary: str | None, sha: str, grants: int) -> None:
    assert len(parse_freeze_record(summary, sha).grants) == grants


def test_rendering_is_deterministic_and_escapes_the_reason() -> None:
    hostile = comment(120, "/exception <img src=x> @everyone --> closes", "releaser")
    first = plan_freeze_check(facts(), [hostile]).check
    assert first == plan_freeze_check(facts(), [hostile]).check
    visible = first.summary.rsplit("<!-- release-bot:freeze-record:", 1)[0]
    assert "<img" not in visible and "&lt;img src=x&gt;" in visible and "@\u200beveryone" in visible
    marker = first.summary.rsplit("<!-- release-bot:freeze-record:", 1)[1]
    assert marker.count("-->") == 1  # the reason cannot close the record's HTML comment
    assert parse_freeze_record(first.summary, SHA).grants[0].reason == "<img src=x> @everyone --> closes"


def test_the_failure_says_which_release_since_when_and_how_to_ask() -> None:
    manual = FreezeCause("2.0.0", 4, "2026-11-22", "manual", "releaser")
    check = plan_freeze_check(facts(causes=(CAUSE, manual)), ()).check
    assert check.title == "Code freeze: v1.4.0, v2.0.0 froze main since 2026-11-20"
    assert "- Release v1.4.0 (milestone #3) froze `main` since 2026-11-20 (UAT began)." in check.summary
    by_hand = "- Release v2.0.0 (milestone #4) froze `main` since 2026-11-22 (`/freeze` by @\u200breleaser)."
    assert by_hand in check.summary
    assert f"ask {RM} to comment `/exception <reason>`" in check.summary
