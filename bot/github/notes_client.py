"""The client `release-bot notes` reads GitHub with: a token's, else the App's installation client.

``GITHUB_TOKEN`` (any token that can read the repository) or the App's credentials (``APP_ID`` +
``PRIVATE_KEY``/``PRIVATE_KEY_PATH``); ``GITHUB_API_URL`` for GitHub Enterprise or the sandbox.
"""

from __future__ import annotations

import os

from github import Auth, Github


class NoCredentials(RuntimeError):
    """Neither a token nor the App's credentials are configured."""


def notes_client(repo: str) -> Github:
    """A read client for ``repo`` (``owner/name``); ``NoCredentials`` when none can be made."""
    from bot.settings import Settings

    settings = Settings.from_env()
    token = os.environ.get("GITHUB_TOKEN")
    if token:
        return Github(base_url=settings.github_api_url, auth=Auth.Token(token), per_page=100,
                      seconds_between_requests=0, seconds_between_writes=0)
    if not settings.has_app_credentials:
        raise NoCredentials(
            "release-bot notes: set GITHUB_TOKEN, or APP_ID and PRIVATE_KEY(_PATH), to read GitHub"
        )
    from bot.services import Services

    services = Services.from_settings(settings, None)
    owner, _, name = repo.partition("/")
    installation = services.app.integration.get_repo_installation(owner, name)
    return services.app.client_for(int(installation.id))
