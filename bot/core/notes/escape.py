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
# ASCII punctuation: what a backslash escapes in CommonMark (outside code spans).
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
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


def code_spans(text: str) -> list[tuple[int, int]]:
    """The code spans CommonMark reads in ``text``, as (start, end) offsets, read the way CommonMark
    reads them: left to right, a backslash escaping the next punctuation character (so "\\``"
    opens a run of one), a backtick run closed by the next run of the same length.

    Stricter on one point: a span must close on its own line. The first backtick run that does
    not ends the list, because CommonMark may close it on a later line of the paragraph, and from
    there on nothing is surely code: everything after it is escaped as text (safe; at worst a
    reader sees ``&lt;`` inside code)."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in _PUNCTUATION:
            i += 2
            continue
        if char != "`":
            i += 1
            continue
        run_end = i
        while run_end < n and text[run_end] == "`":
            run_end += 1
        closer = _closing_run(text, run_end, run_end - i)
        if closer is None:
            return spans
        spans.append((i, closer))
        i = closer
    return spans


def _closing_run(text: str, start: int, length: int) -> int | None:
    """The end of the first backtick run of exactly ``length`` after ``start`` on the same line."""
    j, n = start, len(text)
    while j < n and text[j] != "\n":
        if text[j] != "`":
            j += 1
            continue
        run_end = j
        while run_end < n and text[run_end] == "`":
            run_end += 1
        if run_end - j == length:
            return run_end
        j = run_end
    return None


def escape_user_text(text: str, *, escape_mentions: bool = True, backslash_chars: str = "") -> str:
    """Escape HTML always; break @mentions and #refs when asked; keep code spans verbatim.

    ``backslash_chars`` is release-drafter's ``change-title-escapes``: characters to prefix with
    a backslash so Markdown shows them literally ('@' and '#' there mean "break the autolink").
    """
    if "`" not in text:
        return _escape_plain(text, escape_mentions=escape_mentions, backslash_chars=backslash_chars)
    parts: list[str] = []
    pos = 0
    for start, end in code_spans(text):
        parts.append(
            _escape_plain(text[pos:start], escape_mentions=escape_mentions, backslash_chars=backslash_chars)
        )
        parts.append(text[start:end])
        pos = end
    parts.append(_escape_plain(text[pos:], escape_mentions=escape_mentions, backslash_chars=backslash_chars))
    return "".join(parts)


def one_line(text: str) -> str:
    """A title on one line: newlines in a title would break the list structure of the notes."""
    return " ".join(text.split())
