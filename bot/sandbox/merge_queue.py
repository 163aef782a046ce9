"""The merge queue: a group of pull requests merged together once its required checks pass.

``enqueue`` builds the group's commit on top of the base branch (one merge commit per pull request,
in order), creates the read-only ``gh-readonly-queue/{base}/pr-{number}-{sha}`` branch and sends
``merge_group`` ``checks_requested``. ``evaluate`` (called after every check run or status change)
lands a group whose required checks pass — each pull request ``closed`` as merged, then the base
branch's ``push``, then ``merge_group`` ``destroyed`` (``merged``) — and destroys a group whose
required check failed (``invalidated``). Call with the lock held.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import serializers_pulls as pshapes
from bot.sandbox.http import ApiError
from bot.sandbox.merging import MergeConflict, build_merge, mark_merged
from bot.sandbox.pushes import RefChange, push
from bot.sandbox.rules import requirements, unmet_checks
from bot.sandbox.state import Issue, Repo, SandboxState, iso
from bot.sandbox.webhooks import emitter


def _group_payload(repo: Repo, group: dict[str, Any]) -> dict[str, Any]:
    head = repo.commits[group["head_sha"]]
    return {
        "merge_group": {
            "head_sha": group["head_sha"],
            "head_ref": group["head_ref"],
            "base_ref": f"refs/heads/{group['base']}",
            "base_sha": group["base_sha"],
            "head_commit": {
                "id": head.sha,
                "tree_id": head.tree_sha,
                "message": head.message,
                "timestamp": iso(head.committer.date),
                "author": {"name": head.author.name, "email": head.author.email},
                "committer": {"name": head.committer.name, "email": head.committer.email},
            },
        }
    }


def enqueue(st: SandboxState, repo: Repo, numbers: list[int], login: str) -> dict[str, Any]:
    if not numbers:
        raise ApiError(422, "pull_numbers must name at least one pull request")
    pulls: list[Issue] = []
    for n in numbers:
        it = repo.issues.get(n)
        if it is None or it.pull is None or it.deleted:
            raise ApiError(404, f"Pull request #{n} not found")
        if it.state != "open" or it.pull.draft:
            raise ApiError(422, f"Pull request #{n} is not open and ready for review")
        pulls.append(it)
    bases = {it.pull.base_ref for it in pulls if it.pull}
    if len(bases) != 1:
        raise ApiError(422, "All pull requests of a merge group must target the same base branch")
    base = bases.pop()
    base_sha = repo.branch_sha(base)
    if base_sha is None:
        raise ApiError(422, f"Base branch {base} does not exist")
    tip = base_sha
    merges: dict[int, str] = {}
    for it in pulls:
        try:
            tip, commit = build_merge(st, repo, tip, it, login, "merge", None, None)
        except MergeConflict:
            raise ApiError(422, f"Pull request #{it.number} conflicts with the merge group") from None
        merges[it.number] = commit.sha
    last = pulls[-1]
    assert last.pull is not None
    head_ref = f"refs/heads/gh-readonly-queue/{base}/pr-{last.number}-{last.pull.head_sha}"
    group = {
        "id": st.next_id("merge_group"),
        "repo_id": repo.id,
        "base": base,
        "base_sha": base_sha,
        "head_sha": tip,
        "head_ref": head_ref,
        "pull_numbers": list(numbers),
        "merges": merges,
        "status": "pending",
        "by": login,
    }
    # GitHub creates the queue branch itself; it is not a user push, so no create/push for it here.
    repo.refs[head_ref] = tip
    st.merge_groups.append(group)
    emitter(st).emit(
        "merge_group", "checks_requested", lambda: _group_payload(repo, group), repo, sender=login
    )
    evaluate(st, repo)
    return group


def evaluate(st: SandboxState, repo: Repo) -> None:
    for group in [g for g in st.merge_groups if g["repo_id"] == repo.id and g["status"] == "pending"]:
        checks = requirements(repo, group["base"]).checks
        unmet = unmet_checks(repo, group["head_sha"], checks)
        if any(state == "failing" for _, state in unmet):
            _destroy(st, repo, group, "invalidated")
        elif repo.branch_sha(group["base"]) != group["base_sha"]:
            _destroy(st, repo, group, "invalidated")  # the base moved under the group
        elif not unmet:
            _land(st, repo, group)


def _land(st: SandboxState, repo: Repo, group: dict[str, Any]) -> None:
    login = group["by"]
    group["status"] = "merged"
    em = emitter(st)
    for n in group["pull_numbers"]:
        it = repo.issues[n]
        mark_merged(st, repo, it, login, group["merges"][n], group["base_sha"])
        em.emit(
            "pull_request",
            "closed",
            lambda it=it: {
                "number": it.number,
                "pull_request": pshapes.pull_request(st, repo, it, webhook=True),
            },
            repo,
            sender=login,
        )
    push(st, repo, [RefChange(f"refs/heads/{group['base']}", group["base_sha"], group["head_sha"])], login)
    repo.refs.pop(group["head_ref"], None)
    em.emit(
        "merge_group",
        "destroyed",
        lambda: {"reason": "merged", **_group_payload(repo, group)},
        repo,
        sender=login,
    )


def _destroy(st: SandboxState, repo: Repo, group: dict[str, Any], reason: str) -> None:
    group["status"] = reason
    repo.refs.pop(group["head_ref"], None)
    emitter(st).emit(
        "merge_group",
        "destroyed",
        lambda: {"reason": reason, **_group_payload(repo, group)},
        repo,
        sender=group["by"],
    )
