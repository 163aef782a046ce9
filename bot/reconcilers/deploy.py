"""The ``deploy:{repo_id}#{deployment_id}`` reconciler: answer one custom deployment protection rule.

GitHub holds a deployment to an environment where release-bot's rule is enabled until the App
answers through the ``deployment_callback_url`` of the ``deployment_protection_rule`` event (intake
keeps it as the job's hint). Read the facts (the deployment itself, the release its tag names, that
release's record and checklists, the signed-off candidate's commit), decide with the pure
``bot.core.deploy.decide_deployment``, apply: the answer, then — for a rejection — the bot's note on
the tracking issue, found again by its marker so it is posted once.

Once and across a crash: the job is durable on the queue until it ends, so an accepted event is
answered even if a worker dies; the decision is kept in the store before it is sent, so a job run
again after a crash sends the same answer (a second answer is refused by GitHub with 422, which
ends the job: the rule no longer waits), and the note is looked for before it is posted.
"""

from __future__ import annotations

from typing import Any

from bot.core.deploy import (
    DeployDecision,
    DeploymentAsked,
    ReleaseAtRef,
    classify_ref,
    decide_deployment,
    deploy_note_marker,
    release_at_ref,
    render_note,
)
from bot.core.stages import StageFacts, uat_signed_off
from bot.core.tracking import TrackingState
from bot.core.versions import PatternError, rc_tag
from bot.github import deploy_io
from bot.github.release_facts import read_release_facts
from bot.jobs import parse_key
from bot.reconcilers.context import JobContext

# The decisions kept per repository (bounded): a job run again sends the answer it decided first.
MAX_KEPT_DECISIONS = 200


def decisions_key(repo_id: int) -> str:
    return f"deploy-decisions:{repo_id}"


def reconcile(ctx: JobContext) -> None:
    _kind, repo_id, deployment_id = parse_key(ctx.job.key)
    assert deployment_id is not None
    hints = ctx.job.hints or {}
    run_id = deploy_io.run_id_of(str(hints.get("callback_url") or ""), ctx.repo_full_name)
    if run_id is None:
        ctx.log.error(
            "deploy %s: the callback URL names no workflow run of %s", ctx.job.key, ctx.repo_full_name
        )
        return
    asked = deploy_io.read_deployment(ctx.gh, ctx.repo_full_name, deployment_id)
    if asked is None:
        ctx.log.info("deploy %s: the deployment is gone; nothing to answer", ctx.job.key)
        return
    environment = str(hints.get("environment") or asked.environment)
    kept = _kept_decision(ctx, repo_id, deployment_id)
    if kept is None:
        release = _release_at(ctx, asked)
        rule = ctx.repo_config.deploy_settings().rule_for(asked.environment)
        decision = decide_deployment(asked, rule, release, config_valid=ctx.config_valid)
        _keep(ctx, repo_id, deployment_id, decision, release.tracking_issue if release else None)
        tracking = release.tracking_issue if release else None
    else:
        decision, tracking = kept
    sent = deploy_io.answer_rule(
        ctx.gh, ctx.repo_full_name, run_id, environment, decision.state, decision.comment
    )
    if not decision.approved and tracking is not None:
        _note(ctx, asked, decision, tracking)
    ctx.log.info(
        "deploy %s: %s %s to %s (%s)%s",
        ctx.job.key,
        decision.state,
        asked.tag,
        asked.environment,
        "; ".join(decision.reasons) or decision.summary,
        "" if sent else " — already answered",
    )


def _release_at(ctx: JobContext, asked: DeploymentAsked) -> ReleaseAtRef | None:
    """The release the deployment's tag names, reduced to what the decision reads (None: none)."""
    releases = ctx.repo_config.releases
    try:
        _kind, version, _rc = classify_ref(asked.ref, releases.conventions)
    except PatternError as exc:
        ctx.log.error("deploy %s: unusable release pattern: %s", ctx.job.key, exc)
        return None
    if version is None:
        return None
    number = deploy_io.release_milestone(
        ctx.gh, ctx.repo_full_name, version, releases.conventions.milestone_pattern
    )
    if number is None:
        return None
    facts = read_release_facts(ctx.gh, ctx.repo_full_name, number, ctx.bot_login, releases, app_id=ctx.app_id)
    if facts.milestone is None or facts.version_obj is None:
        return None
    state = facts.record.state if facts.record is not None else TrackingState()
    verdict = state.stages.uat
    candidate_commit = None
    if (
        verdict is not None
        and verdict.rc is not None
        and uat_signed_off(state.stages, StageFacts(candidates=facts.candidates))
    ):
        tag = rc_tag(facts.version_obj, verdict.rc, releases.conventions.rc_tag_pattern)
        candidate_commit = deploy_io.tag_commit(ctx.gh, ctx.repo_full_name, tag)
    return release_at_ref(
        facts, state, asked, hold_label=ctx.repo_config.gate.hold_label, candidate_commit=candidate_commit
    )


def _note(ctx: JobContext, asked: DeploymentAsked, decision: DeployDecision, issue: int) -> None:
    marker = deploy_note_marker(asked.deployment_id)
    if deploy_io.has_note(ctx.gh, ctx.repo_full_name, issue, marker, ctx.bot_login):
        return
    deploy_io.post_note(ctx.gh, ctx.repo_full_name, issue, render_note(asked, decision))


def _kept_decision(
    ctx: JobContext, repo_id: int, deployment_id: int
) -> tuple[DeployDecision, int | None] | None:
    kept = ctx.store.get_state(decisions_key(repo_id))
    entry = kept.get(str(deployment_id)) if isinstance(kept, dict) else None
    if not isinstance(entry, dict) or entry.get("state") not in ("approved", "rejected"):
        return None
    reasons = tuple(str(r) for r in entry.get("reasons") or () if isinstance(r, str))
    tracking = entry.get("tracking")
    decision = DeployDecision(
        str(entry["state"]), reasons, str(entry.get("comment") or ""), str(entry.get("summary") or "")
    )
    return decision, tracking if isinstance(tracking, int) else None


def _keep(
    ctx: JobContext, repo_id: int, deployment_id: int, decision: DeployDecision, tracking: int | None
) -> None:
    def change(current: Any) -> dict[str, Any]:
        kept = dict(current) if isinstance(current, dict) else {}
        kept[str(deployment_id)] = {
            "state": decision.state,
            "reasons": list(decision.reasons),
            "comment": decision.comment,
            "summary": decision.summary,
            "tracking": tracking,
        }
        newest = sorted(kept, key=lambda k: int(k) if k.isdigit() else 0)[-MAX_KEPT_DECISIONS:]
        return {k: kept[k] for k in newest}

    ctx.store.update_state(decisions_key(repo_id), change)


__all__ = ["decisions_key", "reconcile"]
