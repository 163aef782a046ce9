"""The README's promises about running the bot hold for the files in the repository: exactly two
quick-start commands (both scripts exist), CI runs the test command and nothing else, the Procfile
runs gunicorn and `release-bot worker`, and every environment variable the code reads is in the
README's table."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _commands(script: str) -> list[str]:
    lines = [line.strip() for line in script.splitlines()]
    return [
        line
        for line in lines
        if line and not line.startswith("#") and not line.startswith("set ") and not line.startswith("cd ")
    ]


def test_quick_start_is_exactly_two_existing_executable_commands():
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", README, re.S)
    assert block, "README has a Quick start with a sh block"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["./scripts/serve", "./scripts/test"]
    for command in commands:
        path = ROOT / command
        assert path.is_file() and os.access(path, os.X_OK), command
    assert "release-bot serve" in (ROOT / "scripts" / "serve").read_text()
    assert "fetch-fixtures" in (ROOT / "scripts" / "test").read_text()


def test_ci_calls_the_test_command_and_nothing_else():
    assert _commands((ROOT / ".ci" / "run").read_text()) == ["./scripts/test"]


def test_procfile_runs_gunicorn_web_and_the_worker():
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert entries["web"].split() == ["gunicorn", "-c", "gunicorn.conf.py", "bot.wsgi:app"]
    assert entries["worker"].split() == ["release-bot", "worker"]


def test_every_environment_variable_read_is_documented():
    sources = (ROOT / "bot" / "settings.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    read = set(re.findall(r"""(?:env|environ)(?:\.get)?\(\s*['"]([A-Z][A-Z0-9_]{2,})['"]""", sources))
    read |= set(re.findall(r"""_(?:int|float|bool)\(env,\s*['"]([A-Z][A-Z0-9_]+)['"]""", sources))
    assert {
        "APP_ID",
        "PRIVATE_KEY",
        "WEBHOOK_SECRET",
        "QUEUE_URL",
        "WEB_CONCURRENCY",
    } <= read  # the scan works
    table = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", README))
    assert read - table == set(), "README's environment table lacks these"
