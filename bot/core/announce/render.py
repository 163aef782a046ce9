"""An announcement written for its channel: Slack (incoming-webhook JSON with mrkdwn), Microsoft
Teams (an Adaptive Card, as Teams' workflow webhooks take it) or plain JSON. Pure.

The message says what the release means to its users: the version and where it stands (the stage,
published, late, feedback), what ships (the release notes' highlights by category, bounded), and
where to read more. Everything people wrote (titles, category names) is user text: one line,
bounded, and escaped for the target — Slack's mrkdwn control characters ``&``, ``<``, ``>`` as
entities (so no ``<!channel>`` or forged link can come from a title), Markdown's specials
backslash-escaped for Teams; JSON carries it verbatim (JSON escaping is the encoder's).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.core.announce.model import FEEDBACK, LATE, PUBLISHED, STAGE, AnnounceFacts, Moment, Ref

MAX_TITLE = 150
MAX_PER_CATEGORY = 5  # items named per category; the rest are counted
MAX_CATEGORIES = 8
MAX_FEEDBACK = 10


def one_line(text: str, limit: int = MAX_TITLE) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class _Style:
    """Plain text: no markup, links as 'label (url)'."""

    def text(self, value: str) -> str:
        return one_line(value)

    def bold(self, escaped: str) -> str:
        return escaped

    def link(self, url: str, escaped_label: str) -> str:
        return f"{escaped_label} ({url})" if url else escaped_label


class _Slack(_Style):
    def text(self, value: str) -> str:
        return one_line(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def bold(self, escaped: str) -> str:
        return f"*{escaped}*"

    def link(self, url: str, escaped_label: str) -> str:
        if not url:
            return escaped_label
        safe = quote(url, safe=":/?#[]@!$&'()*+,;=%-._~")  # no '<', '>', '|' can end the link early
        return f"<{safe.replace('&', '&amp;')}|{escaped_label}>"


_MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|>~<"


class _Teams(_Style):
    def text(self, value: str) -> str:
        return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in one_line(value))

    def bold(self, escaped: str) -> str:
        return f"**{escaped}**"

    def link(self, url: str, escaped_label: str) -> str:
        return f"[{escaped_label}]({quote(url, safe=':/?#@!$&*+,;=%-._~')})" if url else escaped_label


@dataclass(frozen=True)
class _Parts:
    headline: str
    details: tuple[str, ...]  # feedback items, then "what ships" lines
    links: str


def _ref(style: _Style, ref: Ref) -> str:
    return style.link(ref.url, f"#{ref.number}") + " " + style.text(ref.title)


def _headline(style: _Style, facts: AnnounceFacts, moment: Moment) -> str:
    release = style.bold(style.text(f"v{facts.version}")) + " of " + style.text(facts.repo)
    if moment.kind == STAGE:
        stage = style.bold(style.text(facts.stage_title or facts.stage or ""))
        since = f" (since {facts.stage_began})" if facts.stage_began else ""
        return f"Release {release} is now in {stage}{since}."
    if moment.kind == PUBLISHED:
        return f"Release {release} is published: {style.text(facts.published_tag or '')}."
    if moment.kind == LATE:
        return f"Release {release} is late: it was due {facts.due_day} and is not published yet."
    return f"Post-release feedback on release {release}:"


def _highlights(style: _Style, facts: AnnounceFacts) -> list[str]:
    lines = []
    for highlight in facts.highlights[:MAX_CATEGORIES]:
        if not highlight.items:
            continue
        named = ", ".join(_ref(style, r) for r in highlight.items[:MAX_PER_CATEGORY])
        more = len(highlight.items) - MAX_PER_CATEGORY
        tail = f" and {more} more" if more > 0 else ""
        lines.append(f"{style.bold(style.text(highlight.category))}: {named}{tail}")
    return lines


def _links(style: _Style, facts: AnnounceFacts) -> str:
    pairs = [
        ("Tracking issue", facts.tracking_url),
        ("Milestone", facts.milestone_url),
        ("Release notes", facts.release_url),
    ]
    return " · ".join(style.link(url, label) for label, url in pairs if url)


def _parts(style: _Style, facts: AnnounceFacts, moments: Sequence[Moment]) -> _Parts:
    first = moments[0]
    details: list[str] = []
    if first.kind == FEEDBACK:
        refs = [m.ref for m in moments if m.ref is not None]
        details += [f"• {_ref(style, r)}" for r in refs[:MAX_FEEDBACK]]
        if len(refs) > MAX_FEEDBACK:
            details.append(f"… and {len(refs) - MAX_FEEDBACK} more")
    else:
        shipped = _highlights(style, facts)
        if shipped:
            verb = "What ships" if first.kind != PUBLISHED else "What shipped"
            details += [f"{style.bold(verb)}:", *(f"• {line}" for line in shipped)]
    return _Parts(_headline(style, facts, first), tuple(details), _links(style, facts))


def _slack(facts: AnnounceFacts, moments: Sequence[Moment]) -> dict[str, Any]:
    parts = _parts(_Slack(), facts, moments)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": parts.headline}}]
    if parts.details:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(parts.details)}})
    if parts.links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": parts.links}]})
    # ``text`` is the notification's fallback; Slack reads it as mrkdwn too, so it is escaped alike.
    return {"text": parts.headline, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def _teams(facts: AnnounceFacts, moments: Sequence[Moment]) -> dict[str, Any]:
    parts = _parts(_Teams(), facts, moments)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": parts.headline, "wrap": True, "weight": "Bolder"}
    ]
    body += [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in parts.details]
    if parts.links:
        body.append({"type": "TextBlock", "text": parts.links, "wrap": True, "isSubtle": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def announcement_id(facts: AnnounceFacts, channel: str, moments: Sequence[Moment]) -> str:
    """A stable id of one message (the same moments to the same channel): a receiver may drop a
    repeat of an id it has seen (the bot sends again only if it died between send and record)."""
    text = "\0".join([facts.repo.lower(), str(facts.milestone_number), channel, *(m.key for m in moments)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _json(facts: AnnounceFacts, moments: Sequence[Moment], channel: str) -> dict[str, Any]:
    parts = _parts(_Style(), facts, moments)
    return {
        "id": announcement_id(facts, channel, moments),
        "channel": channel,
        "repository": facts.repo,
        "milestone": facts.milestone_number,
        "version": facts.version,
        "moments": [{"kind": m.kind, "key": m.key} for m in moments],
        "stage": facts.stage,
        "stage_title": facts.stage_title,
        "stage_began": facts.stage_began,
        "published_tag": facts.published_tag,
        "due": facts.due_day,
        "late": facts.late and not facts.published_tag,
        "feedback": [
            {"number": m.ref.number, "title": m.ref.title, "url": m.ref.url}
            for m in moments
            if m.ref is not None
        ],
        "highlights": [
            {
                "category": h.category,
                "items": [{"number": r.number, "title": r.title, "url": r.url} for r in h.items],
            }
            for h in facts.highlights
        ],
        "links": {
            "tracking_issue": facts.tracking_url,
            "milestone": facts.milestone_url,
            "release": facts.release_url,
        },
        "text": "\n".join([parts.headline, *parts.details, parts.links]).strip(),
    }


def render(fmt: str, facts: AnnounceFacts, moments: Sequence[Moment], channel: str = "") -> tuple[bytes, str]:
    """(body, content type) of the message announcing ``moments`` in format ``fmt``."""
    if fmt == "slack":
        payload = _slack(facts, moments)
    elif fmt == "teams":
        payload = _teams(facts, moments)
    elif fmt == "json":
        payload = _json(facts, moments, channel)
    else:
        raise ValueError(f"unknown announcement format {fmt!r}")
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode(), "application/json"
