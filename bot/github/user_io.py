"""The signed-in person's side of GitHub: the App's OAuth web flow and what the user may see.

Sign-in is GitHub's web application flow for a GitHub App: the browser goes to
``{web}/login/oauth/authorize`` and comes back with a one-time ``code`` that the server trades for
a user access token (``POST {web}/login/oauth/access_token``, PyGithub's ``ApplicationOAuth``,
which derives the GitHub Enterprise Server address from the API base as the sandbox needs).

With that token, ``GET /user/installations`` lists the App's installations the user can reach and
``GET /user/installations/{id}/repositories`` the repositories of each that the user can read:
GitHub intersects the installation's repositories with the user's own access, so a page built
from these lists shows nobody a repository they could not open on GitHub.
"""

from __future__ import annotations

from dataclasses import dataclass

from github import Auth, Github, GithubException
from github.ApplicationOAuth import ApplicationOAuth

from bot.github.paging import list_all
from bot.github.requester import instrument

TIMEOUT_SECONDS = 15
MAX_INSTALLATION_PAGES = 3  # 300 installations of one App reachable by one person is plenty
MAX_REPOSITORY_PAGES = 10  # 1,000 repositories per installation on the overview


class SignInFailed(RuntimeError):
    """The code could not be traded for a token (expired, reused, wrong client credentials)."""


@dataclass(frozen=True)
class Viewer:
    login: str


@dataclass(frozen=True)
class RepoRef:
    """A repository the signed-in user can read through one of the App's installations."""

    full_name: str
    private: bool
    html_url: str
    installation_id: int
    bot_login: str  # ``{app_slug}[bot]``: whose artifacts count on this repository

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


def user_client(api_url: str, token: str) -> Github:
    """A PyGithub client acting as the user (``per_page=100``, no blanket sleeps), counted."""
    gh = Github(
        auth=Auth.Token(token),
        base_url=api_url,
        per_page=100,
        timeout=TIMEOUT_SECONDS,
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
    )
    instrument(gh.requester, None, None)
    return gh


def _oauth(api_url: str, client_id: str, client_secret: str) -> ApplicationOAuth:
    gh = Github(
        base_url=api_url,
        timeout=TIMEOUT_SECONDS,
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    return gh.get_oauth_application(client_id, client_secret)


def authorize_url(
    api_url: str, client_id: str, redirect_uri: str, state: str, login: str | None = None
) -> str:
    """Where to send the browser to sign in (``login`` pre-fills the account, as on GitHub)."""
    return _oauth(api_url, client_id, "").get_login_url(redirect_uri=redirect_uri, state=state, login=login)


def exchange_code(api_url: str, client_id: str, client_secret: str, code: str) -> str:
    """The user access token for ``code``; SignInFailed with GitHub's reason otherwise."""
    try:
        token = _oauth(api_url, client_id, client_secret).get_access_token(code)
    except GithubException as exc:
        data = exc.data if isinstance(exc.data, dict) else {}
        reason = data.get("error_description") or data.get("error") or f"HTTP {exc.status}"
        raise SignInFailed(str(reason)) from None
    if not token.token:
        raise SignInFailed("GitHub answered without an access token")
    return token.token


def read_viewer(gh: Github) -> Viewer:
    _headers, data = gh.requester.requestJsonAndCheck("GET", "/user")
    return Viewer(login=str(data["login"]))


def read_repositories(gh: Github, app_id: int | None) -> tuple[RepoRef, ...]:
    """Every repository the user can read through an installation of App ``app_id`` (all Apps'
    when None), sorted by name. Costs 1 + (installations) requests per 100 items."""
    installations = list_all(
        gh, "/user/installations", items_key="installations", max_pages=MAX_INSTALLATION_PAGES
    )
    repos: dict[str, RepoRef] = {}
    for inst in installations:
        if app_id is not None and inst.get("app_id") != app_id:
            continue
        if inst.get("suspended_at"):
            continue  # a suspended installation acts on nothing; the bot shows nothing for it
        bot_login = f"{inst.get('app_slug')}[bot]"
        for repo in list_all(
            gh,
            f"/user/installations/{int(inst['id'])}/repositories",
            items_key="repositories",
            max_pages=MAX_REPOSITORY_PAGES,
        ):
            name = str(repo["full_name"])
            repos.setdefault(
                name.lower(),
                RepoRef(
                    full_name=name,
                    private=bool(repo.get("private")),
                    html_url=str(repo.get("html_url") or ""),
                    installation_id=int(inst["id"]),
                    bot_login=bot_login,
                ),
            )
    return tuple(sorted(repos.values(), key=lambda r: r.full_name.lower()))
