"""The environments part of ``release-bot protect``: release-bot as a custom deployment protection
rule on every environment of ``deploy.environments`` (docs/deployments.md).

The environments come from ``--environments`` or, by default, from the repository's own
configuration on its default branch (``deploy.environments``); each is created when missing and the
App (``APP_ID``) enabled on it once (``bot.github.deploy_io.enable_rule``).
"""

from __future__ import annotations

import sys
from typing import Any

from bot.github.client import GitHubClient, GithubException


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--environments",
        nargs="*",
        metavar="NAME",
        help="environments to gate with the App's deployment protection rule (default: deploy.environments"
        " of the repository's .github/release-bot.yml; none given: skip)",
    )


def configured_environments(gh: GitHubClient, repo: str) -> tuple[list[str], str | None]:
    """The environments of ``deploy.environments``, and the configuration's error if it has one."""
    from bot.config.loader import ConfigLoader
    from bot.config.repo_config import RepoConfig

    loaded = ConfigLoader(store=None).load(gh, repo)
    config = RepoConfig.from_mapping(loaded.config, repo.partition("/")[0])
    return sorted(config.deploy_settings().environments), (str(loaded.error) if loaded.error else None)


def protect_environments(gh: GitHubClient, repo: str, app_id: int, names: list[str] | None) -> int:
    """Enable the rule on each environment; prints what was done. Returns the exit code."""
    from bot.github import deploy_io

    try:
        if names is None:
            names, error = configured_environments(gh, repo)
            if error:
                print(f"protect: .github/release-bot.yml is invalid: {error}", file=sys.stderr)
                return 1
        for name in names:
            print(deploy_io.enable_rule(gh, repo, name, app_id))
    except GithubException as exc:
        report_refusal(
            exc,
            "enabling a deployment protection rule needs admin rights (the App's "
            "'administration: write', or --token-env with an admin's token); see docs/deployments.md",
        )
        return 1
    if not names:
        print("no environment in deploy.environments; no deployment protection rule to enable")
    return 0


def report_refusal(exc: GithubException, needs: str) -> None:
    """GitHub's refusal of a protect step on stderr, and what it needs when it was a lack of rights."""
    message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
    print(f"protect: GitHub refused ({exc.status}): {message}", file=sys.stderr)
    if exc.status in (403, 404):
        print(f"protect: {needs}", file=sys.stderr)
