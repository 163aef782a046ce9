"""Which announcements are due: the release's moments, less those already made, per channel. Pure.

A moment is due once per channel: its record key (``{channel}/{moment}``) goes into the release
record (``TrackingState.announced``) when the message is delivered, so a replayed event, a rerun or a
wiped store finds it there and sends nothing. Only what holds now is a moment: the current stage
(from the day it began: a release sent back to UAT is announced again), the publication, the due
date passed unpublished, the feedback issues listed. A stage the release passed through before a
channel existed is not announced after the fact.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.core.announce.model import (
    FEEDBACK,
    LATE,
    PUBLISHED,
    STAGE,
    AnnounceFacts,
    Channel,
    Delivery,
    Moment,
    record_key,
)
from bot.core.announce.render import render


def moments_of(facts: AnnounceFacts) -> tuple[Moment, ...]:
    """What holds about the release now, each named for good."""
    out: list[Moment] = []
    if facts.stage and facts.stage_began:
        out.append(Moment(STAGE, f"stage:{facts.stage}:{facts.stage_began}"))
    if facts.published_tag:
        out.append(Moment(PUBLISHED, f"published:{facts.published_tag}"))
    elif facts.late and facts.due_day:
        out.append(Moment(LATE, f"late:{facts.due_day}"))
    for ref in sorted(facts.feedback, key=lambda r: r.number):
        out.append(Moment(FEEDBACK, f"feedback:{ref.number}", ref))
    return tuple(out)


def plan_announcements(
    facts: AnnounceFacts,
    channels: Sequence[Channel],
    announced: Collection[str],
    usable: Collection[str],
) -> tuple[Delivery, ...]:
    """The messages to send now: per channel whose URL is set (``usable``: channel names), one per
    moment it asks for (``when``) and has not announced; the feedback issues found together go in
    one message."""
    done = set(announced)
    deliveries: list[Delivery] = []
    moments = moments_of(facts)
    for channel in channels:
        if channel.name not in usable:
            continue
        due = [m for m in moments if m.kind in channel.when and record_key(channel.name, m.key) not in done]
        singles = [m for m in due if m.kind != FEEDBACK]
        feedback = tuple(m for m in due if m.kind == FEEDBACK)
        groups = [(m,) for m in singles] + ([feedback] if feedback else [])
        for group in groups:
            body, content_type = render(channel.format, facts, group, channel.name)
            deliveries.append(Delivery(channel, group, body, content_type))
    return tuple(deliveries)


def missing_urls(channels: Sequence[Channel], env_names: Collection[str]) -> tuple[Channel, ...]:
    """The channels whose environment variable is not set (reported, never a crash)."""
    return tuple(c for c in channels if c.url_env not in env_names)


def missing_url_warning(channel: Channel) -> str:
    """What the tracking issue says of a channel that cannot be used (names only: never a URL)."""
    return (
        f"Announcements: channel `{channel.name}` is not announced to: the environment variable "
        f"`{channel.url_env}` is not set for release-bot. Set it to the channel's webhook URL where the "
        "bot runs (the URL is a secret: it belongs in the environment, never in the repository)."
    )
