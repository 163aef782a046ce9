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

from bot.github.freshness import ECHO_TOUCHED_HINT, echo_touched_hint, families_touched
from bot.jobs import (
    JobSpec,
    comment_digest,
    deploy_key,
    merge_group_pull_number,
    pr_key,
    release_key,
    repo_key,
)

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
    """A signed payload lacks a field its event always carries, or holds one of the wrong type
    (an integer where an object belongs); the message names the field."""


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


_KIND_WORDS = {dict: "an object", list: "an array", str: "a string", int: "an integer"}


Path = tuple[str | int, ...]


def _dotted(path: Path) -> str:
    """``check_run.pull_requests[0].number``: the field as people name it."""
    text = ""
    for name in path:
        text += f"[{name}]" if isinstance(name, int) else (f".{name}" if text else name)
    return text or "(root)"


def _get(payload: Any, *path: str | int) -> Any:
    """The value at ``path`` (keys, and indices into arrays); the error names the field."""
    node = payload
    for depth, name in enumerate(path):
        if isinstance(name, int):
            if not isinstance(node, list) or name >= len(node):
                raise PayloadError(f"payload field {_dotted(path[:depth])} is not an array")
            node = node[name]
            continue
        if not isinstance(node, dict):
            raise PayloadError(f"payload field {_dotted(path[:depth])} is not an object")
        if name not in node:
            raise PayloadError(f"payload lacks {_dotted(path)}")
        node = node[name]
    return node


def _typed(payload: Any, kind: type, *path: str | int, required: bool = True) -> Any:
    """The value at ``path`` if it is of ``kind``; a missing or null optional field gives None.

    Signed payloads come from GitHub, but a wrong-shaped one (a proxy, a replay tool, a bug) must be
    refused with the field named, never crash the router: every field it reads goes through here.
    """
    try:
        value = _get(payload, *path)
    except PayloadError:
        if required:
            raise
        # Only a missing leaf is optional: a wrong-typed parent is still an error.
        parent = _get(payload, *path[:-1]) if len(path) > 1 else payload
        if not isinstance(parent, dict):
            raise
        return None
    if value is None and not required:
        return None
    is_kind = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not is_kind:
        raise PayloadError(f"payload field {_dotted(path)} is not {_KIND_WORDS[kind]}")
    if kind is int and not _INT64_MIN <= value <= _INT64_MAX:
        # GitHub's ids and numbers are 64-bit; a larger one cannot be a key or a queue column.
        raise PayloadError(f"payload field {_dotted(path)} is not a 64-bit integer")
    return value


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _int(payload: Any, *path: str | int) -> int:
    return _typed(payload, int, *path)  # type: ignore[no-any-return]


def _str(payload: Any, *path: str | int, required: bool = True) -> str | None:
    return _typed(payload, str, *path, required=required)  # type: ignore[no-any-return]


def _obj(payload: Any, *path: str | int, required: bool = True) -> dict[str, Any] | None:
    return _typed(payload, dict, *path, required=required)  # type: ignore[no-any-return]


def _list(payload: Any, *path: str | int) -> list[Any]:
    return _typed(payload, list, *path, required=False) or []


class _Builder:
    """Collects jobs for one delivery, with the repository and installation filled in."""

    def __init__(self, event: str, payload: dict[str, Any]) -> None:
        self.event = event
        self.payload = payload
        self.action = _str(payload, "action", required=False)
        self.reason = f"{event}.{self.action}" if self.action is not None else event
        self.installation_id: int | None = (
            _int(payload, "installation", "id")
            if _obj(payload, "installation", required=False) is not None
            else None
        )
        self.route = Route()
        self.touched = sorted(families_touched(event, self.action, payload))
        self.echo_touched = echo_touched_hint(event, payload)

    def repo(self) -> tuple[int, str]:
        return _int(self.payload, "repository", "id"), str(_str(self.payload, "repository", "full_name"))

    def add(self, key: str, repo: str | None, hints: dict[str, Any] | None = None) -> None:
        for existing in self.route.jobs:
            if existing.key == key:  # one event, one job per key
                return
        hints = dict(hints or {})
        if self.touched:
            # What this event may have changed that the read cache keeps in a freshness window
            # (bot.github.freshness): the job records it before it reads anything.
            hints["touched"] = self.touched
            if self.echo_touched is not None:
                hints[ECHO_TOUCHED_HINT] = self.echo_touched
        self.route.jobs.append(JobSpec(key, self.installation_id, repo, self.reason, hints))


