"""Release notes, pure: configuration sources → categories → Markdown (no I/O)."""

from bot.core.notes.blocks import release_note_of, release_note_source, with_release_note_section
from bot.core.notes.body import (
    carry_human_text,
    has_notes_marker,
    merge_release_body,
    notes_budget,
    split_body,
)
from bot.core.notes.model import Category, NoteItem, NotesConfig, ReleaseInfo
from bot.core.notes.render import RELEASE_BODY_LIMIT, RenderedNotes, render_notes
from bot.core.notes.selection import (
    CommitRef,
    MergedPull,
    Selection,
    attribute_by_sha,
    pull_numbers_in,
    select_shipped,
    unattributed_commits,
)
from bot.core.notes.sources import check_notes_config, resolve_notes_config
from bot.core.notes.template import TemplateError

__all__ = [
    "RELEASE_BODY_LIMIT",
    "Category",
    "CommitRef",
    "MergedPull",
    "NoteItem",
    "NotesConfig",
    "ReleaseInfo",
    "RenderedNotes",
    "Selection",
    "TemplateError",
    "attribute_by_sha",
    "carry_human_text",
    "check_notes_config",
    "has_notes_marker",
    "merge_release_body",
    "notes_budget",
    "pull_numbers_in",
    "release_note_of",
    "release_note_source",
    "render_notes",
    "resolve_notes_config",
    "select_shipped",
    "split_body",
    "unattributed_commits",
    "with_release_note_section",
]
