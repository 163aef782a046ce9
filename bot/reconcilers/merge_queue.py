"""The gate on a merge queue's group: one check on the group's head commit for all its pull requests.

A ``pr:`` job with a ``merge_group`` hint (``head_sha``/``head_ref``/``base_ref``) ends here after
its own pull request's gate has converged: success only when every pull request of the group
passes. The members' own reconciles are run through ``reconcile_member`` (the ``pr:`` reconciler's),
so this module never imports the pull-request reconciler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.core.gate import CheckOutput, is_release_branch, merge_group_check
from bot.errors import PermanentError
from bot.github import gate_io
from bot.jobs import merge_group_pull_number
from bot.reconcilers.context import JobContext

log = logging.getLogger("bot.reconcile.pr")

MemberReconcile = Callable[[int], CheckOutput | None]


def reconcile_merge_group(
    ctx: JobContext,
    number: int,
    group: Mapping[str, Any],
    own: CheckOutput | None,
    reconcile_member: MemberReconcile,
) -> None:
    """Report the gate on the merge group's head commit: success when every pull request of it passes."""
    head_sha = str(group.get("head_sha") or "")
    head_ref = str(group.get("head_ref") or "")
    if not head_sha:
        log.warning("merge_group hint for #%s without head_sha; ignored", number)
        return
    settings = ctx.repo_config.gate
    base = str(group.get("base_ref") or "").removeprefix("refs/heads/")
    if base and not is_release_branch(base, settings.release_branches):
        return  # the gate does not apply to this queue: no check, so it cannot block it
    named = merge_group_pull_number(head_ref)
    numbers = [named] if named is not None else [number]
    numbers += [n for n in _group_members(ctx, group) if n not in numbers]
    results: list[tuple[int, CheckOutput | None]] = []
    for member in numbers:
        if member == number:
            results.append((member, own))
        else:
            try:
                results.append((member, reconcile_member(member)))
            except PermanentError as exc:  # a member vanished: the group cannot pass
                log.warning("merge group %s: %s", head_sha[:7], exc)
                results.append((member, None))
    gate_io.ensure_check(
        ctx.gh,
        ctx.repo_full_name,
        head_sha,
        settings.check_name,
        ctx.app_id,
        merge_group_check(results, head_sha),
    )


def _group_members(ctx: JobContext, group: Mapping[str, Any]) -> list[int]:
    """Pull requests queued ahead in the same group: the queue's merge commits name them."""
    base_ref = str(group.get("base_ref") or "")
    head_sha = str(group.get("head_sha") or "")
    if not base_ref or not head_sha:
        return []
    base = base_ref.removeprefix("refs/heads/")
    return gate_io.merge_group_member_numbers(ctx.gh, ctx.repo_full_name, base, head_sha)
