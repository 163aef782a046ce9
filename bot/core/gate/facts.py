"""The facts the gate is planned from: one pull request, its timeline, reviews, check and people.

The github layer (``bot.github.gate_io``) builds these from GitHub's JSON; nothing here reads GitHub."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.commands import Command
from bot.core.gate.record import PullSection
from bot.core.gate.settings import GateSettings
from bot.core.permissions import (
    RoleRule,
)


@dataclass(frozen=True)
class MilestoneRef:
    number: int
    title: str


@dataclass(frozen=True)
class PullFacts:
    number: int
    author: str
    base: str
    head_sha: str
    state: str = "open"  # open | closed
    merged: bool = False
    draft: bool = False
    labels: frozenset[str] = frozenset()
    milestone: MilestoneRef | None = None


@dataclass(frozen=True)
class TimelineItem:
    """One timeline entry that matters to the gate, in the timeline's (chronological) order.

    kind: 'labeled' | 'unlabeled' (label, actor) | 'committed' | 'head_ref_force_pushed' (sha)
          | 'commented' (id = comment id) | 'milestoned' | 'demilestoned' (milestone title, actor)
          | 'base_ref_changed' (actor; GitHub's time of a retarget)
    """

    kind: str
    id: int | None = None
    actor: str = ""
    label: str = ""
    sha: str = ""
    created_at: str = ""
    milestone: str = ""


@dataclass(frozen=True)
class Review:
    id: int
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    commit_id: str
    submitted_at: str = ""


@dataclass(frozen=True)
class ExistingCheck:
    id: int
    status: str
    conclusion: str | None
    title: str
    summary: str
    started_at: str = ""  # set by GitHub when the bot first wrote it: when the bot first saw the head


@dataclass(frozen=True)
class CommentFacts:
    """A hinted comment, as read from GitHub (never from the webhook payload)."""

    id: int
    author: str
    body: str
    created_at: str
    commands: tuple[Command, ...]
    handled: bool = False  # the bot already reacted to it: redeliveries do nothing
    # Changed after it was posted (``updated_at`` later than ``created_at``). Anyone with write
    # access can edit anyone's comment, so an edited comment is no longer what its author wrote.
    edited: bool = False


@dataclass(frozen=True)
class GateFacts:
    pull: PullFacts
    settings: GateSettings
    rules: Mapping[str, RoleRule]
    bot_login: str
    timeline: tuple[TimelineItem, ...] = ()
    open_milestones: tuple[MilestoneRef, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)  # for the release-line rule
    existing: ExistingCheck | None = None
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)  # login (lower) -> roles held
    reviews: tuple[Review, ...] = ()
    config_valid: bool = True
    config_error: str | None = None
    # The other open pull requests into a gated branch whose head is this commit, each with its
    # last section from the commit's record (read back from GitHub, not from the record alone).
    others: tuple[PullSection, ...] = ()
    # GitHub's time the head commit became this pull request's head (``bot.github.gate_io.
    # head_arrival``: the pull request's ``created_at`` or the head branch's last push in the
    # repository activity, whichever is later), or "" when GitHub's record cannot prove it.
    head_arrived_at: str = ""

    def roles_of(self, login: str) -> frozenset[str]:
        return self.roles.get(login.lower(), frozenset())
