"""`release-bot check-config FILE`: validate a `.github/release-bot.yml` offline.

A file named ``release-drafter.yml`` or ``release.yml`` is checked as the notes source it is
(release-drafter's or GitHub's format): what release-drafter or GitHub would refuse is an error,
what release-bot cannot honour as they do is a warning (``bot.cli.check_notes_source``).

The same validation the bot applies when it reads the file from GitHub (``bot.config.validate``).
Exit codes: 0 valid, 1 invalid (each problem printed with its line), 2 the file cannot be read.
``_extends`` is not followed (that needs GitHub); its value is only checked for form.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bot.cli.check_notes_source import check_notes_source
from bot.cli.notes_offline import config_kind
from bot.config.defaults import default_config
from bot.config.merge import deep_merge
from bot.config.validate import ConfigError, ConfigProblem, line_of, parse_yaml, validate_text
from bot.core.notes import check_notes_config

HELP = "validate a .github/release-bot.yml (exit 1 with line-numbered errors when invalid)"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("check-config", help=HELP, description=HELP)
    parser.add_argument("file", metavar="FILE", help="path of the configuration file ('-' for stdin)")
    parser.add_argument("--print-effective", action="store_true",
                        help="print the effective configuration (defaults merged) as JSON when valid")


def run(args: argparse.Namespace) -> int:
    name = args.file
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{name}: cannot read: {exc}", file=sys.stderr)
        return 2
    shown_name = name if name != "-" else "<stdin>"
    if config_kind(name) != "release_bot":
        return check_notes_source(text, shown_name, config_kind(name))
    data, problems = validate_text(text)
    # Template problems are reported even when the schema found others, so one run shows them all.
    problems = sorted([*problems, *_notes_problems(text)], key=lambda p: (p.line or 0, p.pointer()))
    messages = [p.render(shown_name) for p in problems]
    if messages:
        for message in messages:
            print(message)
        print(f"{name}: {len(messages)} problem(s)")
        return 1
    effective = deep_merge(default_config(), {k: v for k, v in data.items() if k != "_extends"})
    if args.print_effective:
        _print_to_pipe(json.dumps(effective, indent=2, sort_keys=True))
    else:
        extends = f" (extends {data['_extends']}, not followed offline)" if data.get("_extends") else ""
        print(f"{name}: valid{extends}")
    for warning in announce_warnings(effective):
        print(f"{shown_name}: warning: {warning}")
    return 0


def announce_warnings(effective: dict[str, Any]) -> list[str]:
    """Announcement channels whose URL variable is unset (or no URL) in this environment: reported,
    not an error (the file is valid; where the bot runs, the variable may well be set). Only the
    variable's name is shown, never its value."""
    from bot.config.announce_config import announce_config
    from bot.github.announce_send import usable_url
    from bot.settings import Settings, SettingsError

    channels = announce_config(effective).channels
    if not channels:
        return []
    try:
        urls = Settings.from_env().announce_urls
    except SettingsError:
        urls = {}
    out = []
    for channel in channels:
        url = urls.get(channel.url_env)
        if not url:
            out.append(f"announce.channels {channel.name!r}: {channel.url_env} is not set in this "
                       "environment; the bot announces nothing to this channel until it is set where it runs")
        elif not usable_url(url):
            out.append(f"announce.channels {channel.name!r}: {channel.url_env} does not hold an http(s) URL")
    return out


def _print_to_pipe(text: str) -> None:
    """Print, quietly stopping when the reader went away (``--print-effective | head``)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit: point stdout at
        # /dev/null so it has nothing left to write.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _notes_problems(text: str) -> list[ConfigProblem]:
    """Template checks of the notes section (the renderer's own rules, so both agree), each on the
    line of the key it names."""
    try:
        raw, node = parse_yaml(text)
    except ConfigError:
        return []  # the syntax error is already reported
    section = raw.get("notes") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        return []
    notes = deep_merge(default_config()["notes"], section)
    problems = []
    for problem in check_notes_config(notes):
        key = problem.split(":", 1)[0].strip()
        path = ("notes", key) if key in section else ("notes",)
        problems.append(ConfigProblem(problem.split(":", 1)[1].strip() if key in section else problem, path,
                                      line_of(node, path, key_line=True)))
    return problems
