"""The bot's marked section inside a release body.

The bot owns only the text between its two marker lines; whatever people write above or below
survives every rebuild. The start marker also identifies the release as the notes of one
milestone (``<!-- release-bot:notes:{milestone_number} -->``). Markers count only as whole lines,
so a title that contains marker text (in a code span, say) can never close the section early.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.notes.render import RELEASE_BODY_LIMIT

# Room kept for the markers and the blank lines around the section.
_SECTION_OVERHEAD = 200


def start_marker(milestone_number: int | str) -> str:
    return f"<!-- release-bot:notes:{milestone_number} -->"


def end_marker(milestone_number: int | str) -> str:
    return f"<!-- release-bot:notes-end:{milestone_number} -->"


@dataclass(frozen=True)
class SplitBody:
    before: str  # human text above the section (or the whole body when there is no section)
    section: str | None  # the bot's text between the markers; None when there is no section
    after: str


def _lines(body: str) -> list[str]:
    return body.replace("\r\n", "\n").split("\n")


def split_body(body: str | None, milestone_number: int | str) -> SplitBody:
    lines = _lines(body or "")
    start, end = start_marker(milestone_number), end_marker(milestone_number)
    stripped = [line.strip() for line in lines]
    if start not in stripped:
        return SplitBody("\n".join(lines), None, "")
    i = stripped.index(start)
    # A missing end marker (someone deleted it) means the section runs to the end of the body.
    j = next((k for k in range(i + 1, len(lines)) if stripped[k] == end), len(lines))
    return SplitBody("\n".join(lines[:i]), "\n".join(lines[i + 1 : j]).strip("\n"), "\n".join(lines[j + 1 :]))


def has_notes_marker(body: str | None, milestone_number: int | str) -> bool:
    return split_body(body, milestone_number).section is not None


def notes_budget(body: str | None, milestone_number: int | str, limit: int = RELEASE_BODY_LIMIT) -> int:
    """Characters left for the notes once the human text around the section is kept."""
    parts = split_body(body, milestone_number)
    return max(0, limit - len(parts.before) - len(parts.after) - _SECTION_OVERHEAD)


def merge_release_body(body: str | None, notes_markdown: str, milestone_number: int | str) -> str:
    """The release body with the bot's section set to ``notes_markdown``, human text kept.

    A body without the section (a release someone else created for the tag) keeps its text on
    top and gets the section below it.
    """
    parts = split_body(body, milestone_number)
    section = (
        f"{start_marker(milestone_number)}\n{notes_markdown.strip(chr(10))}\n{end_marker(milestone_number)}"
    )
    if parts.section is not None:
        return _join_in_place(parts, section)
    before = parts.before.rstrip("\n")
    return f"{before}\n\n{section}" if before.strip() else section


def _join_in_place(parts: SplitBody, section: str) -> str:
    # Keep the human text byte for byte, including its own blank lines around the section.
    out = parts.before + ("\n" if parts.before else "") + section
    if parts.after:
        out += "\n" + parts.after
    return out


def carry_human_text(body: str, donor: str | None, milestone_number: int | str) -> str:
    """``body`` (which has the bot's section) with the human text of ``donor`` added around it:
    what people wrote above the section in ``donor`` goes above it, what they wrote below goes
    below. Text already present in ``body`` is not added again, so carrying twice (a crash
    between the update and the deletion of the donor) changes nothing.
    """
    given = split_body(donor, milestone_number)
    parts = split_body(body, milestone_number)
    if given.section is None or parts.section is None:
        return body
    normalized = body.replace("\r\n", "\n")
    above, below = given.before.strip("\n"), given.after.strip("\n")
    add_above = bool(above.strip()) and above not in normalized
    add_below = bool(below.strip()) and below not in normalized
    if not add_above and not add_below:
        return body
    lines = _lines(body)
    stripped = [line.strip() for line in lines]
    i = stripped.index(start_marker(milestone_number))
    end = end_marker(milestone_number)
    j = next((k for k in range(i + 1, len(lines)) if stripped[k] == end), len(lines) - 1)
    head = "\n".join(lines[:i]).rstrip("\n")
    middle = "\n".join(lines[i : j + 1])
    tail = "\n".join(lines[j + 1 :]).lstrip("\n")
    if add_above:
        head = f"{head}\n\n{above}" if head.strip() else above
    if add_below:
        tail = f"{below}\n\n{tail}" if tail.strip() else below
    return "\n\n".join(part for part in (head, middle, tail) if part.strip())
