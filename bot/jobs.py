"""What intake puts on the queue and what a worker hands to a reconciler.

Keys (DESIGN.md):
    pr:{repo_id}#{number}               the merge gate of one pull request
    release:{repo_id}@{milestone_number} tracking issue, stage comments, release of one milestone
    repo:{repo_id}                       configuration, branch/tag discovery; fans out
    deploy:{repo_id}#{deployment_id}     the answer to one deployment protection rule request

A key is unique on the queue: enqueuing a key that is already waiting merges its hints into
the waiting job instead of adding a second one (coalescing).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """One unit of work: a key plus what a reconciler needs to find the repository."""

    key: str
    installation_id: int | None
    repo: str | None  # "owner/name"; None only for installation-wide work
    reason: str = ""  # "pull_request.labeled": for logs only, never for decisions
    # Hints merged on coalescing: lists are unioned, scalars replaced. Hints say where to look
    # (e.g. {"comment_ids": [123]} for a new command comment), never what is true.
    hints: dict[str, Any] = field(default_factory=dict)


def pr_key(repo_id: int, number: int) -> str:
    return f"pr:{repo_id}#{number}"


def release_key(repo_id: int, milestone_number: int) -> str:
    return f"release:{repo_id}@{milestone_number}"


def repo_key(repo_id: int) -> str:
    return f"repo:{repo_id}"


def deploy_key(repo_id: int, deployment_id: int) -> str:
    return f"deploy:{repo_id}#{deployment_id}"


def parse_key(key: str) -> tuple[str, int, int | None]:
    """'pr:12#5' -> ('pr', 12, 5); 'repo:12' -> ('repo', 12, None)."""
    kind, _, rest = key.partition(":")
    if kind in ("pr", "deploy"):
        repo_id, _, number = rest.partition("#")
        return kind, int(repo_id), int(number)
    if kind == "release":
        repo_id, _, number = rest.partition("@")
        return kind, int(repo_id), int(number)
    if kind == "repo":
        return kind, int(rest), None
    raise ValueError(f"unknown key kind in {key!r}")


# GitHub names a merge group's head `gh-readonly-queue/{base}/pr-{number}-{sha}`; intake (which
# key to wake) and the gate (which pull request the group checks) read it the same way.
_MERGE_GROUP_PR = re.compile(r"(?:^|/)pr-(\d+)-[0-9a-f]{7,40}$")


def merge_group_pull_number(head_ref: str) -> int | None:
    """The pull request a merge group's head ref was made for, or None when it names none."""
    match = _MERGE_GROUP_PR.search(head_ref)
    return int(match.group(1)) if match else None


def comment_digest(body: str) -> str:
    """A short digest of a comment's body: intake records it from the signed ``created`` payload,
    the reconciler compares it with the body it reads back, so an edited command is never run."""
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def comment_digests(hints: Mapping[str, Any]) -> dict[int, str]:
    """The ``comment_digests`` hint ([[comment id, digest of the body as created], …]) as a map."""
    out: dict[int, str] = {}
    value = hints.get("comment_digests")
    for entry in value if isinstance(value, list) else []:
        if (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], int)
            and isinstance(entry[1], str)
        ):
            out[entry[0]] = entry[1]
    return out


def comment_was_edited(created_at: str, updated_at: str, body: str, digest: str | None) -> bool:
    """Whether a comment read back from GitHub is no longer what its author posted: GitHub moved
    ``updated_at``, or the body differs from the digest intake took of the signed ``created``
    delivery (which also catches an edit within the same second). GitHub does not say who edited
    a comment, and anyone with write access can, so an edited comment runs no command."""
    if created_at and updated_at and updated_at != created_at:
        return True
    return digest is not None and digest != comment_digest(body)
