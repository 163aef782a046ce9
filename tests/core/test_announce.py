"""Announcements planned and written, pure: which moments are due (a table), once per channel,
and each format's message with user text escaped for its target."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.core.announce import (
    MOMENT_KINDS,
    AnnounceFacts,
    Channel,
    Highlight,
    Ref,
    missing_urls,
    moments_of,
    plan_announcements,
    record_key,
    render,
)
from bot.core.announce.render import announcement_id

ALL = frozenset(MOMENT_KINDS)
FACTS = AnnounceFacts(
    repo="acme/rocket",
    milestone_number=7,
    version="1.4.0",
    stage="uat",
    stage_title="UAT",
    stage_began="2026-12-01",
    due_day="2026-12-15",
    highlights=(
        Highlight("Features", (Ref(12, "Dark mode", "https://gh/acme/rocket/pull/12"),)),
        Highlight("Bug fixes", (Ref(13, "Crash on start", "https://gh/acme/rocket/pull/13"),)),
    ),
    tracking_url="https://gh/acme/rocket/issues/3",
    milestone_url="https://gh/acme/rocket/milestone/7",
)
SLACK = Channel("releases", "ANNOUNCE_RELEASES_URL", "slack", ALL)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (FACTS, ["stage:uat:2026-12-01"]),
        (replace(FACTS, stage=None, stage_began=None), []),
        (
            replace(FACTS, stage="deploy", stage_began="2026-12-14", published_tag="v1.4.0"),
            ["stage:deploy:2026-12-14", "published:v1.4.0"],
        ),
        (replace(FACTS, late=True), ["stage:uat:2026-12-01", "late:2026-12-15"]),
        # published wins over late: a release shipped after its date is no longer "late, not published"
        (replace(FACTS, late=True, published_tag="v1.4.0"), ["stage:uat:2026-12-01", "published:v1.4.0"]),
        (
            replace(FACTS, stage="monitor", stage_began="2026-12-16", feedback=(Ref(40, "b"), Ref(31, "a"))),
            ["stage:monitor:2026-12-16", "feedback:31", "feedback:40"],
        ),
    ],
)
def test_the_moments_that_hold_now(facts: AnnounceFacts, expected: list[str]) -> None:
    assert [m.key for m in moments_of(facts)] == expected


def _keys(deliveries) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return [d.records for d in deliveries]


def test_each_moment_is_announced_once_per_channel() -> None:
    teams = Channel("eng", "ANNOUNCE_ENG_URL", "teams", frozenset({"published"}))
    facts = replace(FACTS, stage="deploy", stage_began="2026-12-14", published_tag="v1.4.0")
    first = plan_announcements(facts, [SLACK, teams], (), {"releases", "eng"})
    assert _keys(first) == [
        ("releases/stage:deploy:2026-12-14",),
        ("releases/published:v1.4.0",),
        ("eng/published:v1.4.0",),
    ]
    recorded = [k for d in first for k in d.records]
    assert plan_announcements(facts, [SLACK, teams], recorded, {"releases", "eng"}) == ()
    # A return to UAT on a later day is a new moment; the one announced before is not repeated.
    back = replace(facts, stage="uat", stage_began="2026-12-15")
    assert _keys(plan_announcements(back, [SLACK, teams], recorded, {"releases", "eng"})) == [
        ("releases/stage:uat:2026-12-15",)
    ]


def test_a_channel_hears_only_what_it_asks_for_and_only_with_its_url() -> None:
    only_late = Channel("pm", "ANNOUNCE_PM_URL", "json", frozenset({"late"}))
    facts = replace(FACTS, late=True)
    assert _keys(plan_announcements(facts, [only_late], (), {"pm"})) == [("pm/late:2026-12-15",)]
    assert plan_announcements(facts, [only_late], (), set()) == ()  # no URL: nothing, and no record
    assert missing_urls([SLACK, only_late], {"ANNOUNCE_PM_URL"}) == (SLACK,)


def test_new_feedback_issues_go_in_one_message() -> None:
    facts = replace(FACTS, feedback=(Ref(31, "Login broken"), Ref(40, "Slow sync")))
    [stage, feedback] = plan_announcements(facts, [SLACK], (), {"releases"})
    assert feedback.records == ("releases/feedback:31", "releases/feedback:40")
    later = replace(facts, feedback=(*facts.feedback, Ref(52, "Crash")))
    done = [*stage.records, *feedback.records]
    assert _keys(plan_announcements(later, [SLACK], done, {"releases"})) == [("releases/feedback:52",)]
    assert record_key("releases", "feedback:52") == "releases/feedback:52"


HOSTILE = replace(
    FACTS,
    highlights=(
        Highlight("Fixes <!channel>", (Ref(5, "Use <https://evil|click> & *bold* @here", "https://gh/5"),)),
    ),
)


def _message(fmt: str, facts: AnnounceFacts = HOSTILE) -> dict:  # type: ignore[type-arg]
    [delivery] = plan_announcements(facts, [replace(SLACK, format=fmt)], (), {"releases"})
    assert delivery.content_type == "application/json"
    return json.loads(delivery.body)


def test_slack_escapes_its_control_characters_in_user_text() -> None:
    msg = _message("slack")
    text = json.dumps(msg)
    assert "<!channel>" not in text and "<https://evil|click>" not in text
    details = msg["blocks"][1]["text"]["text"]
    assert "Fixes &lt;!channel&gt;" in details and "&lt;https://evil|click&gt; &amp;" in details
    assert "<https://gh/5|#5>" in details  # the bot's own link stays a link
    assert msg["text"].startswith("Release *v1.4.0* of acme/rocket is now in *UAT*")
    assert msg["blocks"][2]["elements"][0]["text"].startswith(
        "<https://gh/acme/rocket/issues/3|Tracking issue>"
    )


def test_teams_gets_an_adaptive_card_with_markdown_escaped() -> None:
    msg = _message("teams")
    card = msg["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [b["text"] for b in card["content"]["body"]]
    assert texts[0] == "Release **v1\\.4\\.0** of acme/rocket is now in **UAT** (since 2026-12-01)."
    line = next(t for t in texts if "#5" in t)
    assert "\\*bold\\*" in line and "\\<https://evil\\|click\\>" in line
    assert "[#5](https://gh/5)" in line


def test_json_carries_the_facts_verbatim_with_a_stable_id() -> None:
    msg = _message("json")
    assert (
        msg["version"] == "1.4.0"
        and msg["stage"] == "uat"
        and msg["moments"] == [{"kind": "stage", "key": "stage:uat:2026-12-01"}]
    )
    assert msg["highlights"][0]["items"][0]["title"] == "Use <https://evil|click> & *bold* @here"
    assert msg["id"] == _message("json")["id"]  # the same message, the same id: receivers may dedupe
    assert msg["links"]["tracking_issue"] == "https://gh/acme/rocket/issues/3"


def test_a_published_message_says_what_shipped_and_links_the_release() -> None:
    facts = replace(
        FACTS,
        stage="deploy",
        stage_began="2026-12-14",
        published_tag="v1.4.0",
        release_url="https://gh/acme/rocket/releases/tag/v1.4.0",
    )
    published = [
        d for d in plan_announcements(facts, [SLACK], (), {"releases"}) if "published" in d.records[0]
    ]
    msg = json.loads(published[0].body)
    assert msg["text"] == "Release *v1.4.0* of acme/rocket is published: v1.4.0."
    details = msg["blocks"][1]["text"]["text"]
    assert (
        details.startswith("*What shipped*:")
        and "*Features*: <https://gh/acme/rocket/pull/12|#12> Dark mode" in details
    )
    assert (
        "<https://gh/acme/rocket/releases/tag/v1.4.0|Release notes>"
        in msg["blocks"][2]["elements"][0]["text"]
    )


def test_long_lists_are_bounded() -> None:
    many = replace(FACTS, highlights=(Highlight("Features", tuple(Ref(n, f"item {n}") for n in range(30))),))
    body, _ = render("json", many, moments_of(many), "releases")
    assert "and 25 more" in json.loads(body)["text"]


def test_ids_differ_per_channel_and_moment() -> None:
    moments = moments_of(FACTS)
    assert announcement_id(FACTS, "a", moments) != announcement_id(FACTS, "b", moments)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown announcement format"):
        render("carrier-pigeon", FACTS, moments_of(FACTS))
