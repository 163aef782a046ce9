"""The announcements' apply step: facts taken from the release, what is recorded after each kind
of outcome (delivered, refused for good, to be tried again, asked to wait), what the tracking issue
says of an unusable channel. The sender is replaced; everything else is the real code."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

import bot.reconcilers.release_announce as release_announce
from bot.config.repo_config import RepoConfig
from bot.core.announce import Channel
from bot.core.release_types import Item, Milestone, Release, ReleaseFacts, Tag
from bot.core.release_view import NotesSummary
from bot.core.stages import StageRecord
from bot.core.tracking import TrackingState
from bot.core.versions import ReleaseConventions
from bot.errors import RetryLater
from bot.github.announce_send import SendOutcome
from bot.reconcilers.release_announce import AnnouncementFailed, Announcer, announce_facts, channel_warnings

CONFIG = {
    "announce": {
        "channels": [
            {"name": "a", "url_env": "ANNOUNCE_A_URL", "format": "json"},
            {"name": "b", "url_env": "ANNOUNCE_B_URL", "format": "slack"},
        ]
    }
}
URLS = {"ANNOUNCE_A_URL": "https://hooks.example/a", "ANNOUNCE_B_URL": "https://hooks.example/b"}


def facts(**extra: Any) -> ReleaseFacts:
    milestone = Milestone(
        7,
        "v1.4.0",
        due_on=datetime(2026, 12, 15, 8, tzinfo=UTC),
        due_on_text="2026-12-15T08:00:00Z",
        html_url="https://gh/acme/rocket/milestone/7",
    )
    base: dict[str, Any] = {
        "repo_full_name": "acme/rocket",
        "milestone_number": 7,
        "milestone": milestone,
        "conventions": ReleaseConventions(),
        "tags": (Tag("v1.4.0-rc.1"), Tag("v1.4.0")),
        "releases": (Release(1, tag_name="v1.4.0", html_url="https://gh/acme/rocket/releases/tag/v1.4.0"),),
    }
    return ReleaseFacts(**{**base, **extra})


STATE = TrackingState(stages=StageRecord(current="deploy", began={"deploy": "2026-12-14"}))


def ctx(config: dict[str, Any] = CONFIG, urls: dict[str, str] = URLS) -> Any:
    repo_config = RepoConfig.from_mapping(config, "acme")
    return SimpleNamespace(
        repo_config=repo_config,
        services=SimpleNamespace(announce_urls=urls),
        log=logging.getLogger("test"),
        job=SimpleNamespace(key="release:1@7"),
    )


def settings() -> Any:
    return RepoConfig.from_mapping(CONFIG, "acme").release_settings()


def test_the_facts_of_a_published_late_release_with_feedback() -> None:
    state = TrackingState(stages=STATE.stages, overdue="2026-12-15", feedback=(31,))
    found = facts(feedback_issues=(Item(31, "Login broken"),))
    told = announce_facts(found, settings(), state, NotesSummary(), tracking_number=3)
    assert told.stage == "deploy" and told.stage_title == "Deploy" and told.stage_began == "2026-12-14"
    assert told.published_tag == "v1.4.0" and told.release_url.endswith("/releases/tag/v1.4.0")
    assert told.late and told.due_day == "2026-12-15"
    assert [(r.number, r.title, r.url) for r in told.feedback] == [
        (31, "Login broken", "https://gh/acme/rocket/issues/31")
    ]
    assert told.tracking_url == "https://gh/acme/rocket/issues/3"


def test_a_draft_is_not_published() -> None:
    draft = facts(releases=(Release(1, tag_name="v1.4.0", draft=True),))
    assert announce_facts(draft, settings(), STATE, None, 3).published_tag is None


def test_unusable_channels_are_named_never_their_value() -> None:
    channels = (
        Channel("a", "ANNOUNCE_A_URL", "json", frozenset({"stage"})),
        Channel("b", "ANNOUNCE_B_URL", "json", frozenset({"stage"})),
    )
    warnings = channel_warnings(channels, {"ANNOUNCE_B_URL": "secret-but-not-a-url"})
    assert "`a`" in warnings[0] and "`ANNOUNCE_A_URL` is not set" in warnings[0]
    assert "`ANNOUNCE_B_URL` does not hold an http(s) URL" in warnings[1]
    assert "secret-but-not-a-url" not in " ".join(warnings)
    assert channel_warnings(channels, URLS) == ()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Any:
    class Calls(list):  # type: ignore[type-arg]
        outcomes: dict[str, Any]

    calls = Calls()
    outcomes: dict[str, Any] = {}

    def fake_send(url: str, body: bytes, content_type: str) -> SendOutcome:
        calls.append((url, body))
        outcome = outcomes.get(url, SendOutcome(True, False, 200))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(release_announce, "send", fake_send)
    calls.outcomes = outcomes
    return calls


def run(state: TrackingState = STATE, **ctx_args: Any) -> tuple[Announcer, TrackingState]:
    announcer = Announcer(ctx(**ctx_args), facts(), settings(), None)
    return announcer, announcer(state, 3)


def test_delivered_moments_are_recorded_and_not_sent_again(sent: Any) -> None:
    announcer, state = run()
    assert set(state.announced) == {
        "a/stage:deploy:2026-12-14",
        "a/published:v1.4.0",
        "b/stage:deploy:2026-12-14",
        "b/published:v1.4.0",
    }
    assert len(sent) == 4 and announcer.error is None
    again, same = run(state)
    assert same is state and len(sent) == 4


def test_a_refusal_is_recorded_as_handled_and_a_failure_is_tried_again(sent: Any) -> None:
    sent.outcomes["https://hooks.example/a"] = SendOutcome(False, True, 404, "refused")
    sent.outcomes["https://hooks.example/b"] = SendOutcome(False, False, 503, "the receiver answered 503")
    announcer, state = run()
    assert set(state.announced) == {"a/stage:deploy:2026-12-14", "a/published:v1.4.0"}
    assert isinstance(announcer.error, AnnouncementFailed) and "503" in str(announcer.error)
    assert "hooks.example" not in str(announcer.error)


def test_a_long_wait_stops_the_rest_until_the_job_comes_back(sent: Any) -> None:
    sent.outcomes["https://hooks.example/a"] = RetryLater(0, "wait")
    announcer, state = run()
    assert state.announced == () and isinstance(announcer.error, RetryLater) and len(sent) == 1


def test_no_channel_no_url_nothing_sent(sent: Any) -> None:
    assert run(urls={})[1] is STATE and sent == []
    assert run(config={})[1] is STATE and sent == []
