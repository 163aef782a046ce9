"""The ``repo:{repo_id}`` reconciler: configuration changes and discovery; fans out to other keys.

On every ``repo:`` job:
1. a push to the default branch touching a configuration source (``.github/release-bot.yml``,
   ``.github/release.yml``, ``.github/release-drafter.yml``, any file of the organization's
   ``.github`` repository, or a file another repository ``_extends``) drops the cached
   configurations that read from this repository, and re-runs the repositories that depend on it;
2. when this repository's configuration changed (or a ``fan_out`` hint asks for it: installation
   added, ``release-bot reconcile``), every open version milestone (``release:`` keys) and every
   open pull request into a release branch (``pr:`` keys) is enqueued;
3. the discovery functions listed in ``bot.reconcilers.dispatch.DISCOVERIES`` run (the gate's
   audit of release branches; release-branch and tag discovery, which belongs to the release life
   cycle), and their jobs are enqueued with the rest.

Hints read (``bot/intake/routing.py``): ``refs`` (``refs/heads/main``), ``changed_config_paths``,
``config_changed`` and ``fan_out`` (booleans set by fan-out and by the reconcile command).
``release_events`` (issues outside a milestone, releases, deployments) is release discovery's: it
wakes the releases whose stage cares, and is deliberately no fan-out here (the gate depends on none
of those events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.config.loader import CONFIG_SOURCE_PATHS, ORG_CONFIG_REPO
from bot.core.gate import is_release_branch
from bot.core.versions import PatternError, parse_milestone_title
from bot.github import repo_io
from bot.jobs import JobSpec, parse_key, pr_key, release_key, repo_key
from bot.reconcilers.context import JobContext

Discovery = Callable[[JobContext], list[JobSpec]]


def reconcile(ctx: JobContext, discoveries: Sequence[Discovery] = ()) -> None:
    _, repo_id, _ = parse_key(ctx.job.key)
    hints = ctx.job.hints or {}
    jobs: list[JobSpec] = []

    config_changed = bool(hints.get("config_changed"))
    if _touches_config(ctx, hints):
        jobs.extend(_invalidate_sources(ctx, repo_id))
        config_changed = True
        ctx.log.info("%s: configuration source changed; configuration reloaded", ctx.repo_full_name)

    if config_changed or hints.get("fan_out"):
        if config_changed and ctx.services is not None:
            loaded = ctx.services.config_loader.load(ctx.gh, ctx.repo_full_name, repo_id=repo_id,
                                                     installation_id=ctx.job.installation_id)
            ctx.config, ctx.config_error, ctx.config_valid = loaded.config, loaded.error, loaded.valid
        jobs.extend(fan_out(ctx, repo_id))

    for discover in discoveries:
        jobs.extend(discover(ctx) or [])

    if jobs:
        ctx.enqueue(_unique(jobs))


def _touches_config(ctx: JobContext, hints: dict[str, Any]) -> bool:
    """A push to the default branch that changed a configuration source of any repository."""
    paths = [p for p in hints.get("changed_config_paths") or [] if isinstance(p, str)]
    refs = [r for r in hints.get("refs") or [] if isinstance(r, str) and r.startswith("refs/heads/")]
    if not paths or not refs:
        return False
    is_org_config_repo = ctx.repo_full_name.split("/", 1)[1].lower() == ORG_CONFIG_REPO
    loader = ctx.services.config_loader if ctx.services is not None else None
    is_extends_target = bool(loader and loader.dependents(ctx.repo_full_name))
    if not (is_org_config_repo or is_extends_target or any(p in CONFIG_SOURCE_PATHS for p in paths)):
        return False
    # Configuration is read from the default branch only: a push elsewhere changes nothing.
    return f"refs/heads/{repo_io.default_branch(ctx.gh, ctx.repo_full_name)}" in refs


def _invalidate_sources(ctx: JobContext, repo_id: int) -> list[JobSpec]:
    """Drop cached configurations that read from this repository; re-run the other repositories
    whose configuration depends on it (org ``.github`` fallback, ``_extends``)."""
    if ctx.services is None:
        return []
    loader = ctx.services.config_loader
    dependents = loader.dependents(ctx.repo_full_name)
    loader.invalidate_source(ctx.repo_full_name)
    jobs = []
    for dependent in dependents:
        if dependent.repo_id == repo_id:
            continue
        installation_id = dependent.installation_id or ctx.job.installation_id
        jobs.append(JobSpec(repo_key(dependent.repo_id), installation_id, dependent.repo_full_name,
                            reason=f"config source {ctx.repo_full_name} changed",
                            hints={"config_changed": True}))
    return jobs


def fan_out(ctx: JobContext, repo_id: int) -> list[JobSpec]:
    """``release:`` keys of open version milestones and ``pr:`` keys of open pull requests into
    release branches, per the effective configuration."""
    pattern = ctx.repo_config.releases.conventions.milestone_pattern
    branch_patterns = ctx.repo_config.gate.release_branches
    reason = "repo fan-out"
    jobs: list[JobSpec] = []
    for milestone in repo_io.open_milestones(ctx.gh, ctx.repo_full_name):
        try:
            version = parse_milestone_title(str(milestone.get("title") or ""), pattern)
        except PatternError as exc:
            ctx.log.error("%s: releases.milestone_pattern unusable: %s", ctx.repo_full_name, exc)
            break
        if version is not None:
            jobs.append(JobSpec(release_key(repo_id, int(milestone["number"])), ctx.job.installation_id,
                                ctx.repo_full_name, reason=reason))
    if branch_patterns:
        for number, base in repo_io.open_pull_bases(ctx.gh, ctx.repo_full_name):
            if is_release_branch(base, branch_patterns):
                jobs.append(JobSpec(pr_key(repo_id, number), ctx.job.installation_id,
                                    ctx.repo_full_name, reason=reason))
    return jobs


def _unique(jobs: list[JobSpec]) -> list[JobSpec]:
    seen: set[str] = set()
    out: list[JobSpec] = []
    for job in jobs:
        if job.key not in seen:
            seen.add(job.key)
            out.append(job)
    return out
