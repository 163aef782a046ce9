"""The announcement vocabulary: channels as configured, the release's facts a message is made of,
the moments worth announcing and the deliveries planned. Plain frozen values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

# What a channel may ask to hear about (``when:``): each stage change, the GitHub Release's
# publication, the due date passing unpublished, an issue listed as post-release feedback.
STAGE, PUBLISHED, LATE, FEEDBACK = "stage", "published", "late", "feedback"
MOMENT_KINDS = (STAGE, PUBLISHED, LATE, FEEDBACK)
FORMATS = ("slack", "teams", "json")


@dataclass(frozen=True)
class Channel:
    """One entry of ``announce.channels``: where (the URL lives in the environment variable
    ``url_env``, never in the repository), in which format, about what."""

    name: str
    url_env: str
    format: str  # slack | teams | json
    when: frozenset[str]


@dataclass(frozen=True)
class Ref:
    """An issue or pull request as a message lists it (user text: escaped by each format)."""

    number: int
    title: str
    url: str = ""


@dataclass(frozen=True)
class Highlight:
    """One category of the release notes and what it ships."""

    category: str
    items: tuple[Ref, ...]


@dataclass(frozen=True)
class AnnounceFacts:
    """The release as an announcement tells it, after this reconcile's plan."""

    repo: str
    milestone_number: int
    version: str
    stage: str | None = None
    stage_title: str | None = None
    stage_began: str | None = None  # ISO day
    published_tag: str | None = None  # the final tag, once the GitHub Release on it is published
    due_day: str | None = None
    late: bool = False  # the due date was recorded as passed, the release not published
    feedback: tuple[Ref, ...] = ()
    highlights: tuple[Highlight, ...] = ()
    tracking_url: str = ""
    milestone_url: str = ""
    release_url: str = ""


@dataclass(frozen=True)
class Moment:
    """Something that happened once: ``key`` names it for good (recorded once announced)."""

    kind: str
    key: str  # "stage:uat:2026-12-01", "published:v1.4.0", "late:2026-12-01", "feedback:42"
    ref: Ref | None = None  # the feedback issue


@dataclass(frozen=True)
class Delivery:
    """One message to one channel, and the moments it announces (recorded once it is delivered)."""

    channel: Channel
    moments: tuple[Moment, ...]
    body: bytes
    content_type: str = "application/json"

    @property
    def records(self) -> tuple[str, ...]:
        return tuple(record_key(self.channel.name, m.key) for m in self.moments)


def record_key(channel: str, moment_key: str) -> str:
    """What the release record keeps of one announcement: ``{channel}/{moment}``."""
    return f"{channel}/{moment_key}"
