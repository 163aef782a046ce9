"""Release-branch and tag discovery, adoption and the bot's labels: the release side of a ``repo:`` job.

Listed in ``bot.reconcilers.dispatch.DISCOVERIES``; runs on every ``repo:`` job.

Why discovery and not ``create`` events: GitHub sends no ``create`` (nor per-tag ``push``) event when
more than three tags are pushed at once, and events can be lost. So every ``repo:`` job lists the
tags and release branches (two calls) and compares them with the set seen last time (a cache in the
bot's store). A new or deleted tag or branch wakes the release it belongs to. With an empty store
(first sight of a repository, an installation, ``release-bot reconcile`` after a wipe) every open
version milestone is woken — adoption: releases already in flight are picked up where they stand —
and the bot's labels are created. Closed milestones are woken only by their own tags (a final tag
pushed after the milestone closed still publishes), never adopted.

Some events reach the ``repo:`` key because routing cannot know their milestone: issues opened outside
any milestone (post-release feedback), ``deployment_status`` and ``release``. Routing names them in
the ``release_events`` hint (a list: coalesced jobs keep every event), and they wake only the releases
whose last recorded stage they can affect (``_WAKE_BY_EVENT``; the stages map is a cache in the store,
written by the release reconciler; without it every open release is woken). The ``fan_out`` hint is
the full fan-out of an adoption (installation, ``release-bot reconcile``): every open release.
"""

from __future__ import annotations

from typing import Any

from bot.config.repo_config import RepoConfig
from bot.core.versions import (
    PatternError,
    branch_line,
    literal_prefix,
    owning_milestone,
    parse_milestone_title,
    parse_tag,
)
from bot.github import release_writes, repo_io
from bot.github.errors import GithubException
from bot.jobs import JobSpec, parse_key, release_key
from bot.reconcilers.context import JobContext

# (name, color, description) of the labels the bot uses; names come from the configuration.
_LABEL_STYLE = {
    "tracking_label": ("0e8a16", "Release tracking issue (release-bot)"),
    "uat_label": ("1d76db", "UAT passed (release-bot gate)"),
    "approval_label": ("5319e7", "Approved for the release branch (release-bot gate)"),
    "hold_label": ("d93f0b", "Hold: do not merge into the release branch"),
    "released_label": ("c5def5", "Shipped in a published release"),
}


def seen_refs_key(repo_id: int) -> str:
    return f"release:refs:{repo_id}"


def labels_key(repo_id: int) -> str:
    return f"release:labels:{repo_id}"


def stages_key(repo_id: int) -> str:
    """{milestone number: stage} as last seen (a wake-up list only; the tracking issue holds the truth)."""
    return f"release:stages:{repo_id}"


# Events routed to ``repo:`` that concern releases in some stages only (routing cannot know the
# milestone): which recorded stages each wakes.
_WAKE_BY_EVENT = {
    "issues": ("monitor",),  # feedback: issues opened naming the version or labelled regression
    # A production deployment of the final tag starts Monitor; in Monitor (moved there by hand) it
    # is recorded as the deployment that happened.
    "deployment_status": ("deploy", "monitor"),
    "deployment": ("deploy", "monitor"),
    "release": ("prepare", "deploy", "monitor", "future_planning"),  # a release edited or published by hand
}

# The hint routing (bot/intake/routing.py, RELEASE_EVENTS_HINT) sets on those events' ``repo:`` jobs.
RELEASE_EVENTS_HINT = "release_events"


def _hinted_events(hints: dict[str, Any]) -> set[str]:
    events = hints.get(RELEASE_EVENTS_HINT)
    return (
        {e for e in events if isinstance(e, str) and e in _WAKE_BY_EVENT}
        if isinstance(events, list)
        else set()
    )


def _woken_by_events(events: set[str], stages: dict[str, Any]) -> set[int]:
    wanted = {stage for event in events for stage in _WAKE_BY_EVENT.get(event, ())}
    return {int(n) for n, stage in stages.items() if stage in wanted and str(n).isdigit()}


class _M:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.number = int(raw["number"])
        self.title = str(raw.get("title") or "")
        self.state = str(raw.get("state") or "open")


def _literal_prefix(pattern: str) -> str:
    """'release/{major}.{minor}' -> 'release/': what matching-refs can filter on."""
    return literal_prefix(pattern)


