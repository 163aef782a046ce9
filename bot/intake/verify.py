"""Checking one webhook delivery before anything else looks at it.

Signature verification and body decoding are gidgethub's (``gidgethub.sansio.Event.from_http``;
for the plain ``application/json`` GitHub sends, its ``validate_event`` and the same one UTF-8 +
JSON decode, without from_http's per-delivery content-type parsing). This module adds the rules
GitHub's library leaves to the caller:

- only ``X-Hub-Signature-256`` counts: gidgethub falls back to the SHA-1 ``X-Hub-Signature``,
  which we refuse (SHA-1 HMAC is deprecated by GitHub and weaker than what GitHub always sends);
- a missing ``X-GitHub-Event`` or ``X-GitHub-Delivery`` is a 400 (gidgethub would raise KeyError);
- content types: ``application/json`` (what GitHub Apps send) and, as gidgethub accepts it,
  ``application/x-www-form-urlencoded`` with the JSON in a ``payload=`` field (what a repository or
  organization webhook configured for "form" sends). Both are signed over the raw body, so
  accepting the form costs no safety. Anything else is 415.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from gidgethub import BadRequest, ValidationFailure
from gidgethub.sansio import Event, validate_event

ACCEPTED_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")


@dataclass
class WebhookRejected(Exception):
    """The delivery is refused with this HTTP status and a message for the sender."""

    status: int
    message: str

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def _media_type(content_type: str | None) -> str | None:
    """'application/json; charset=utf-8' -> 'application/json' (RFC 9110: case-insensitive)."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def verify_delivery(headers: Mapping[str, str], body: bytes, secret: str | None) -> Event:
    """Return the verified, decoded event or raise ``WebhookRejected``.

    ``headers`` must allow lower-case look-ups (werkzeug's headers do, case-insensitively).
    ``secret`` None means no verification: only sandbox mode may call it so (Settings refuses to
    start otherwise).
    """
    event_name = headers.get("x-github-event")
    delivery_id = headers.get("x-github-delivery")
    if not event_name:
        raise WebhookRejected(400, "missing X-GitHub-Event header")
    if not delivery_id:
        raise WebhookRejected(400, "missing X-GitHub-Delivery header")
    if len(delivery_id) > 200:
        raise WebhookRejected(400, "X-GitHub-Delivery header is too long")

    signature = headers.get("x-hub-signature-256")
    if secret is not None:
        if not signature:
            if headers.get("x-hub-signature"):
                raise WebhookRejected(401, "only X-Hub-Signature-256 (HMAC SHA-256) is accepted, not SHA-1")
            raise WebhookRejected(401, "missing X-Hub-Signature-256 header")
        if not signature.startswith("sha256="):
            raise WebhookRejected(401, "X-Hub-Signature-256 must start with 'sha256='")

    media_type = _media_type(headers.get("content-type"))
    if media_type not in ACCEPTED_CONTENT_TYPES:
        raise WebhookRejected(
            415,
            f"content type {media_type or 'missing'!s}; expected application/json (or a form with payload=)",
        )
    if not body:
        raise WebhookRejected(400, "empty body")

    content_type = headers.get("content-type", "")
    if content_type == "application/json":
        return _json_event(event_name, delivery_id, signature, body, secret)
    # Hand gidgethub exactly the headers we vetted, so its SHA-1 fallback can never be taken.
    vetted = {
        "x-github-event": event_name,
        "x-github-delivery": delivery_id,
        "content-type": content_type,
    }
    if secret is not None and signature:
        vetted["x-hub-signature-256"] = signature
    try:
        event = Event.from_http(vetted, body, secret=secret)
    except ValidationFailure:
        raise WebhookRejected(
            401, "X-Hub-Signature-256 does not match the body and the webhook secret"
        ) from None
    except BadRequest as exc:
        if int(exc.status_code) == 415:
            # The media type was vetted above, so gidgethub's 415 means the body did not decode
            # (it wraps JSON and form errors alike).
            if media_type == "application/x-www-form-urlencoded":
                raise WebhookRejected(400, "form body has no valid JSON payload= field") from None
            raise WebhookRejected(400, "body is not valid JSON") from None
        raise WebhookRejected(int(exc.status_code), str(exc) or "bad request") from None
    except (ValueError, KeyError, IndexError):
        raise WebhookRejected(400, "body is not valid JSON") from None
    except RecursionError:
        raise WebhookRejected(400, _TOO_DEEP) from None
    _refuse_lone_surrogates(body, event.data)
    return event


def _json_event(
    event_name: str, delivery_id: str, signature: str | None, body: bytes, secret: str | None
) -> Event:
    """``Event.from_http`` for the bare ``application/json`` content type that GitHub sends, minus
    its content-type parsing (an ``email.message.Message`` per delivery, a measurable share of
    the endpoint's CPU): the same gidgethub signature check, the same decoding (UTF-8, then JSON,
    once), the same errors. Any other spelling of the content type goes through ``from_http``."""
    if secret is not None:
        try:
            validate_event(body, signature=signature or "", secret=secret)
        except ValidationFailure:
            raise WebhookRejected(
                401, "X-Hub-Signature-256 does not match the body and the webhook secret"
            ) from None
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError alike, as in from_http
        raise WebhookRejected(400, "body is not valid JSON") from None
    except RecursionError:
        raise WebhookRejected(400, _TOO_DEEP) from None
    _refuse_lone_surrogates(body, data)
    return Event(data, event=event_name, delivery_id=delivery_id)


_TOO_DEEP = "body is nested too deeply to be a webhook payload"


def _refuse_lone_surrogates(body: bytes, data: object) -> None:
    """A ``\\ud800`` escape without its pair decodes to a string that is not Unicode text: it
    cannot be stored, hashed or logged as UTF-8, and GitHub never sends one. Raw UTF-8 cannot
    carry a surrogate, so only bodies with a ``\\ud8…``-``\\udf…`` escape need the walk."""
    if b"\\ud" not in body and b"\\uD" not in body and b"%5Cu" not in body and b"%5cu" not in body:
        return
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise WebhookRejected(
                    400, "body holds an unpaired UTF-16 surrogate escape: not valid Unicode text"
                ) from None
