"""The release plan with a code freeze (``releases.freeze``): the window recorded, ``/freeze`` and
``/thaw`` on the tracking issue, exceptions listed — and nothing at all without a freeze."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_release_plan import AGILE, RUN, comment, facts, plan, recorded, settings, tracking_issue

from bot.core.freeze.state import FreezeException, FreezeState
from bot.core.release_plan import record_json
from bot.core.release_types import RoleAnswer
from bot.core.stages import BUILD_TEST, DEPLOY, IDENTIFY_NEEDS, UAT

FROZEN = settings(freeze={"starts": "uat", "ends": "deploy"})
CANDIDATE = {"branch": True, "tags": ("v1.4.0-rc.1",), "tracking": tracking_issue()}
IN_BUILD = recorded(BUILD_TEST, IDENTIFY_NEEDS, BUILD_TEST)


def test_without_a_freeze_the_record_and_body_are_as_before() -> None:
    p = plan(facts(state=IN_BUILD, **CANDIDATE), AGILE)
    assert p.stage == UAT and p.state.freeze is None
    assert '"freeze"' not in record_json(p.state)
    body = p.body(p.state, None, 7)
    assert "Code freeze" not in body and "Freeze exceptions" not in body


def test_the_candidate_starts_the_freeze_and_the_final_tag_lifts_it() -> None:
    p = plan(facts(state=IN_BUILD, **CANDIDATE), FROZEN)
    freeze = p.state.freeze
    assert freeze is not None and freeze.active and freeze.since == "2026-11-26" and freeze.version == "1.4.0"
    row = "| Code freeze | ❄️ the default branch frozen since 2026-11-26 (UAT began)"
    assert row in p.body(p.state, None, 7)
    # Planned again on what it recorded: the same freeze (a steady release writes nothing).
    again = plan(facts(state=p.state, **CANDIDATE), FROZEN)
    assert again.state.freeze == freeze and record_json(again.state) == record_json(p.state)
    final = plan(facts(state=p.state, **{**CANDIDATE, "tags": ("v1.4.0-rc.1", "v1.4.0")}), FROZEN)
    assert final.stage == DEPLOY
    assert final.state.freeze is not None and not final.state.freeze.active
    row = "| Code freeze | lifted on 2026-11-26 (the release reached the stage that ends it) |"
    assert row in final.body(final.state, None, 7)


@pytest.mark.parametrize(
    ("case", "config", "body", "holds", "active", "reply"),
    [
        ("a release manager freezes by hand", FROZEN, "/freeze", True, True, None),
        ("dev may not", FROZEN, "/freeze", False, False,
         "`/freeze` is for release managers: people with maintain permission or above on the repository."),
        ("no freeze configured", AGILE, "/freeze", True, None,
         "`/freeze`: no code freeze is configured for this repository (`releases.freeze` in "
         "`.github/release-bot.yml`, docs/code-freeze.md). Nothing changed."),
        ("nothing to thaw", FROZEN, "/thaw", True, False,
         "No code freeze is on, so there is nothing to thaw. Nothing changed."),
    ],
)
def test_freeze_commands_before_the_window(
    case: str, config: object, body: str, holds: bool, active: bool | None, reply: str | None
) -> None:
    f = facts(
        state=IN_BUILD,
        branch=True,
        tracking=tracking_issue(),
        comments=(comment(300, body, "releaser"),),
        roles=(RoleAnswer("releaser", "release_managers", holds),),
    )
    p = plan(f, config)  # type: ignore[arg-type]
    assert p.stage == BUILD_TEST, case
    assert (p.state.freeze.active if p.state.freeze else None) == active, case
    (answer,) = p.answers
    assert answer.reply == reply and answer.accepted == (reply is None), case
    if active:
        assert p.state.freeze is not None
        assert (p.state.freeze.cause, p.state.freeze.by) == ("manual", "releaser")


def test_thaw_lifts_a_running_freeze() -> None:
    frozen = plan(facts(state=IN_BUILD, **CANDIDATE), FROZEN).state
    f = facts(
        state=frozen,
        **{**CANDIDATE, "comments": (comment(310, "/thaw", "releaser"),)},
        roles=(RoleAnswer("releaser", "release_managers", True),),
    )
    p = plan(f, FROZEN)
    assert p.state.freeze is not None and not p.state.freeze.active and p.state.freeze.lifted_why == "thawed"
    assert p.answers[0].accepted


def test_reported_exceptions_are_listed_on_the_tracking_issue() -> None:
    frozen = plan(facts(state=IN_BUILD, **CANDIDATE), FROZEN).state
    grant = FreezeException(12, "c" * 40, "main", "releaser", "2026-11-26T10:00:00Z", "hotfix <b>", 900)
    p = plan(facts(state=frozen, **CANDIDATE), FROZEN, replace(RUN, freeze_reports=(grant,)))
    assert p.state.freeze is not None and p.state.freeze.exceptions == (grant,)
    body = p.body(p.state, None, 7)
    assert "### Freeze exceptions" in body
    assert "| #12 | `ccccccc` | @\u200breleaser | 2026-11-26T10:00:00Z | hotfix &lt;b&gt; |" in body


def test_a_removed_configuration_lifts_the_freeze() -> None:
    frozen = plan(facts(state=IN_BUILD, **CANDIDATE), FROZEN).state
    p = plan(facts(state=frozen, **CANDIDATE), AGILE)
    assert isinstance(p.state.freeze, FreezeState) and not p.state.freeze.active
    assert p.state.freeze.lifted_why == "unconfigured"
