"""The application/json fast path of ``verify_delivery`` answers exactly as ``Event.from_http``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gidgethub.sansio import Event
from webhook_helpers import SECRET, load_examples, sign

from bot.intake.verify import WebhookRejected, verify_delivery


def _headers(
    body: bytes, content_type: str = "application/json", signature: str | None = None
) -> dict[str, str]:
    return {
        "x-github-event": "milestone",
        "x-github-delivery": "d-1",
        "x-hub-signature-256": signature if signature is not None else sign(body),
        "content-type": content_type,
    }


def test_every_pinned_example_decodes_as_from_http_does(fixtures_dir: Path) -> None:
    for event, _, payload in load_examples(fixtures_dir)[::7]:
        body = json.dumps(payload).encode()
        headers = _headers(body) | {"x-github-event": event}
        fast = verify_delivery(headers, body, SECRET)
        reference = Event.from_http(headers, body, secret=SECRET)
        assert (fast.event, fast.delivery_id, fast.data) == (
            reference.event,
            reference.delivery_id,
            reference.data,
        )


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_wrong_signature_is_401_whatever_the_spelling(content_type: str) -> None:
    body = b'{"action": "created"}'
    with pytest.raises(WebhookRejected) as caught:
        verify_delivery(_headers(body, content_type, sign(b"{}")), body, SECRET)
    assert caught.value.status == 401


@pytest.mark.parametrize("body", [b"{not json", b'{"a": "\xff\xfe"}', b"\xef\xbb\xbf{}"])
def test_undecodable_body_is_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_delivery(_headers(body), body, SECRET)
    assert (caught.value.status, caught.value.message) == (400, "body is not valid JSON")
    # The same answer through gidgethub's from_http (taken for any other spelling of the type).
    with pytest.raises(WebhookRejected) as reference:
        verify_delivery(_headers(body, "application/json; charset=utf-8"), body, SECRET)
    assert (reference.value.status, reference.value.message) == (400, "body is not valid JSON")


def test_without_a_secret_nothing_is_checked_but_the_body_is_decoded() -> None:
    body = b'{"action": "closed"}'
    event = verify_delivery(_headers(body, signature=""), body, None)
    assert event.data == {"action": "closed"}
