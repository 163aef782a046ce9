"""The working state of one gate evaluation: the record being built and the writes planned so far."""

from __future__ import annotations

from typing import Literal

from bot.core.gate.facts import GateFacts, MilestoneRef, TimelineItem
from bot.core.gate.plan import Reply
from bot.core.gate.record import GateRecord
from bot.core.gate.timeline import has_label


class Work:
    """Mutable state while planning: the labels as they will be, the record as it will be."""

    def __init__(self, facts: GateFacts, record: GateRecord) -> None:
        self.facts = facts
        self.labels = {label.lower(): label for label in facts.pull.labels}
        self.record = record
        self.add: dict[str, str] = {}
        self.remove: dict[str, str] = {}
        self.replies: list[Reply] = []
        self.reactions: list[tuple[int, str]] = []
        self.milestone: MilestoneRef | None | Literal["keep"] = "keep"
        # label (lower) -> the reply to send if its removal goes ahead (a command may supersede it)
        self.pending_refusals: dict[str, Reply] = {}
        self.stale: set[str] = set()  # labels given on an earlier head commit
        # label (lower) -> (its labeled event, when the bot first saw the head or None): allowed
        # people's labels that the timeline puts on the head but that predate the bot's first sight
        self.unproven: dict[str, tuple[TimelineItem, str | None]] = {}
        # The release the record was given for, when another release now owns the base branch.
        self.rebound_from: int | None = None
        self.milestone_setter = ""  # who set the milestone, when they may not (the check says so)

    def has(self, label: str) -> bool:
        return label.lower() in self.labels

    def add_label(self, label: str) -> None:
        key = label.lower()
        self.remove.pop(key, None)
        self.pending_refusals.pop(key, None)
        if key not in self.labels:
            self.labels[key] = label
            if not has_label(self.facts.pull.labels, label):
                self.add[key] = label

    def remove_label(self, label: str) -> None:
        key = label.lower()
        self.add.pop(key, None)
        if key in self.labels:
            del self.labels[key]
            if has_label(self.facts.pull.labels, label):
                self.remove[key] = label
