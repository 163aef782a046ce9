"""Command parsing: one per line at the line start; HTML comments and code fences never act."""

from __future__ import annotations

import pytest

from bot.core.commands import Command, parse_commands, strip_html_comments


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/approve", [("approve", "")]),
        ("/UAT Passed", [("uat", "Passed")]),
        ("/uat failed  login page broken  ", [("uat", "failed  login page broken")]),
        ("LGTM\n/uat passed\r\n/approve\n", [("uat", "passed"), ("approve", "")]),
        (" /approve", []),  # not anchored at the line start
        ("> /approve", []),  # a quoted reply
        ("please /approve this", []),
        ("<!-- /approve -->", []),
        ("<!--\n/approve\n-->\n/hold", [("hold", "")]),
        ("text <!-- unterminated\n/approve", []),
        ("```\n/approve\n```\n/unhold", [("unhold", "")]),
        ("~~~~\n/approve\n~~~\n/approve\n~~~~\n/help", [("help", "")]),
        ("/milestone v1.4.0", [("milestone", "v1.4.0")]),
        ("/", []),
        ("/123", []),
        ("", []),
        (None, []),
    ],
)
def test_parse_commands(body: str | None, expected: list[tuple[str, str]]) -> None:
    assert [(c.name, c.args) for c in parse_commands(body)] == expected


def test_line_numbers_and_argv() -> None:
    commands = parse_commands("hello\n/uat failed  flaky   test\n")
    assert commands == [Command("uat", "failed  flaky   test", 2)]
    assert commands[0].argv == ["failed", "flaky", "test"]
    assert str(commands[0]) == "/uat failed  flaky   test"


def test_bounded_number_of_commands() -> None:
    assert len(parse_commands("/hold\n" * 500)) == 20


def test_strip_html_comments() -> None:
    assert strip_html_comments("a<!-- x -->b<!--\ny\n-->c") == "abc"
