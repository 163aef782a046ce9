"""`release-bot` console script: an argparse dispatcher over one module per subcommand.

Each subcommand lives in ``bot/cli/<name>.py`` and exposes ``add_parser(subparsers)`` (registers
its parser) and ``run(args) -> int`` (the exit code): adding a command is adding a module to
``COMMANDS``. Every module is required: a command missing from an install is a broken install,
not something to hide from ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

COMMANDS = (
    "serve", "worker", "jobs", "queue", "check_config", "sandbox", "reconcile", "notes", "protect", "demo",
)


def _version() -> str:
    """The installed distribution's version (pyproject.toml), one source of truth."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("release-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="release-bot",
        description="A GitHub App that runs a team's release life cycle on GitHub.",
    )
    parser.add_argument("--version", action="version", version=f"release-bot {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    modules: dict[str, ModuleType] = {}
    for name in COMMANDS:
        # By name, so ``COMMANDS`` stays the one list of subcommands.
        module = importlib.import_module(f"bot.cli.{name}")
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        # A module registers one command (its name with '-' for '_', e.g. check-config); map
        # whatever it registered back to the module so dispatch does not depend on naming.
        for command in set(subparsers.choices) - before:
            modules[command] = module
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    module = modules[args.command]
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
