"""Slash commands in comment bodies: `/name args`, one per line, anchored at the line start.

Pure parsing shared by the merge gate (`/uat`, `/approve`, …) and the release tracking issue
(`/stage`, `/uat`). The caller decides which names it knows; unknown names are returned too so
that a caller can answer `/help`-style questions, but never executed by this module.

Why these rules:
- HTML comments are stripped first: GitHub hides them when rendering, so a command inside one is
  invisible to readers and must not act (issue/PR templates often carry example commands there).
- Fenced code blocks are skipped for the same reason: a quoted example is not a request.
- Anchoring at column 0 means quoted replies (`> /approve`) and prose ("type /approve") never act.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Non-greedy across lines; an unterminated comment hides the rest, as GitHub's renderer does.
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_COMMAND_LINE = re.compile(r"^/(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?:[ \t]+(?P<args>.*?))?[ \t]*$")
_FENCE = re.compile(r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})")

# A comment body is at most ~65k characters on GitHub; bound the work on anything larger.
MAX_BODY_CHARS = 70_000
MAX_COMMANDS = 20


@dataclass(frozen=True)
class Command:
    """One parsed command. ``name`` is lower-cased, without the slash; ``args`` the rest, stripped."""

    name: str
    args: str
    line: int  # 1-based line number in the body after HTML comments were removed

    @property
    def argv(self) -> list[str]:
        return self.args.split()

    def __str__(self) -> str:
        return f"/{self.name} {self.args}".rstrip()


def strip_html_comments(text: str) -> str:
    """Remove ``<!-- … -->`` (GitHub does not render them, so they carry no intent)."""
    return _HTML_COMMENT.sub("", text)


def parse_commands(body: str | None, max_commands: int = MAX_COMMANDS) -> list[Command]:
    """Every command line of ``body``, in order. Empty for ``None`` or a body without commands."""
    if not body:
        return []
    text = strip_html_comments(body[:MAX_BODY_CHARS]).replace("\r\n", "\n").replace("\r", "\n")
    commands: list[Command] = []
    open_fence: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group("fence")
            if open_fence is None:
                open_fence = marker
            elif marker[0] == open_fence[0] and len(marker) >= len(open_fence):
                open_fence = None
            continue
        if open_fence is not None:
            continue
        match = _COMMAND_LINE.match(line)
        if not match:
            continue
        commands.append(Command(match.group("name").lower(), (match.group("args") or "").strip(), number))
        if len(commands) >= max_commands:
            break
    return commands
