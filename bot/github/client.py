"""The client type of the github layer, for the layers above that pass a client along.

Reconcilers, the configuration loader and the services hold a ``GitHubClient`` (PyGithub's
``Github``, paced and counted when it comes from ``bot.github.auth``) and hand it to this layer's
functions; only ``bot/github`` (and the sandbox) call PyGithub. ``token_client`` is the client a
person's token makes (``release-bot protect --token-env``, the demo's admin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from github import Auth, Github

from bot.github.errors import GithubException

if TYPE_CHECKING:
    from bot.github.auth import GitHubApp

GitHubClient = Github

__all__ = ["GitHubClient", "GithubException", "installation_client", "installation_id_of", "token_client"]


def token_client(base_url: str, token: str) -> GitHubClient:
    """A client authenticated with ``token``: 100 items a page, no PyGithub pacing of its own."""
    return Github(
        base_url=base_url,
        auth=Auth.Token(token),
        per_page=100,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def installation_client(app: GitHubApp, repo: str) -> GitHubClient:
    """The App's client for the installation that covers ``repo`` (``owner/name``)."""
    return app.client_for(installation_id_of(app, repo))


def installation_id_of(app: GitHubApp, repo: str) -> int:
    """The id of the App's installation that covers ``repo`` (one App JWT call; 404: none)."""
    owner, _, name = repo.partition("/")
    return int(app.integration.get_repo_installation(owner, name).id)


def active_installation_ids(app: GitHubApp) -> list[int]:
    """The App's installations, suspended ones left out."""
    return [
        installation.id
        for installation in app.integration.get_installations()
        if not getattr(installation, "suspended_at", None)
    ]