def _milestone_number(payload: Any, *path: str | int) -> int | None:
    """The number of the milestone at ``path`` (null or absent: None; any other shape: refused)."""
    if _obj(payload, *path, required=False) is None:
        return None
    return _int(payload, *path, "number")


def _pull_request(b: _Builder) -> None:
    repo_id, repo = b.repo()
    _obj(b.payload, "pull_request")
    b.add(pr_key(repo_id, _int(b.payload, "pull_request", "number")), repo)
    # The PR's milestone's release (notes, scope); for `demilestoned` the payload's top-level
    # `milestone` is the one it left, whose release must drop it too.
    for number in (
        _milestone_number(b.payload, "pull_request", "milestone"),
        _milestone_number(b.payload, "milestone"),
    ):
        if number is not None:
            b.add(release_key(repo_id, number), repo)


def _pull_request_review(b: _Builder) -> None:
    repo_id, repo = b.repo()
    b.add(pr_key(repo_id, _int(b.payload, "pull_request", "number")), repo)


def _issue_comment(b: _Builder) -> None:
    repo_id, repo = b.repo()
    _obj(b.payload, "issue")
    comment_id = _int(b.payload, "comment", "id")
    # Commands count only when a comment is created: an edit must not replay or smuggle one.
    # Edits still reconcile (ticking a checklist box on the tracking issue arrives as `edited`).
    hints: dict[str, Any] = {}
    if b.action == "created":
        # The digest of the body as GitHub delivered it on creation, in this signed payload: the
        # reconciler runs a command only if the comment still says exactly that (an edit within
        # the same second leaves `updated_at` equal to `created_at`, so the time alone cannot tell).
        body = _str(b.payload, "comment", "body", required=False) or ""
        hints = {"comment_ids": [comment_id], "comment_digests": [[comment_id, comment_digest(body)]]}
    if _obj(b.payload, "issue", "pull_request", required=False):
        b.add(pr_key(repo_id, _int(b.payload, "issue", "number")), repo, hints)
        return
    number = _milestone_number(b.payload, "issue", "milestone")
    if number is None:
        b.route.ignored = "comment on an issue outside any milestone"
        return
    b.add(release_key(repo_id, number), repo, hints)


def _issues(b: _Builder) -> None:
    repo_id, repo = b.repo()
    _obj(b.payload, "issue")
    numbers = [_milestone_number(b.payload, "issue", "milestone"), _milestone_number(b.payload, "milestone")]
    found = False
    for number in numbers:
        if number is not None:
            found = True
            b.add(release_key(repo_id, number), repo)
    if not found:
        if b.action in ("opened", "labeled", "reopened", "closed"):
            # Issues naming a shipped version (the Monitor stage's feedback) carry no milestone:
            # release discovery wakes the releases whose stage watches for them.
            b.add(repo_key(repo_id), repo, {RELEASE_EVENTS_HINT: [b.event]})
        else:
            b.route.ignored = "issue outside any milestone"


def _check_run(b: _Builder, ctx: RoutingContext) -> None:
    if b.action != "rerequested":
        b.route.ignored = "check_run action other than rerequested"
        return
    _obj(b.payload, "check_run")
    if ctx.app_id is not None:
        app = _obj(b.payload, "check_run", "app", required=False)
        ours = (
            app is not None and _typed(b.payload, int, "check_run", "app", "id", required=False) == ctx.app_id
        )
    else:
        ours = (_str(b.payload, "check_run", "name", required=False) or "").startswith(_OUR_CHECK_NAME_PREFIX)
    if not ours:
        b.route.ignored = "check run of another app"
        return
    repo_id, repo = b.repo()
    for index in range(len(_list(b.payload, "check_run", "pull_requests"))):
        b.add(pr_key(repo_id, _int(b.payload, "check_run", "pull_requests", index, "number")), repo)
    if not b.route.jobs:
        b.route.ignored = "rerequested check run has no pull requests"


