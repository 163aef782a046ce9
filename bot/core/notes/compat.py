"""Pieces the two compatible formats (release-drafter's, GitHub's) share."""

from __future__ import annotations

import re

from bot.core.notes.blocks import release_note_of
from bot.core.notes.model import NoteItem
from bot.core.notes.rendered import TRUNCATED

_MARKER_LINE = re.compile(r"^([ \t]*)(<!-- release-bot:)", re.MULTILINE)


def shown_title(item: NoteItem) -> str | None:
    """The title, or the text of the pull request's release-note block; None for a NONE note.
    A body without a block (the case of every file that does not ask for blocks) shows the title
    as it is."""
    note = release_note_of(item.body, item.labels) if item.is_pull_request else None
    if note is not None and note.drop:
        return None
    if note is not None and note.text is not None:
        return "\n  ".join(line.rstrip() for line in note.text.splitlines())
    return item.title


def login_of(item: NoteItem) -> str:
    """The author's login as GitHub's web pages spell it (``gh`` writes apps as ``app/name``)."""
    return item.author.removeprefix("app/")


def is_bot(item: NoteItem) -> bool:
    return item.author_is_bot or item.author.startswith("app/") or item.author.endswith("[bot]")


def bot_name(item: NoteItem) -> str:
    return login_of(item).removesuffix("[bot]")


def disarm_markers(markdown: str) -> str:
    """A line of user text (a pull request body in ``$BODY``) that reads like the bot's section
    marker would end the bot's section early; an empty comment in front makes it no marker and
    changes nothing a reader sees."""
    if "<!-- release-bot:" not in markdown:
        return markdown
    return _MARKER_LINE.sub(lambda m: m.group(1) + "<!---->" + m.group(2), markdown)


def fit(markdown: str, limit: int, errors: list[str]) -> str:
    if len(markdown) <= limit:
        return markdown
    errors.append("release notes exceed the size limit: cut short")
    return markdown[: max(0, limit - len(TRUNCATED))] + TRUNCATED
