"""The reads and writes of the deployment protection rule (``deploy:`` keys), each a counted call.

    GET  /repos/{o}/{r}/deployments/{id}                           the deployment asked about (truth,
                                                                    not the payload's copy)
    GET  /repos/{o}/{r}/milestones?state=open                      the release the tag's version names
    GET  /repos/{o}/{r}/commits/{tag}                              the signed-off candidate's commit
                                                                    (peels an annotated tag)
    GET  /repos/{o}/{r}/issues/{t}/comments                        the bot's note of this deployment,
                                                                    found again by its marker
    POST /repos/{o}/{r}/actions/runs/{run}/deployment_protection_rule   the answer (GitHub's "Review
                                                                    custom deployment protection rules")
    POST /repos/{o}/{r}/issues/{t}/comments                        the note of a rejection

and, for ``release-bot protect``, the environment and its custom rules
(``PUT /repos/{o}/{r}/environments/{name}``, ``GET/POST …/deployment_protection_rules``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from github import GithubException

from bot.core.deploy import DeploymentAsked
from bot.core.versions import parse_milestone_title, version_text
from bot.github.paging import list_all
from bot.github.paths import repo_path
from bot.github.release_json import milestone_of

if TYPE_CHECKING:
    from github import Github

_CALLBACK_PATH = re.compile(r"/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/deployment_protection_rule/?$")
MAX_NOTE_PAGES = 30


def _get(gh: Github, path: str, params: dict[str, Any] | None = None) -> Any:
    _headers, data = gh.requester.requestJsonAndCheck("GET", path, parameters=params)
    return data


def _send(gh: Github, verb: str, path: str, body: dict[str, Any] | None = None) -> Any:
    _headers, data = gh.requester.requestJsonAndCheck(verb, path, input=body)
    return data


def run_id_of(callback_url: str, repo_full_name: str) -> int | None:
    """The workflow run a ``deployment_callback_url`` names, when it is this repository's callback.

    Only the run id is taken from the URL: the answer goes to the configured API with the path built
    here, so a payload's URL can never send the installation token anywhere else."""
    match = _CALLBACK_PATH.search(urlsplit(callback_url).path)
    if match is None:
        return None
    owner, name = repo_full_name.split("/", 1)
    if (match.group(1).lower(), match.group(2).lower()) != (owner.lower(), name.lower()):
        return None
    return int(match.group(3))


def read_deployment(gh: Github, repo: str, deployment_id: int) -> DeploymentAsked | None:
    """The deployment as GitHub shows it now; None once it is gone (404)."""
    try:
        data = _get(gh, f"{repo_path(repo)}/deployments/{deployment_id}")
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise
    return DeploymentAsked(
        deployment_id=int(data["id"]),
        environment=str(data.get("environment") or ""),
        ref=str(data.get("ref") or ""),
        sha=str(data.get("sha") or ""),
    )


def release_milestone(gh: Github, repo: str, version: str, milestone_pattern: str) -> int | None:
    """The open milestone whose title is ``version`` (of duplicates the oldest, which owns the notes)."""
    found: list[int] = []
    for data in list_all(gh, f"{repo_path(repo)}/milestones", {"state": "open"}):
        milestone = milestone_of(data)
        parsed = parse_milestone_title(milestone.title, milestone_pattern)
        if parsed is not None and version_text(parsed) == version:
            found.append(milestone.number)
    return min(found) if found else None


def tag_commit(gh: Github, repo: str, tag: str) -> str | None:
    """The commit a tag points at (annotated tags peeled); None when the tag is gone."""
    try:
        data = _get(gh, f"{repo_path(repo)}/commits/{quote(f'refs/tags/{tag}', safe='/')}")
    except GithubException as exc:
        if exc.status in (404, 422):
            return None
        raise
    sha = data.get("sha") if isinstance(data, dict) else None
    return str(sha) if sha else None


def answer_rule(gh: Github, repo: str, run_id: int, environment: str, state: str, comment: str) -> bool:
    """Approve or reject the App's rule for ``environment`` on the run. False: the rule no longer waits
    for an answer (GitHub answers 422 once it was reviewed): a second answer changes nothing."""
    try:
        _send(
            gh,
            "POST",
            f"{repo_path(repo)}/actions/runs/{run_id}/deployment_protection_rule",
            {"environment_name": environment, "state": state, "comment": comment},
        )
    except GithubException as exc:
        if exc.status == 422:
            return False
        raise
    return True


def has_note(gh: Github, repo: str, issue: int, marker: str, bot_login: str) -> bool:
    """Whether the bot already noted this deployment on the tracking issue (its marker, its login)."""
    comments = list_all(gh, f"{repo_path(repo)}/issues/{issue}/comments", max_pages=MAX_NOTE_PAGES)
    return any(
        marker in str(c.get("body") or "") and str((c.get("user") or {}).get("login") or "") == bot_login
        for c in comments
    )


def post_note(gh: Github, repo: str, issue: int, body: str) -> None:
    _send(gh, "POST", f"{repo_path(repo)}/issues/{issue}/comments", {"body": body})


# --------------------------------------------------------------------------- release-bot protect


def enable_rule(gh: Github, repo: str, environment: str, app_id: int) -> str:
    """Make the App a custom deployment protection rule of ``environment`` (created when missing);
    says what was done. Idempotent: an App already enabled is left as it is."""
    path = f"{repo_path(repo)}/environments/{quote(environment, safe='')}"
    created = False
    try:
        rules = _get(gh, f"{path}/deployment_protection_rules")
    except GithubException as exc:
        if exc.status != 404:
            raise
        _send(gh, "PUT", path, None)
        created = True
        rules = _get(gh, f"{path}/deployment_protection_rules")
    enabled = rules.get("custom_deployment_protection_rules") if isinstance(rules, dict) else None
    if any(isinstance(r, dict) and (r.get("app") or {}).get("id") == app_id for r in enabled or ()):
        return f"environment {environment}: the App's deployment protection rule is already enabled"
    _send(gh, "POST", f"{path}/deployment_protection_rules", {"integration_id": app_id})
    done = "created, the App's deployment protection rule enabled" if created else "the App's rule enabled"
    return f"environment {environment}: {done}"
