"""The client type of the github layer, for the layers above that pass a client along.

Reconcilers, the configuration loader and the services hold a ``GitHubClient`` (PyGithub's
``Github``, paced and counted when it comes from ``bot.github.auth``) and hand it to this layer's
functions; only ``bot/github`` (and the sandbox) call PyGithub. ``token_client`` is the client a
person's token makes (``release-bot protect --token-env``, the demo's admin).
"""

from __future__ import annotations

from github import Auth, Github

from bot.github.errors import GithubException

GitHubClient = Github

__all__ = ["GitHubClient", "GithubException", "token_client"]


def token_client(base_url: str, token: str) -> GitHubClient:
    """A client authenticated with ``token``: 100 items a page, no PyGithub pacing of its own."""
    return Github(
        base_url=base_url,
        auth=Auth.Token(token),
        per_page=100,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
