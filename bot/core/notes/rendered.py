"""What rendering gives back, whichever format wrote the notes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.notes.model import NoteItem

# GitHub refuses release bodies over 125,000 characters.
RELEASE_BODY_LIMIT = 125_000
TRUNCATED = "\n\n_The notes were cut short: they exceed GitHub's release size limit._"


@dataclass(frozen=True)
class RenderedCategory:
    title: str
    items: tuple[NoteItem, ...]
    lines: tuple[str, ...]
    collapsed: bool = False


@dataclass(frozen=True)
class RenderedNotes:
    markdown: str
    categories: tuple[RenderedCategory, ...]
    excluded: tuple[int, ...]  # numbers left out by exclusions or a NONE release note
    contributors: tuple[str, ...]
    errors: tuple[str, ...]

    @property
    def collapsed(self) -> tuple[str, ...]:
        return tuple(c.title for c in self.categories if c.collapsed)

    @property
    def included(self) -> tuple[int, ...]:
        # A release-drafter change may sit in several (non-exclusive) categories: each number once.
        return tuple(dict.fromkeys(item.number for c in self.categories for item in c.items))
