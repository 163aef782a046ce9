"""Release-note blocks in pull request bodies (Prow's convention) and the bot-owned section
that ``/release-note <text>`` writes.

A pull request body may carry::

    ```release-note
    Text that replaces the title in the notes.
    ```

``NONE`` (any case) or the label ``release-note-none`` leaves the pull request out. The command
``/release-note <text>`` writes such a block between the bot's markers so the notes never need to
read comments; that section wins over a block people wrote elsewhere in the body, because it is
the most recent explicit statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NONE_LABEL = "release-note-none"
# The start marker names the comment that wrote the section, so a replayed older command never
# overwrites a newer one: ``<!-- release-bot:release-note:{comment_id} -->``.
SECTION_START = "<!-- release-bot:release-note:{source} -->"
SECTION_END = "<!-- release-bot:release-note-end -->"

# A fence of 3+ backticks or tildes, info string "release-note", closed by the same fence.
_BLOCK = re.compile(
    r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*release-note[ \t]*\r?\n"
    r"(?P<text>.*?)^[ ]{0,3}(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_SECTION = re.compile(
    r"<!-- release-bot:release-note(?::(?P<source>\d+))? -->.*?" + re.escape(SECTION_END), re.DOTALL
)


@dataclass(frozen=True)
class ReleaseNote:
    text: str | None  # None: no block, use the title
    drop: bool  # NONE: leave the pull request out of the notes


def _first_block(body: str) -> str | None:
    m = _BLOCK.search(body)
    return m.group("text").replace("\r\n", "\n").strip() if m else None


def release_note_of(body: str | None, labels: tuple[str, ...] = ()) -> ReleaseNote:
    """What the notes should say for a pull request with this body and these labels."""
    if any(label.casefold() == NONE_LABEL for label in labels):
        return ReleaseNote(None, True)
    body = body or ""
    if "release-note" not in body:
        return ReleaseNote(None, False)  # the common case, without a regex pass
    text = None
    section = _SECTION.search(body)
    if section:
        text = _first_block(section.group(0))
    if text is None:
        text = _first_block(body)
    if text is None or text == "":
        return ReleaseNote(None, False)
    if text.strip().upper() in {"NONE", "N/A", "NA"}:
        return ReleaseNote(None, True)
    return ReleaseNote(text, False)


def _fence_for(text: str) -> str:
    # A fence longer than any backtick run in the text, so the text cannot close it early.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def release_note_source(body: str | None) -> int | None:
    """The id of the comment that last wrote the bot's section, if any."""
    m = _SECTION.search(body or "")
    return int(m.group("source")) if m and m.group("source") else None


def with_release_note_section(body: str | None, text: str, source_id: int = 0) -> str:
    """Return ``body`` with the bot-owned release-note section set to ``text`` (added at the end
    the first time, replaced in place afterwards); everything else in the body is kept.
    ``source_id`` is the comment that asked for it."""
    text = text.replace("\r\n", "\n").strip()
    fence = _fence_for(text)
    start = SECTION_START.format(source=int(source_id))
    section = f"{start}\n{fence}release-note\n{text}\n{fence}\n{SECTION_END}"
    body = body or ""
    if _SECTION.search(body):
        return _SECTION.sub(lambda _m: section, body, count=1)
    if not body.strip():
        return section
    return body.rstrip("\n") + "\n\n" + section