def _merge_group(b: _Builder) -> None:
    if b.action != "checks_requested":
        b.route.ignored = "merge_group action other than checks_requested"
        return
    head_ref = str(_str(b.payload, "merge_group", "head_ref"))
    number = merge_group_pull_number(head_ref)
    if number is None:
        b.route.ignored = "merge group head_ref names no pull request"
        return
    repo_id, repo = b.repo()
    hint = {
        "merge_group": {
            "head_sha": _str(b.payload, "merge_group", "head_sha", required=False),
            "head_ref": head_ref,
            "base_ref": _str(b.payload, "merge_group", "base_ref", required=False),
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
    if b.event in ("create", "delete"):
        ref = _str(b.payload, "ref", required=False)
        ref_type = _str(b.payload, "ref_type", required=False)
        if ref is not None and ref_type in ("branch", "tag"):
            hints["refs"] = [f"{ref_type}:{ref}"]
    b.add(repo_key(repo_id), repo, hints)


def _release(b: _Builder) -> None:
    body = _str(b.payload, "release", "body", required=False) if _obj(b.payload, "release") else None
    marker = _NOTES_MARKER.search(body) if body is not None else None
    if marker is None:
        _repo_wide(b)
        return
    repo_id, repo = b.repo()
    b.add(release_key(repo_id, int(marker.group(1))), repo)


def _push(b: _Builder) -> None:
    repo_id, repo = b.repo()
    ref = str(_str(b.payload, "ref"))
    paths: list[str] = []
    for index in range(len(_list(b.payload, "commits"))):
        _obj(b.payload, "commits", index)
        for change in ("added", "modified", "removed"):
            for position in range(len(_list(b.payload, "commits", index, change))):
                path = str(_str(b.payload, "commits", index, change, position))
                if path.endswith(_CONFIG_SUFFIXES) and path not in paths:
                    paths.append(path)
    hints: dict[str, Any] = {"refs": [ref]}
    if paths:
        hints["changed_config_paths"] = paths[:_MAX_HINTED_PATHS]
    b.add(repo_key(repo_id), repo, hints)


def _repositories(b: _Builder, field_name: str) -> None:
    # A newly covered repository has releases and pull requests the bot has never seen: fan out.
    for index in range(len(_list(b.payload, field_name))):
        _obj(b.payload, field_name, index)
        repo_id = _typed(b.payload, int, field_name, index, "id", required=False)
        if repo_id is None:
            continue
        b.add(
            repo_key(repo_id),
            _str(b.payload, field_name, index, "full_name", required=False),
            {"fan_out": True},
        )
    if not b.route.jobs:
        b.route.ignored = f"no repositories in {field_name}"


def _installation(b: _Builder) -> None:
    installation_id = _int(b.payload, "installation", "id")
    if b.action in ("deleted", "suspend"):
        b.route.controls.append(DropInstallation(installation_id))
        return
    if b.action in ("created", "unsuspend", "new_permissions_accepted"):
        # `created` lists the repositories; the others may not, then the repo reconcile of a later
        # event (or `release-bot reconcile`) picks them up.
        _repositories(b, "repositories")
        return
    b.route.ignored = f"installation action {b.action!r}"


def _installation_repositories(b: _Builder) -> None:
    if b.action == "added":
        _repositories(b, "repositories_added")
    elif b.action == "removed":
        repos: list[str] = []
        for index in range(len(_list(b.payload, "repositories_removed"))):
            _obj(b.payload, "repositories_removed", index)
            name = _str(b.payload, "repositories_removed", index, "full_name", required=False)
            if name:
                repos.append(name)
        b.route.controls.append(DropInstallation(_int(b.payload, "installation", "id"), repos))
    else:
        b.route.ignored = f"installation_repositories action {b.action!r}"


def _deployment_protection_rule(b: _Builder) -> None:
    """GitHub waits for the App's answer on one deployment: one ``deploy:`` job per deployment (a
    redelivery coalesces into it). The callback URL is where the answer goes, so it rides along as a
    hint (a reconciler cannot read it back from GitHub); what is deployed is read from GitHub."""
    if b.action != "requested":
        b.route.ignored = "deployment_protection_rule action other than requested"
        return
    repo_id, repo = b.repo()
    hints = {
        "callback_url": _str(b.payload, "deployment_callback_url"),
        "environment": _str(b.payload, "environment", required=False),
    }
    b.add(deploy_key(repo_id, _int(b.payload, "deployment", "id")), repo, hints)


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
    "deployment_protection_rule": _deployment_protection_rule,
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
