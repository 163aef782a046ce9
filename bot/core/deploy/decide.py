"""The deployment decision: approved only when every requirement of the environment holds.

``decide_deployment(asked, rule, release)`` → ``DeployDecision``: ``approved`` or not, the
reasons (each saying what is missing and what to do), the comment GitHub shows on the
deployment (bounded), and — on a rejection — the note the bot leaves on the tracking issue.
Every user-written text shown (refs, checklist items, logins) is escaped and bounded
(``bot.core.tracking.neutralize``). Deterministic: the same facts give the same texts.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.deploy.facts import CANDIDATE, FINAL, DeploymentAsked, ReleaseAtRef
from bot.core.deploy.settings import EnvironmentRule
from bot.core.stages import STAGE_TITLES
from bot.core.tracking import neutralize

# GitHub shows the review comment on the deployment; kept short so it is read whole.
MAX_COMMENT_CHARS = 1000
MAX_NOTE_CHARS = 4000
MAX_UNTICKED_NAMED = 3
APPROVED = "approved"
REJECTED = "rejected"


def deploy_note_marker(deployment_id: int) -> str:
    """The bot's note of one rejected deployment on the tracking issue (found again: posted once)."""
    return f"<!-- release-bot:deploy:{deployment_id} -->"


@dataclass(frozen=True)
class DeployDecision:
    state: str  # APPROVED | REJECTED
    reasons: tuple[str, ...]  # why it is rejected (empty when approved)
    comment: str  # the review comment GitHub shows on the deployment
    summary: str  # what was checked, in words (the approval's comment)

    @property
    def approved(self) -> bool:
        return self.state == APPROVED


def _code(text: str, limit: int = 100) -> str:
    """A user-controlled name (a ref, an environment) as inline code, escaped and bounded."""
    return "`" + neutralize(text.replace("`", "'"), limit) + "`"


def _short(sha: str | None) -> str:
    return _code(sha[:7]) if sha else "(none)"


def decide_deployment(
    asked: DeploymentAsked,
    rule: EnvironmentRule | None,
    release: ReleaseAtRef | None,
    *,
    config_valid: bool = True,
) -> DeployDecision:
    """``config_valid``: False while no valid configuration was ever seen (the defaults are in use,
    which protect nothing): every deployment is rejected, saying so."""
    env, ref = _code(asked.environment), _code(asked.tag)
    if not config_valid:
        return _rejected(
            asked,
            (
                "`.github/release-bot.yml` is invalid and no valid configuration was seen before: fix it "
                "(`release-bot check-config` names each problem), then run the deployment again",
            ),
        )
    if rule is None:
        return _rejected(
            asked,
            (
                f"{env} is not configured in `deploy.environments` of `.github/release-bot.yml`: add it "
                "with what it requires, or disable release-bot's protection rule on the environment",
            ),
        )
    if release is None or release.kind not in (FINAL, CANDIDATE):
        return _rejected(
            asked,
            (
                f"{ref} is not a tag of an open release (a milestone named after its version): deploy "
                "a release's final tag" + (" or a candidate tag" if rule.candidates else ""),
            ),
        )
    reasons: list[str] = []
    checked: list[str] = []
    final = _code(release.final_tag)
    if release.kind == CANDIDATE and not rule.candidates:
        reasons.append(
            f"{env} takes only the final tag {final}, and {ref} is a release candidate: tag the final "
            "release and deploy it (or allow candidates here with `candidates: true`)"
        )
    else:
        checked.append(
            f"{ref} is {'the final tag' if release.kind == FINAL else 'a candidate'} "
            f"of v{neutralize(release.version, 60)}"
        )
    tracking = (
        f"the tracking issue #{release.tracking_issue}" if release.tracking_issue else "the tracking issue"
    )
    for hold in release.holds:
        reasons.append(f"the release is on hold: {hold}; remove it once the release may ship")
    if rule.needs_sign_off:
        sign_off = release.sign_off
        if sign_off is None:
            latest = f" ({_code(release.latest_candidate_tag)})" if release.latest_candidate_tag else ""
            reasons.append(
                f"UAT is not signed off on the latest candidate{latest}: QA signs it off with "
                f"`/uat passed` on {tracking}"
            )
        elif sign_off.moved:
            reasons.append(
                f"the tag {_code(sign_off.tag)} was moved after UAT signed it off: what it points at now "
                f"was not accepted; QA signs it off again with `/uat passed` on {tracking}"
            )
        elif sign_off.commit != asked.sha:
            reasons.append(
                f"UAT signed off {_code(sign_off.tag)} (commit {_short(sign_off.commit)}), but this "
                f"deployment is of commit {_short(asked.sha)}: deploy the commit that was accepted, or "
                "tag a new candidate of this commit and sign it off"
            )
        else:
            checked.append(
                f"UAT signed off on {_code(sign_off.tag)} (commit {_short(sign_off.commit)}) by "
                f"@\u200b{neutralize(sign_off.by, 40)} on {neutralize(sign_off.date, 12)}"
            )
    for stage in rule.checklists:
        title = STAGE_TITLES[stage]
        progress = release.progress.get(stage)
        if progress is None and stage in release.skipped:
            reasons.append(
                f"the release skipped {title}, so its checklist was never posted; {env} requires it "
                f"(`deploy.environments.{neutralize(rule.name, 60)}.requires`): change that if this release "
                "may go without it"
            )
        elif progress is None:
            reasons.append(f"the {title} checklist is not posted yet: the release has not reached {title}")
        elif not progress.complete:
            left = progress.total - progress.ticked
            named = "; ".join(f"“{neutralize(t, 60)}”" for t in progress.unticked[:MAX_UNTICKED_NAMED])
            more = f" and {left - MAX_UNTICKED_NAMED} more" if left > MAX_UNTICKED_NAMED else ""
            reasons.append(
                f"the {title} checklist has {left} unticked item{'s' if left != 1 else ''}"
                + (f" ({named}{more})" if named else "")
                + f": tick them on {tracking}"
            )
        else:
            checked.append(f"the {title} checklist is complete")
    if reasons:
        return _rejected(asked, tuple(reasons))
    summary = "; ".join(checked)
    return DeployDecision(
        APPROVED, (), _bounded(f"Approved by release-bot: {summary}.", MAX_COMMENT_CHARS), summary
    )


def _rejected(asked: DeploymentAsked, reasons: tuple[str, ...]) -> DeployDecision:
    text = f"Rejected by release-bot ({len(reasons)} to fix): " + " · ".join(
        f"{n}. {r}" for n, r in enumerate(reasons, 1)
    )
    return DeployDecision(REJECTED, reasons, _bounded(text, MAX_COMMENT_CHARS), "")


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_note(asked: DeploymentAsked, decision: DeployDecision) -> str:
    """The bot's comment on the tracking issue for a rejected deployment (its marker first)."""
    lines = [
        deploy_note_marker(asked.deployment_id),
        f"🚫 **Deployment {asked.deployment_id}** of {_code(asked.tag)} (commit {_short(asked.sha)}) to "
        f"{_code(asked.environment)} was rejected by release-bot:",
        "",
    ]
    lines += [f"- {reason}" for reason in decision.reasons]
    lines += ["", "Fix the above, then run the deployment again (docs/deployments.md)."]
    return _bounded("\n".join(lines), MAX_NOTE_CHARS)
