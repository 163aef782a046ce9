"""Command parsing: one per line at the line start; HTML comments and code fences never act."""

from __future__ import annotations

import pytest

from bot.core import command_registry as registry
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


# ---------------------------------------------------------------------------------------------
# the one registry (bot.core.command_registry)


def test_every_pull_request_command_has_one_handler_and_a_help_row() -> None:
    from bot.core.gate import GATE_COMMANDS
    from bot.reconcilers.pr_comments import FREEZE_COMMANDS, NOTES_COMMANDS

    declared = registry.names_for(registry.PULL_REQUEST)
    assert GATE_COMMANDS | NOTES_COMMANDS | FREEZE_COMMANDS == declared
    assert not GATE_COMMANDS & NOTES_COMMANDS and not (GATE_COMMANDS | NOTES_COMMANDS) & FREEZE_COMMANDS
    assert "release-note" in NOTES_COMMANDS
    rows = registry.pull_request_help_rows(
        {"qa": "QA", "rm": "RM", "self_rule": "", "uat_label": "u", "approval_label": "a", "hold_label": "h"}
    )
    forms = [f for c in registry.commands_for(registry.PULL_REQUEST) for f in c.forms]
    assert len(rows) == len(forms)
    for form, row in zip(forms, rows, strict=True):
        assert all(f"`{syntax}`" in row for syntax in form.syntaxes)


def test_tracking_issue_commands_are_declared_as_the_release_side_runs_them() -> None:
    from bot.core.release_commands import COMMANDS, HELP_TEXT

    assert registry.names_for(registry.TRACKING_ISSUE) == set(COMMANDS)
    assert registry.tracking_issue_help() == HELP_TEXT


def test_usage_and_refusal_replies_come_from_the_declaration() -> None:
    uat = registry.spec(registry.PULL_REQUEST, "uat")
    assert uat.usage() == "usage: `/uat passed`, `/uat failed [reason]` or `/uat cancel`."
    assert (
        registry.spec(registry.PULL_REQUEST, "approve").usage() == "usage: `/approve` or `/approve cancel`."
    )
    milestone = registry.spec(registry.PULL_REQUEST, "milestone")
    assert milestone.usage() == "usage: `/milestone <title>` or `/milestone clear`."
    hold = registry.spec(registry.PULL_REQUEST, "hold")
    assert hold.refusal({"qa": "QA", "rm": "RM"}) == (
        "`/hold` may only be run by QA or RM, or the pull request's author; nothing changed."
    )
    assert uat.refusal({"qa": "QA"}, "/uat passed") == "`/uat passed` may only be run by QA; nothing changed."


@pytest.mark.parametrize(
    ("name", "roles", "is_author", "allowed"),
    [
        ("uat", {"qa"}, False, True),
        ("uat", {"release_managers"}, True, False),
        ("approve", {"release_managers"}, False, True),
        ("hold", set(), True, True),  # the author may hold their own pull request …
        ("unhold", set(), True, False),  # … but not lift the hold
        ("release-note", set(), True, True),
        ("release-note", {"qa"}, False, False),
        ("help", set(), False, True),
    ],
)
def test_who_may_run_each_command(name: str, roles: set[str], is_author: bool, allowed: bool) -> None:
    assert registry.spec(registry.PULL_REQUEST, name).may_run(frozenset(roles), is_author) is allowed
