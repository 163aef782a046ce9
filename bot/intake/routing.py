"""Webhook event -> the keys to reconcile (DESIGN.md's event -> key table). No GitHub calls.

A webhook is a hint, never the truth: routing only decides *which* reconcilers must look again,
from ids in the payload. Anything a reconciler needs beyond that it reads from GitHub.

``route(event, payload)`` returns a ``Route``: the jobs to enqueue, or the reason the event is
ignored, plus control actions that change the queue itself (an uninstalled installation's
waiting jobs are dropped).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.jobs import JobSpec, comment_digest, merge_group_pull_number, pr_key, release_key, repo_key

# `merge_group.head_ref`: refs/heads/gh-readonly-queue/{base}/pr-{number}-{sha}. The PR it names
# is the last of the group; the pr reconciler reads the group's other members from GitHub.
# Our own check runs, recognised by name when APP_ID is not known (sandbox-less local runs).
_OUR_CHECK_NAME_PREFIX = "release-bot"
# Changed files that may be configuration sources (DESIGN.md: release-bot.yml, release.yml,
# release-drafter.yml, and `_extends` targets, which can be any YAML file): the repo reconciler
# decides which of them matter.
_CONFIG_SUFFIXES = (".yml", ".yaml")
# The bot's notes draft names its milestone (bot/github/notes_io.py). A release carrying it wakes
# that one release instead of every open release of the repository: the bot's own draft writes
# would otherwise fan out to all of them. A human who copies the marker into another release can
# at worst cause one extra, harmless reconcile of that milestone.
_NOTES_MARKER = re.compile(r"<!-- release-bot:notes:(\d+) -->")
_MAX_HINTED_PATHS = 100
# Hint of a ``repo:`` job: events that routing could not tie to a milestone but that concern the
# releases in some stages (``issues`` outside a milestone, ``release`` without the notes marker,
# ``deployment_status``). Release discovery wakes the releases whose recorded stage cares. A list,
# so that coalesced jobs keep every event (``merge_hints`` unions lists; a scalar would be
# overwritten). Not ``fan_out``: that one is the full fan-out (every open milestone and every pull
# request into a release branch) of installations and ``release-bot reconcile``.
RELEASE_EVENTS_HINT = "release_events"


class PayloadError(ValueError):
    """A signed payload lacks a field its event always carries; the message names it."""


@dataclass(frozen=True)
class DropInstallation:
    """Drop the waiting jobs of an installation (all of them, or only those of ``repos``)."""

    installation_id: int
    repos: list[str] | None = None


@dataclass
class Route:
    jobs: list[JobSpec] = field(default_factory=list)
    ignored: str | None = None
    controls: list[DropInstallation] = field(default_factory=list)


@dataclass(frozen=True)
class RoutingContext:
    app_id: int | None = None  # APP_ID: check_run rerequests are ours only if their app id matches


def _get(payload: Any, *path: str) -> Any:
    node = payload
    for name in path:
        if not isinstance(node, dict) or name not in node:
            raise PayloadError(f"payload lacks {'.'.join(path)}")
        node = node[name]
    return node


def _int(payload: Any, *path: str) -> int:
    value = _get(payload, *path)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(f"payload field {'.'.join(path)} is not an integer")
    return value


class _Builder:
    """Collects jobs for one delivery, with the repository and installation filled in."""

    def __init__(self, event: str, payload: dict[str, Any]) -> None:
        self.event = event
        self.payload = payload
        action = payload.get("action")
        self.reason = f"{event}.{action}" if isinstance(action, str) else event
        installation = payload.get("installation")
        self.installation_id: int | None = installation.get("id") if isinstance(installation, dict) else None
        self.route = Route()

    def repo(self) -> tuple[int, str]:
        return _int(self.payload, "repository", "id"), str(_get(self.payload, "repository", "full_name"))

    def add(self, key: str, repo: str | None, hints: dict[str, Any] | None = None) -> None:
        for existing in self.route.jobs:
            if existing.key == key:  # one event, one job per key
                return
        self.route.jobs.append(JobSpec(key, self.installation_id, repo, self.reason, hints or {}))


def _milestone_number(node: Any) -> int | None:
    if isinstance(node, dict) and isinstance(node.get("number"), int):
        return node["number"]
    return None


def _pull_request(b: _Builder) -> None:
    repo_id, repo = b.repo()
    pr = _get(b.payload, "pull_request")
    b.add(pr_key(repo_id, _int(pr, "number")), repo)
    # The PR's milestone's release (notes, scope); for `demilestoned` the payload's top-level
    # `milestone` is the one it left, whose release must drop it too.
    for milestone in (pr.get("milestone"), b.payload.get("milestone")):
        number = _milestone_number(milestone)
        if number is not None:
            b.add(release_key(repo_id, number), repo)


def _pull_request_review(b: _Builder) -> None:
    repo_id, repo = b.repo()
    b.add(pr_key(repo_id, _int(b.payload, "pull_request", "number")), repo)


def _issue_comment(b: _Builder) -> None:
    repo_id, repo = b.repo()
    issue = _get(b.payload, "issue")
    # Commands count only when a comment is created: an edit must not replay or smuggle one.
    # Edits still reconcile (ticking a checklist box on the tracking issue arrives as `edited`).
    hints: dict[str, Any] = {}
    if b.payload.get("action") == "created":
        comment_id = _int(b.payload, "comment", "id")
        # The digest of the body as GitHub delivered it on creation, in this signed payload: the
        # reconciler runs a command only if the comment still says exactly that (an edit within
        # the same second leaves `updated_at` equal to `created_at`, so the time alone cannot tell).
        body = _get(b.payload, "comment").get("body")
        hints = {
            "comment_ids": [comment_id],
            "comment_digests": [[comment_id, comment_digest(body if isinstance(body, str) else "")]],
        }
    if issue.get("pull_request"):
        b.add(pr_key(repo_id, _int(issue, "number")), repo, hints)
        return
    number = _milestone_number(issue.get("milestone"))
    if number is None:
        b.route.ignored = "comment on an issue outside any milestone"
        return
    b.add(release_key(repo_id, number), repo, hints)


def _issues(b: _Builder) -> None:
    repo_id, repo = b.repo()
    issue = _get(b.payload, "issue")
    numbers = [_milestone_number(issue.get("milestone")), _milestone_number(b.payload.get("milestone"))]
    found = False
    for number in numbers:
        if number is not None:
            found = True
            b.add(release_key(repo_id, number), repo)
    if not found:
        if b.payload.get("action") in ("opened", "labeled", "reopened", "closed"):
            # Issues naming a shipped version (the Monitor stage's feedback) carry no milestone:
            # release discovery wakes the releases whose stage watches for them.
            b.add(repo_key(repo_id), repo, {RELEASE_EVENTS_HINT: [b.event]})
        else:
            b.route.ignored = "issue outside any milestone"


def _check_run(b: _Builder, ctx: RoutingContext) -> None:
    if b.payload.get("action") != "rerequested":
        b.route.ignored = "check_run action other than rerequested"
        return
    run = _get(b.payload, "check_run")
    app = run.get("app") if isinstance(run.get("app"), dict) else {}
    if ctx.app_id is not None:
        ours = app.get("id") == ctx.app_id
    else:
        ours = str(run.get("name", "")).startswith(_OUR_CHECK_NAME_PREFIX)
    if not ours:
        b.route.ignored = "check run of another app"
        return
    repo_id, repo = b.repo()
    for pull in run.get("pull_requests") or []:
        if isinstance(pull, dict) and isinstance(pull.get("number"), int):
            b.add(pr_key(repo_id, pull["number"]), repo)
    if not b.route.jobs:
        b.route.ignored = "rerequested check run has no pull requests"


def _merge_group(b: _Builder) -> None:
    if b.payload.get("action") != "checks_requested":
        b.route.ignored = "merge_group action other than checks_requested"
        return
    group = _get(b.payload, "merge_group")
    head_ref = str(_get(group, "head_ref"))
    number = merge_group_pull_number(head_ref)
    if number is None:
        b.route.ignored = "merge group head_ref names no pull request"
        return
    repo_id, repo = b.repo()
    hint = {
        "merge_group": {
            "head_sha": group.get("head_sha"),
            "head_ref": head_ref,
            "base_ref": group.get("base_ref"),
        }
    }
    b.add(pr_key(repo_id, number), repo, hint)


def _milestone(b: _Builder) -> None:
    repo_id, repo = b.repo()
    b.add(release_key(repo_id, _int(b.payload, "milestone", "number")), repo)


def _repo_wide(b: _Builder) -> None:
    """release, deployment_status, create, delete: intake cannot know which milestone a tag or a
    deployment belongs to without GitHub. Branches and tags are the repo reconciler's own
    discovery; releases and deployments concern some releases, by stage: release discovery wakes
    those (``RELEASE_EVENTS_HINT``), not a full fan-out."""
    repo_id, repo = b.repo()
    hints: dict[str, Any] = {}
    if b.event in ("release", "deployment_status"):
        hints[RELEASE_EVENTS_HINT] = [b.event]
    ref = b.payload.get("ref")
    if isinstance(ref, str) and b.payload.get("ref_type") in ("branch", "tag"):
        hints["refs"] = [f"{b.payload['ref_type']}:{ref}"]
    b.add(repo_key(repo_id), repo, hints)


def _release(b: _Builder) -> None:
    release = b.payload.get("release")
    body = release.get("body") if isinstance(release, dict) else None
    marker = _NOTES_MARKER.search(body) if isinstance(body, str) else None
    if marker is None:
        _repo_wide(b)
        return
    repo_id, repo = b.repo()
    b.add(release_key(repo_id, int(marker.group(1))), repo)


def _push(b: _Builder) -> None:
    repo_id, repo = b.repo()
    paths: list[str] = []
    for commit in b.payload.get("commits") or []:
        if not isinstance(commit, dict):
            continue
        for change in ("added", "modified", "removed"):
            for path in commit.get(change) or []:
                if isinstance(path, str) and path.endswith(_CONFIG_SUFFIXES) and path not in paths:
                    paths.append(path)
    hints: dict[str, Any] = {"refs": [str(_get(b.payload, "ref"))]}
    if paths:
        hints["changed_config_paths"] = paths[:_MAX_HINTED_PATHS]
    b.add(repo_key(repo_id), repo, hints)


def _repositories(b: _Builder, field_name: str) -> None:
    # A newly covered repository has releases and pull requests the bot has never seen: fan out.
    for repository in b.payload.get(field_name) or []:
        if isinstance(repository, dict) and isinstance(repository.get("id"), int):
            b.add(repo_key(repository["id"]), repository.get("full_name"), {"fan_out": True})
    if not b.route.jobs:
        b.route.ignored = f"no repositories in {field_name}"


def _installation(b: _Builder) -> None:
    action = b.payload.get("action")
    installation_id = _int(b.payload, "installation", "id")
    if action in ("deleted", "suspend"):
        b.route.controls.append(DropInstallation(installation_id))
        return
    if action in ("created", "unsuspend", "new_permissions_accepted"):
        # `created` lists the repositories; the others may not, then the repo reconcile of a later
        # event (or `release-bot reconcile`) picks them up.
        _repositories(b, "repositories")
        return
    b.route.ignored = f"installation action {action!r}"


def _installation_repositories(b: _Builder) -> None:
    action = b.payload.get("action")
    if action == "added":
        _repositories(b, "repositories_added")
    elif action == "removed":
        repos = [
            str(r["full_name"]) for r in b.payload.get("repositories_removed") or [] if isinstance(r, dict) and r.get("full_name")
        ]
        b.route.controls.append(DropInstallation(_int(b.payload, "installation", "id"), repos))
    else:
        b.route.ignored = f"installation_repositories action {action!r}"


_HANDLERS: dict[str, Callable[[_Builder], None]] = {
    "pull_request": _pull_request,
    "pull_request_review": _pull_request_review,
    "issue_comment": _issue_comment,
    "issues": _issues,
    "merge_group": _merge_group,
    "milestone": _milestone,
    "release": _release,
    "deployment_status": _repo_wide,
    "create": _repo_wide,
    "delete": _repo_wide,
    "push": _push,
    "installation": _installation,
    "installation_repositories": _installation_repositories,
}

HANDLED_EVENTS = frozenset(_HANDLERS) | {"check_run"}


def route(event: str, payload: Any, ctx: RoutingContext | None = None) -> Route:
    """Map one verified delivery to its keys. Raises ``PayloadError`` for a payload missing a
    field its event always has (intake answers 400)."""
    if not isinstance(payload, dict):
        raise PayloadError("payload is not a JSON object")
    if event not in HANDLED_EVENTS:
        return Route(ignored=f"event {event!r} is not used by release-bot")
    b = _Builder(event, payload)
    if event == "check_run":
        _check_run(b, ctx or RoutingContext())
    else:
        _HANDLERS[event](b)
    if not b.route.jobs and not b.route.controls and b.route.ignored is None:
        b.route.ignored = "nothing to reconcile"
    return b.route
