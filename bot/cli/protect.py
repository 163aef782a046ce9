"""`release-bot protect OWNER/REPO`: require the gate, pinned to the App, on the release branches.

Creates (or fixes) a repository ruleset named "release-bot gate" with a ``required_status_checks``
rule for ``gate.check_name`` pinned to the App's id, on every branch matching
``gate.release_branches``; where rulesets are unavailable (``--classic``, or GitHub answers 403/404
for rulesets) it adds the App-pinned check to classic branch protection of each existing release
branch instead, keeping the rest of that protection as it is.

By default it acts as the App (APP_ID, PRIVATE_KEY/PRIVATE_KEY_PATH, GITHUB_API_URL), which needs
the optional ``administration: write`` permission; ``--token-env VAR`` acts as the person whose
token is in the environment variable VAR instead (a repository admin). The token is never printed.
See docs/merge-gate.md for doing the same by hand and why the pin matters.

When the repository configures a code freeze (``releases.freeze`` in its ``.github/release-bot.yml``,
read from the default branch), it also requires ``release-bot/freeze``, pinned to the App, on the
frozen branches: a ruleset named "release-bot freeze" (or classic protection of those branches).
``--no-freeze`` leaves that out (docs/code-freeze.md).

Then it enables the App as a custom deployment protection rule on the environments of
``deploy.environments`` (or ``--environments``): ``bot.cli.protect_environments``, docs/deployments.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from bot.cli import protect_environments
from bot.config.repo_config import default_gate_settings
from bot.github import branch_protection_io
from bot.github.client import GitHubClient, GithubException, installation_client, token_client
from bot.settings import Settings, SettingsError

HELP = (
    "require the release-bot/gate check, pinned to the App, on the release branches"
    " (ruleset or branch protection)"
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("protect", help=HELP, description=HELP)
    parser.add_argument("repo", metavar="OWNER/REPO")
    parser.add_argument(
        "--branches",
        nargs="+",
        metavar="PATTERN",
        help="release branch patterns (default: gate.release_branches of the defaults, release/*)",
    )
    parser.add_argument("--check-name", default=None, help="check name (default: release-bot/gate)")
    parser.add_argument(
        "--classic", action="store_true", help="use classic branch protection instead of a ruleset"
    )
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="do not require release-bot/freeze on the frozen branches even if a code freeze is configured",
    )
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        help="act as the person whose token is in environment variable VAR instead of the App",
    )
    protect_environments.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    repo = str(args.repo)
    if repo.count("/") != 1 or not all(repo.split("/")):
        print(f"protect: expected OWNER/REPO, got {repo!r}", file=sys.stderr)
        return 2
    defaults = default_gate_settings()
    patterns = list(args.branches or defaults.release_branches)
    check_name = args.check_name or defaults.check_name
    try:
        settings = Settings.from_env()
        gh, app_id = _client(settings, repo, args.token_env)
    except (SettingsError, ValueError) as exc:
        print(f"protect: {exc}", file=sys.stderr)
        return 2
    try:
        done = branch_protection_io.protect_release_branches(
            gh, repo, patterns, check_name, app_id, classic=bool(args.classic)
        )
        if not getattr(args, "no_freeze", False):
            done += _protect_frozen_branches(gh, repo, app_id, bool(args.classic))
    except GithubException as exc:
        protect_environments.report_refusal(
            exc,
            "the App needs the 'administration: write' permission (or use --token-env with an "
            "admin's token); see docs/merge-gate.md to set it up by hand",
        )
        return 1
    for line in done or [f"no branch matches {', '.join(patterns)} yet; nothing to protect"]:
        print(line)
    # Deployments wait for the release: the App as the custom deployment protection rule.
    return protect_environments.protect_environments(gh, repo, app_id, args.environments)


FREEZE_RULESET_NAME = "release-bot freeze"


def _protect_frozen_branches(gh: GitHubClient, repo: str, app_id: int, classic: bool) -> list[str]:
    """``release-bot/freeze`` pinned to the App on the frozen branches, when a freeze is configured."""
    from bot.config.loader import ConfigLoader
    from bot.config.repo_config import RepoConfig
    from bot.github import repo_io

    loaded = ConfigLoader(None).load(gh, repo)
    if loaded.error:
        print(f"protect: .github/release-bot.yml has problems; the freeze is judged from the last valid "
              f"configuration:\n{loaded.error}", file=sys.stderr)
    freeze = RepoConfig.from_mapping(loaded.config, repo.partition("/")[0]).releases.freeze
    if freeze is None:
        return []
    patterns = list(freeze.patterns(repo_io.default_branch(gh, repo)))
    done = branch_protection_io.protect_release_branches(
        gh, repo, patterns, freeze.check_name, app_id, classic=classic, ruleset_name=FREEZE_RULESET_NAME
    )
    return done or [f"no branch matches {', '.join(patterns)} yet; no freeze check to require"]


def _client(settings: Settings, repo: str, token_env: str | None) -> tuple[GitHubClient, int]:
    if settings.app_id is None:
        raise SettingsError("APP_ID is not set: the check is pinned to the App's id")
    if token_env:
        token = os.environ.get(token_env)
        if not token:
            raise SettingsError(f"environment variable {token_env} is empty or unset")
        return token_client(settings.github_api_url, token), settings.app_id
    from bot.github.auth import GitHubApp

    key = settings.load_private_key()
    if not key:
        raise SettingsError("neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set (or use --token-env)")
    app = GitHubApp(settings.app_id, key, base_url=settings.github_api_url)
    return installation_client(app, repo), settings.app_id
