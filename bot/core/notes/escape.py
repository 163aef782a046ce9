"""Escaping user text (titles, release-note blocks) before it goes into a release body.

Release notes must not ping people or cross-link issues by accident, and must not let a title
inject HTML (or forge the bot's ``<!-- release-bot:… -->`` markers). Code spans are left as
written: inside backticks nothing renders as HTML or as a mention, and escaping them would show
``&lt;`` to readers.
"""

from __future__ import annotations

import html
import re

# An empty HTML comment breaks GitHub's autolinking without changing what readers see
# (release-drafter's technique for '@' and '#').
_BREAK = "<!---->"
# A code span as CommonMark reads one, or stricter: an opening backtick run that is whole (not
# part of a longer run) and not backslash-escaped, closed by a run of the same length on the same
# line. Anything looser lets a title decide where readers see code and where raw HTML
# ("\\`<img …>`" or "``<b>`" render the tag), so text that is not surely code is escaped.
_CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)([^\n]+?)(?<!`)\1(?!`)")
# Not after a word character: "dev@example.com" is an address, not a mention.
_MENTION = re.compile(r"(?<![\w.+-])@(?=[A-Za-z0-9])")
# '#123', 'owner/repo#123' and 'GH-123' all autolink; breaking the '#' or the '-' stops it.
_ISSUE_REF = re.compile(r"#(?=\d)")
_GH_REF = re.compile(r"\b(GH)-(?=\d)", re.IGNORECASE)


def _escape_plain(text: str, *, escape_mentions: bool, backslash_chars: str) -> str:
    out = html.escape(text, quote=False)
    if backslash_chars:
        # '<', '>' and '&' are already entities; a backslash before an entity would show up.
        chars = "".join(c for c in dict.fromkeys(backslash_chars) if c not in "<>&@#")
        if chars:
            out = re.sub("[" + re.escape(chars) + "]", lambda m: "\\" + m.group(0), out)
    # The `in` checks skip a regex pass for the many titles without '@', '#' or '-'.
    if (escape_mentions or "@" in backslash_chars) and "@" in out:
        out = _MENTION.sub("@" + _BREAK, out)
    if escape_mentions or "#" in backslash_chars:
        if "#" in out:
            out = _ISSUE_REF.sub("#" + _BREAK, out)
        if "-" in out:
            out = _GH_REF.sub(lambda m: m.group(1) + _BREAK + "-", out)
    return out


def escape_user_text(text: str, *, escape_mentions: bool = True, backslash_chars: str = "") -> str:
    """Escape HTML always; break @mentions and #refs when asked; keep code spans verbatim.

    ``backslash_chars`` is release-drafter's ``change-title-escapes``: characters to prefix with
    a backslash so Markdown shows them literally ('@' and '#' there mean "break the autolink").
    """
    if "`" not in text:
        return _escape_plain(text, escape_mentions=escape_mentions, backslash_chars=backslash_chars)
    parts: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        parts.append(_escape_plain(text[pos : m.start()], escape_mentions=escape_mentions,
                                   backslash_chars=backslash_chars))
        parts.append(m.group(0))
        pos = m.end()
    parts.append(_escape_plain(text[pos:], escape_mentions=escape_mentions, backslash_chars=backslash_chars))
    return "".join(parts)


def one_line(text: str) -> str:
    """A title on one line: newlines in a title would break the list structure of the notes."""
    return " ".join(text.split())
