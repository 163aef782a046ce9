"""release-drafter's replacer syntax (JavaScript regex literals, VS Code replacement strings)."""

from __future__ import annotations

import pytest

from bot.core.notes.jsregex import ReplacerError, parse_js_replacer
from bot.core.notes.matching import parse_conventional, path_matches


@pytest.mark.parametrize(
    ("search", "replace", "text", "expected"),
    [
        ("/(\\w+)-(\\d+)/", "$2:$1", "abc-12 def-34", "12:abc def-34"),  # no g: first only
        ("/(\\w+)-(\\d+)/g", "$2:$1", "abc-12 def-34", "12:abc 34:def"),
        ("/a/g", "$$ $& $0 \\\\ \\t|", "a", "$ a a \\ \t|"),
        ("/(a)/", "$12", "a", "a2"),  # $12 with one group: group 1 then "2"
        ("/(a)/", "$9", "a", "$9"),
        ("/(\\w+)/", "\\u$1 \\U$1\\E!", "word", "Word WORD!"),
        ("/x/", "\\q\\", "x", "\\q\\"),  # unknown escapes and a trailing backslash stay
        ("a.b", "X", "a.b axb a.b", "X axb X"),  # a plain string: literal, everywhere
        ("/(?<n>\\d)/", "<$1>", "a1", "a<1>"),  # named groups spelled the JavaScript way
        ("/^x/m", "-", "x\nx", "-\nx"),
        ("/^x/gm", "-", "x\nx", "-\n-"),
        ("/A/i", "b", "a", "b"),
    ],
)
def test_replacements(search: str, replace: str, text: str, expected: str) -> None:
    assert parse_js_replacer(search, replace).apply(text) == expected


@pytest.mark.parametrize("search", ["/(/g", "/a/X", "/a/gg"])
def test_bad_regexes_are_refused(search: str) -> None:
    with pytest.raises(ReplacerError):
        parse_js_replacer(search, "")


@pytest.mark.parametrize(
    ("pattern", "file", "expected"),
    [
        ("src", "src/app.py", True),
        ("src", "lib/src/app.py", True),  # no slash: at any depth
        ("/src", "lib/src/app.py", False),
        ("src/", "src", False),  # a directory pattern does not match a file
        ("*.md", "docs/a.md", True),
        ("docs/*.md", "docs/sub/a.md", False),
        ("docs/**/*.md", "docs/sub/a.md", True),
        ("src/**", "src/a/b.py", True),
        ("5.md", "src/5.md", True),
    ],
)
def test_path_patterns(pattern: str, file: str, expected: bool) -> None:
    assert path_matches(pattern, file) is expected


def test_conventional_titles() -> None:
    parsed = parse_conventional("feat(api)!: drop v1")
    assert parsed is not None and (parsed.type, parsed.scope, parsed.breaking) == ("feat", "api", True)
    assert parse_conventional("Fix typo") is None


def test_a_backtracking_pattern_from_the_config_is_stopped_not_run_for_ever():
    """Replacers come from the repository's file: catastrophic backtracking must not hold a worker."""
    import time

    from bot.core.notes.jsregex import ReplacerTimeout

    replacer = parse_js_replacer("/(a|aa)+$/g", "x")
    started = time.monotonic()
    with pytest.raises(ReplacerTimeout, match="took longer than"):
        replacer.apply("a" * 40 + "!", timeout=0.05)
    assert time.monotonic() - started < 5  # unbounded, this input takes far longer than a minute
    assert replacer.apply("aaa") == "x"  # the same pattern on a tame body still works
