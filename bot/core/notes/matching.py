"""Predicates release-drafter's category conditions use: changed-file patterns (gitignore
syntax, as its ``ignore`` dependency reads them) and conventional-commit titles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# conventional-changelog's "conventionalcommits" header patterns (a '!' marks a breaking change).
_HEADER = re.compile(r"^(\w*)(?:\((.*)\))?!?: (.*)$", re.ASCII)
_BREAKING_HEADER = re.compile(r"^(\w*)(?:\((.*)\))?!: (.*)$", re.ASCII)


@dataclass(frozen=True)
class ConventionalTitle:
    type: str
    scope: str | None
    breaking: bool


def parse_conventional(title: str) -> ConventionalTitle | None:
    header = title.split("\n", 1)[0]
    m = _HEADER.match(header)
    if not m:
        return None
    return ConventionalTitle(m.group(1), m.group(2), bool(_BREAKING_HEADER.match(header)))


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            close = pattern.find("]", i + 1)
            if close == -1:
                out.append(re.escape(char))
                i += 1
            else:
                body = pattern[i + 1 : close].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = close + 1
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> tuple[re.Pattern[str] | None, bool]:
    """(regex, directories only) for one gitignore line; None for a line that matches nothing."""
    line = pattern.strip()
    if not line or line.startswith("#") or line.startswith("!"):
        return None, False
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if line.endswith("/**"):
        # "dir/**" matches what is inside dir: the same as "dir/" for files.
        line, dir_only = line[:-3], True
    anchored = "/" in line
    line = line.lstrip("/")
    if not line:
        return None, False
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(f"^{prefix}{_translate(line)}$", re.DOTALL), dir_only


def path_matches(pattern: str, file: str) -> bool:
    """True when ``pattern`` (a gitignore line) covers ``file``: the file itself or a directory
    above it."""
    regex, dir_only = _compile(pattern)
    if regex is None:
        return False
    parts = file.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        candidate = "/".join(parts[:depth])
        is_dir = depth < len(parts)
        if dir_only and not is_dir:
            continue
        if regex.match(candidate):
            return True
    return False
