"""`release-bot` console script: an argparse dispatcher over one module per subcommand.

Each subcommand lives in ``bot/cli/<name>.py`` and exposes ``add_parser(subparsers)`` (registers
its parser) and ``run(args) -> int`` (the exit code). Optional subcommands are imported only if
their module exists, so adding a command is adding a module to ``OPTIONAL_COMMANDS``' list.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

# Always present: the foundation's own commands.
CORE_COMMANDS = ("serve", "worker", "jobs")
# Written by other parts of the project; skipped silently while their module does not exist.
OPTIONAL_COMMANDS = ("check_config", "sandbox", "reconcile", "notes", "protect", "demo")


def _load(name: str, optional: bool) -> ModuleType | None:
    try:
        return importlib.import_module(f"bot.cli.{name}")
    except ModuleNotFoundError as exc:
        # Only a missing command module is tolerated; a missing dependency *inside* it is a bug.
        if optional and exc.name == f"bot.cli.{name}":
            return None
        raise


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="release-bot",
        description="A GitHub App that runs a team's release life cycle on GitHub.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    modules: dict[str, ModuleType] = {}
    for name, optional in [(n, False) for n in CORE_COMMANDS] + [(n, True) for n in OPTIONAL_COMMANDS]:
        module = _load(name, optional)
        if module is None:
            continue
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
