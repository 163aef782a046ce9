"""Echo subjects: what a write will be heard as, what a delivery is about, and which jobs may skip."""

from __future__ import annotations

from bot.core.echoes import (
    SENDERS_HINT,
    SUBJECTS_HINT,
    echo_hints,
    event_subject,
    only_own_echoes,
    write_subject,
)

BOT = "release-bot[bot]"
API = "http://127.0.0.1:1/api/v3/repos/acme/rocket"


def test_writes_name_the_issue_comment_or_releases_they_change() -> None:
    assert write_subject(f"{API}/issues/5", "PATCH") == "issue:5"
    assert write_subject(f"{API}/issues/5/comments", "POST") == "issue:5"
    assert write_subject(f"{API}/issues/5/labels", "POST") == "issue:5"
    assert write_subject(f"{API}/issues/5/labels/hold", "DELETE") == "issue:5"
    assert write_subject(f"{API}/issues/comments/77", "PATCH") == "comment:77"
    # Writes to releases change what the plan reads next (a published release ticks Deploy): never
    # recorded, so their webhooks always reconcile.
    assert write_subject(f"{API}/releases/9", "PATCH") is None
    assert write_subject(f"{API}/releases", "POST") is None
    # No webhook a reconciler hears: reactions, check runs, refs; and a read is no write.
    assert write_subject(f"{API}/issues/comments/77/reactions", "POST") is None
    assert write_subject(f"{API}/check-runs/3", "PATCH") is None
    assert write_subject(f"{API}/git/refs", "POST") is None
    assert write_subject(f"{API}/issues/5", "GET") is None
    assert write_subject("http://127.0.0.1:1/api/v3/app/installations/1/access_tokens", "POST") is None


def test_events_name_their_subject_in_the_same_words() -> None:
    assert event_subject("issues", {"action": "edited", "issue": {"number": 5}}) == "issue:5"
    assert event_subject("pull_request", {"action": "labeled", "pull_request": {"number": 7}}) == "issue:7"
    assert event_subject("pull_request", {"action": "synchronize", "pull_request": {"number": 7}}) is None
    created = {"action": "created", "issue": {"number": 5}, "comment": {"id": 77}}
    assert event_subject("issue_comment", created) == "issue:5"
    assert event_subject("issue_comment", {**created, "action": "edited"}) == "comment:77"
    assert event_subject("release", {"action": "edited"}) == "releases"
    assert event_subject("push", {"ref": "refs/heads/main"}) is None


def test_a_bots_delivery_carries_its_subject_a_persons_only_its_sender() -> None:
    bot = {"type": "Bot", "login": "Release-Bot[bot]"}
    assert echo_hints("issues", {"action": "edited", "issue": {"number": 5}, "sender": bot}) == {
        SENDERS_HINT: [BOT],
        SUBJECTS_HINT: ["issue:5"],
    }
    person = {"type": "User", "login": "pm"}
    assert echo_hints("issues", {"action": "edited", "issue": {"number": 5}, "sender": person}) == {
        SENDERS_HINT: ["pm"]
    }
    # A bot's event about nothing a write names can never match the ledger.
    assert echo_hints("push", {"ref": "refs/heads/x", "sender": bot})[SUBJECTS_HINT] == ["?"]
    assert echo_hints("issues", {"action": "edited"}) == {SENDERS_HINT: ["?"]}


def test_only_jobs_of_the_bots_own_plain_events_are_candidates() -> None:
    own = {SENDERS_HINT: [BOT], SUBJECTS_HINT: ["issue:1"], "touched": [], "touched_at": 1.0}
    assert only_own_echoes(own, BOT) == ["issue:1"]
    assert only_own_echoes(own, "other[bot]") is None
    # Coalesced with a person's event: runs.
    assert only_own_echoes({**own, SENDERS_HINT: [BOT, "pm"]}, BOT) is None
    # Hints asking for more than a look at own writes (refs of a push, a fan-out): runs.
    assert only_own_echoes({**own, "refs": ["refs/heads/main"]}, BOT) is None
    assert only_own_echoes({**own, "fan_out": True}, BOT) is None
    assert only_own_echoes({SENDERS_HINT: [BOT]}, BOT) is None
    assert only_own_echoes({}, BOT) is None
