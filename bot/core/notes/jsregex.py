"""release-drafter's ``replacers`` read the way release-drafter (JavaScript) reads them.

``search`` is a regex literal (``/pattern/flags``) or a plain string; a plain string is matched
literally and replaced everywhere. ``replace`` follows the replacement syntax release-drafter
uses (VS Code's find-and-replace): ``$&``/``$0`` the match, ``$1``…``$99`` a group, ``$$`` a
dollar sign, ``\\n``/``\\t``/``\\\\`` a newline, a tab and a backslash, ``\\u``/``\\U``/``\\l``/``\\L``/
``\\E`` change the case of the next group. The replacement is built by hand: nothing in it is
ever given to Python's ``re`` replacement syntax.

The patterns come from a repository's configuration file, so they are untrusted: they run on the
``regex`` engine (``re``'s syntax, plus a timeout), and a replacer that takes longer than
``REPLACER_TIMEOUT_SECONDS`` on one body — catastrophic backtracking — is skipped and reported
instead of holding a worker (release-drafter itself has no such bound).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import regex

MAX_PATTERN_LENGTH = 500
REPLACER_TIMEOUT_SECONDS = 0.25
# release-drafter's test of "is this a regex literal" (flags it accepts before JavaScript checks them).
_LITERAL = re.compile(r"^/(?P<body>.+)/(?P<flags>[AJUXgimsux]*)$", re.DOTALL)
_JS_FLAGS = frozenset("dgimsuyv")
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_$])")
_NAMED_REF = re.compile(r"\\k<([A-Za-z_$][\w$]*)>")


class ReplacerError(ValueError):
    """A replacer release-drafter would drop ("Bad replacer regex")."""


class ReplacerTimeout(ReplacerError):
    """A replacer that ran longer than ``REPLACER_TIMEOUT_SECONDS`` on one body."""


@dataclass(frozen=True)
class JsReplacer:
    source: str
    pattern: regex.Pattern[str]
    global_: bool
    build: Callable[[regex.Match[str]], str]

    def apply(self, text: str, timeout: float = REPLACER_TIMEOUT_SECONDS) -> str:
        """``text`` replaced; ``ReplacerTimeout`` when the pattern runs past ``timeout`` seconds."""
        try:
            return self.pattern.sub(self.build, text, count=0 if self.global_ else 1, timeout=timeout)
        except TimeoutError as exc:
            raise ReplacerTimeout(
                f"replacer {self.source!r} took longer than {timeout:g} s and was skipped"
            ) from exc


def _translate(body: str) -> str:
    """The few JavaScript regex spellings Python spells differently."""
    body = _NAMED_GROUP.sub("(?P<", body)
    return _NAMED_REF.sub(lambda m: f"(?P={m.group(1)})", body)


def compile_search(search: str) -> tuple[regex.Pattern[str], bool]:
    if len(search) > MAX_PATTERN_LENGTH:
        raise ReplacerError(f"search longer than {MAX_PATTERN_LENGTH} characters")
    m = _LITERAL.match(search)
    if not m:
        return regex.compile(regex.escape(search)), True
    flags = m.group("flags")
    bad = sorted(set(flags) - _JS_FLAGS)
    if bad or len(set(flags)) != len(flags):
        raise ReplacerError(f"{search!r}: invalid flags {flags!r}")
    py_flags = 0
    for flag in flags:
        py_flags |= {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL}.get(flag, 0)
    try:
        # VERSION0: the engine reads patterns as ``re`` does (release-drafter's tests pass on it).
        return regex.compile(_translate(m.group("body")), py_flags | regex.VERSION0), "g" in flags
    except regex.error as exc:
        raise ReplacerError(f"{search!r}: {exc}") from exc


def _case(text: str, ops: list[str]) -> str:
    out: list[str] = []
    op_index = 0
    for index, char in enumerate(text):
        if op_index >= len(ops):
            out.append(text[index:])
            break
        op = ops[op_index]
        if op == "U":
            out.append(char.upper())
        elif op == "u":
            out.append(char.upper())
            op_index += 1
        elif op == "L":
            out.append(char.lower())
        elif op == "l":
            out.append(char.lower())
            op_index += 1
        elif op == "E":
            out.append(text[index:])
            break
        else:
            out.append(char)
    return "".join(out)


def _group(match: regex.Match[str], index: int) -> str:
    """``$n``: the group, or for ``$12`` with fewer groups, group 1 then a literal "2"."""
    if index == 0:
        return match.group(0)
    groups = match.re.groups
    remainder = ""
    while index > 0:
        if index <= groups:
            return (match.group(index) or "") + remainder
        remainder = str(index % 10) + remainder
        index //= 10
    return "$" + remainder


def parse_replacement(replace: str) -> Callable[[regex.Match[str]], str]:
    """Compile ``replace`` into a function of the match (static text, groups, case changes)."""
    pieces: list[str | tuple[int, list[str]]] = []
    static: list[str] = []
    ops: list[str] = []
    i, n = 0, len(replace)

    def flush() -> None:
        if static:
            pieces.append("".join(static))
            static.clear()

    while i < n:
        char = replace[i]
        if char == "\\":
            if i + 1 >= n:
                static.append(char)  # a trailing backslash stays
                break
            nxt = replace[i + 1]
            if nxt == "\\":
                static.append("\\")
            elif nxt == "n":
                static.append("\n")
            elif nxt == "t":
                static.append("\t")
            elif nxt in "uUlLE":
                ops.append(nxt)
            else:
                static.append(char + nxt)
            i += 2
            continue
        if char == "$":
            if i + 1 >= n:
                static.append(char)  # a trailing dollar stays
                break
            nxt = replace[i + 1]
            if nxt == "$":
                static.append("$")
                i += 2
                continue
            if nxt in "&0":
                flush()
                pieces.append((0, list(ops)))
                ops.clear()
                i += 2
                continue
            if nxt.isdigit() and nxt.isascii():
                index = int(nxt)
                width = 2
                if i + 2 < n and replace[i + 2].isascii() and replace[i + 2].isdigit():
                    index = index * 10 + int(replace[i + 2])
                    width = 3
                flush()
                pieces.append((index, list(ops)))
                ops.clear()
                i += width
                continue
            static.append("$" + nxt)
            i += 2
            continue
        static.append(char)
        i += 1
    flush()

    def build(match: regex.Match[str]) -> str:
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
            else:
                index, case_ops = piece
                value = _group(match, index)
                out.append(_case(value, case_ops) if case_ops else value)
        return "".join(out)

    return build


def parse_js_replacer(search: str, replace: str) -> JsReplacer:
    pattern, global_ = compile_search(search)
    return JsReplacer(search, pattern, global_, parse_replacement(replace))