def bot_labels(config: RepoConfig) -> list[tuple[str, str, str]]:
    values = {
        "tracking_label": config.releases.tracking_label,
        "uat_label": config.gate.uat_label,
        "approval_label": config.gate.approval_label,
        "hold_label": config.gate.hold_label,
        "released_label": config.notes.released_label,
    }
    labels = []
    for key, name in values.items():
        if name.strip():
            color, description = _LABEL_STYLE[key]
            labels.append((name.strip(), color, description))
    return labels


def ensure_labels(ctx: JobContext) -> int:
    """Create the bot's labels that are missing (one list call, one create per missing label)."""
    existing = repo_io.label_names(ctx.gh, ctx.repo_full_name, max_pages=20)
    created = 0
    for name, color, description in bot_labels(ctx.repo_config):
        if name.lower() in existing:
            continue
        try:
            release_writes.create_label(ctx.gh, ctx.repo_full_name, name, color, description)
            created += 1
        except GithubException as exc:
            if exc.status != 422:  # 422: created meanwhile (already_exists)
                raise
    return created


def discover_releases(ctx: JobContext) -> list[JobSpec]:
    _, repo_id, _ = parse_key(ctx.job.key)
    hints = ctx.job.hints or {}
    conventions = ctx.repo_config.releases.conventions

    # ``fan_out`` is set on adoption only (installation, ``release-bot reconcile``): the labels are
    # checked then and on first sight, not on every ``repo:`` job.
    adopting = bool(hints.get("fan_out")) or ctx.store.get_state(labels_key(repo_id)) is None
    if adopting:
        ensure_labels(ctx)
        ctx.store.set_state(labels_key(repo_id), True)

    tags = repo_io.ref_names(ctx.gh, ctx.repo_full_name, "tags")
    prefix = _literal_prefix(conventions.branch_pattern)
    branches = repo_io.ref_names(ctx.gh, ctx.repo_full_name, "heads", prefix)
    try:
        branches = [b for b in branches if branch_line(b, conventions.branch_pattern) is not None]
        tags = [t for t in tags if parse_tag(t, conventions) is not None]
    except PatternError as exc:
        ctx.log.error("%s: release patterns unusable: %s", ctx.repo_full_name, exc)
        return []

    previous = ctx.store.get_state(seen_refs_key(repo_id))
    seen_before = previous if isinstance(previous, dict) else None
    changed_tags = set(tags) ^ set((seen_before or {}).get("tags") or [])
    changed_branches = set(branches) ^ set((seen_before or {}).get("branches") or [])
    ctx.store.set_state(seen_refs_key(repo_id), {"tags": tags, "branches": branches})

    events = _hinted_events(hints)
    stages = ctx.store.get_state(stages_key(repo_id)) if events else None
    by_event = _woken_by_events(events, stages) if isinstance(stages, dict) else set()
    # Without the stages map (never written, or lost) the events cannot be narrowed: wake them all.
    wake_all_open = adopting or seen_before is None or (bool(events) and not isinstance(stages, dict))
    if not (wake_all_open or changed_tags or changed_branches):
        return _jobs(ctx, repo_id, by_event)

    state = "open" if not changed_tags else "all"
    milestones = [_M(m) for m in repo_io.milestones(ctx.gh, ctx.repo_full_name, state, max_pages=50)]
    try:
        versioned = [(parse_milestone_title(m.title, conventions.milestone_pattern), m) for m in milestones]
    except PatternError as exc:
        ctx.log.error("%s: releases.milestone_pattern unusable: %s", ctx.repo_full_name, exc)
        return []
    versioned = [(v, m) for v, m in versioned if v is not None]
    open_ones = [m for _, m in versioned if m.state == "open"]

    numbers: set[int] = set()
    if wake_all_open:
        numbers.update(m.number for m in open_ones)
    for tag in changed_tags:
        info = parse_tag(tag, conventions)
        if info is None:
            continue
        same = [m for v, m in versioned if v == info.version]
        # Prefer the open milestone of that version; a closed one still gets its final tag published.
        numbers.update(m.number for m in (sorted(same, key=lambda m: m.state != "open")[:1]))
    for branch in changed_branches:
        owner = owning_milestone(branch, open_ones, ctx.config)
        if owner is not None:
            numbers.add(owner.number)
    numbers |= by_event
    return _jobs(ctx, repo_id, numbers)


def _jobs(ctx: JobContext, repo_id: int, numbers: set[int]) -> list[JobSpec]:
    return [
        JobSpec(
            release_key(repo_id, n), ctx.job.installation_id, ctx.repo_full_name, reason="release discovery"
        )
        for n in sorted(numbers)
    ]
