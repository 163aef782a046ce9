"""`/help` on a pull request and on a tracking issue lists exactly the commands README.md lists there."""

from __future__ import annotations

import re
from pathlib import Path

from test_gate import facts

from bot.core.gate import help_text
from bot.core.release_commands import HELP_TEXT

README = Path(__file__).resolve().parents[2] / "README.md"
_CODE = re.compile(r"`(/[^`]+)`")


def _command(text: str) -> str:
    """'/uat failed [reason]' -> '/uat failed'; '/milestone v1.4.0' and '/milestone <title>' ->
    '/milestone'."""
    words = [w for w in text.split() if not w.startswith(("<", "[")) and not re.match(r"v?\d", w)]
    return " ".join(words)


def _readme_commands() -> tuple[set[str], set[str]]:
    section = README.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    on_pull, on_issue = " ".join(section.split()).split("On a tracking issue:", 1)
    return {_command(c) for c in _CODE.findall(on_pull)}, {_command(c) for c in _CODE.findall(on_issue)}


def test_pull_request_help_lists_the_readme_commands() -> None:
    rows = [line for line in help_text(facts()).splitlines() if line.startswith("| `/")]
    listed = {_command(c) for row in rows for c in _CODE.findall(row.split("|")[1])}
    readme_pull, _ = _readme_commands()
    assert "/release-note" in listed
    assert listed == readme_pull


def test_tracking_issue_help_lists_the_readme_commands() -> None:
    listed = {
        _command(c)
        for line in HELP_TEXT.splitlines()
        if line.startswith("- `/")
        for c in _CODE.findall(line.split(" — ", 1)[0])
    }
    _, readme_issue = _readme_commands()
    assert listed == readme_issue
