"""Announcements of a release to the people who do not live on GitHub (``announce.channels``).

``plan.plan_announcements`` decides which moments are due per channel from the release's facts
and the record of what was announced; ``render.render`` writes the message in the channel's
format (Slack incoming-webhook JSON, Microsoft Teams, plain JSON). Pure: the worker's apply step
(``bot.reconcilers.release_announce``) sends and records.
"""

from bot.core.announce.model import (
    FEEDBACK,
    FORMATS,
    LATE,
    MOMENT_KINDS,
    PUBLISHED,
    STAGE,
    AnnounceFacts,
    Channel,
    Delivery,
    Highlight,
    Moment,
    Ref,
    record_key,
)
from bot.core.announce.plan import missing_url_warning, missing_urls, moments_of, plan_announcements
from bot.core.announce.render import render

__all__ = [
    "FEEDBACK",
    "FORMATS",
    "LATE",
    "MOMENT_KINDS",
    "PUBLISHED",
    "STAGE",
    "AnnounceFacts",
    "Channel",
    "Delivery",
    "Highlight",
    "Moment",
    "Ref",
    "missing_url_warning",
    "missing_urls",
    "moments_of",
    "plan_announcements",
    "record_key",
    "render",
]
