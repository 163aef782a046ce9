"""Fuzzing the slash-command parser (bot/core/commands.py) with hypothesis.

Comment bodies are written by anyone who can comment. Whatever they hold, the parser returns at
most ``MAX_COMMANDS`` well-formed commands in bounded time, and a command that GitHub does not
show as one — inside an HTML comment, a fenced code block, a quote, or not at a line start — is
never returned.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.commands import MAX_BODY_CHARS, MAX_COMMANDS, parse_commands

NAME = re.compile(r"[a-z][a-z0-9_-]*")
PIECES = st.sampled_from(
    [
        "/approve",
        "/uat passed",
        "/uat failed it crashed",
        "/stage monitor",
        "/milestone v1.4.0",
        "/HELP",
        "<!--",
        "-->",
        "```",
        "~~~",
        "````",
        "> /approve",
        " /approve",
        "\t/approve",
        "/",
        "//x",
        "/1x",
        "\r\n",
        "\r",
        "\n",
        "\x00",
        "\u2028",
        "\ud800",
        "💥",
        "text /approve",
        "<!-- /approve -->",
        "` /approve`",
    ]
)
BODIES = st.lists(PIECES | st.text(max_size=20), max_size=40).map("".join) | st.text(max_size=300)


@pytest.mark.reliability(
    area="bad input",
    case="fuzzed comment bodies through the command parser",
    trials=200,
)
@given(body=BODIES)
@example(body="<!-- unterminated\n/approve")
@example(body="```\n/approve\n````\n/approve")
@example(body="/a " + " " * 69_000 + "x")
@example(body="/approve\n" * 10_000)
def test_any_comment_body_parses_to_at_most_the_cap_of_well_formed_commands(
    body: str, reliability: Any
) -> None:
    reliability.trials(1)
    commands = parse_commands(body)
    assert len(commands) <= MAX_COMMANDS
    for command in commands:
        assert NAME.fullmatch(command.name), command
        assert "\n" not in command.args and "\r" not in command.args and command.args == command.args.strip()
        assert command.line >= 1


@pytest.mark.reliability(
    area="bad input",
    case="commands hidden in HTML comments, code fences, quotes or prose never run",
    trials=200,
)
@given(
    before=st.text(max_size=50),
    hidden=st.sampled_from(["/approve", "/uat passed", "/stage deploy"]),
    wrapper=st.sampled_from(
        ["<!--\n{}\n-->", "```\n{}\n```", "~~~~\n{}\n~~~~", "> {}", "text {}", " {}", "`{}`", "<!-- {}"]
    ),
)
def test_a_hidden_command_never_runs(before: str, hidden: str, wrapper: str, reliability: Any) -> None:
    reliability.trials(1)
    # what comes before must not open a fence or comment that would swallow our wrapper's closing
    before = before.replace("`", "").replace("~", "").replace("<!--", "").replace("-->", "").replace("/", "")
    body = before + "\n" + wrapper.format(hidden) + "\n"
    assert [c for c in parse_commands(body) if str(c) == hidden] == [], body


@pytest.mark.reliability(area="bad input", case="a huge comment body is parsed in bounded time", trials=1)
@pytest.mark.parametrize(
    "body",
    [
        "<!--" * 100_000,
        "/approve " * 100_000,
        ("```\n" + "/approve\n" * 5) * 20_000,
        "\n" * 1_000_000,
    ],
    ids=["comment-openers", "one-long-line", "fences", "newlines"],
)
def test_a_huge_body_is_parsed_in_bounded_time(body: str) -> None:
    started = time.perf_counter()
    parse_commands(body)
    assert time.perf_counter() - started < 2.0
    assert len(body) > MAX_BODY_CHARS  # the cap, not the input, bounds the work
