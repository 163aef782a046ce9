"""The deployment GitHub asks about, and what the release shows about it: frozen facts.

``release_at_ref`` reduces a release's own facts (``bot.core.release_types.ReleaseFacts``, read by
the github layer) and its record (``TrackingState``, from the App's check run) to what the decision
needs. Where the sign-off lives: UAT is signed off on the tracking issue with ``/uat passed``, which
the release record keeps as a verdict bound to the candidate number it judged (``rc``); a verdict
counts only while that candidate is the latest one (``bot.core.stages.uat_signed_off``), and its
commit is the candidate tag's commit, peeled by the github layer. The verdict also keeps what the
tag pointed at when it was given (``tag_sha``): a tag moved since then covers nothing. So "UAT
signed off on the commit being deployed" is: the recorded verdict passed, for the latest candidate,
whose tag still points where it did and at the deployment's commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.checklists import Progress, parse_progress
from bot.core.release_types import ReleaseFacts
from bot.core.stages import StageFacts, uat_signed_off
from bot.core.tracking import TrackingState, neutralize, stage_of_comment
from bot.core.versions import ReleaseConventions, final_tag, parse_tag, rc_tag, version_text

FINAL = "final"
CANDIDATE = "candidate"
OTHER = "other"


@dataclass(frozen=True)
class DeploymentAsked:
    """The deployment a ``deployment_protection_rule`` event asks about, as GitHub shows it."""

    deployment_id: int
    environment: str
    ref: str  # as the workflow gave it: a tag, a branch or a sha ("refs/tags/…" accepted)
    sha: str  # the commit being deployed

    @property
    def tag(self) -> str:
        return self.ref.removeprefix("refs/tags/")


def classify_ref(ref: str, conventions: ReleaseConventions) -> tuple[str, str | None, int | None]:
    """(kind, version, rc): the final tag of a version, a candidate tag, or anything else."""
    info = parse_tag(ref.removeprefix("refs/tags/"), conventions)
    if info is None:
        return OTHER, None, None
    return (FINAL if info.rc is None else CANDIDATE), version_text(info.version), info.rc


@dataclass(frozen=True)
class SignOff:
    """A ``/uat passed`` that still counts: given on the latest candidate."""

    rc: int
    tag: str  # that candidate's tag
    by: str
    date: str
    commit: str | None  # the tag's commit (None: the tag is gone)
    moved: bool = False  # the tag points elsewhere than when UAT signed it off


@dataclass(frozen=True)
class ReleaseAtRef:
    """The release a deployment's ref belongs to, reduced to what the decision reads."""

    version: str
    milestone_number: int
    kind: str  # FINAL | CANDIDATE | OTHER (a ref of this version's naming, or not)
    final_tag: str
    latest_candidate_tag: str | None
    sign_off: SignOff | None
    progress: Mapping[str, Progress] = field(default_factory=dict)  # stages with a posted checklist
    holds: tuple[str, ...] = ()  # why the release is held, each in words
    tracking_issue: int | None = None
    stage: str | None = None
    skipped: frozenset[str] = frozenset()  # stages the release passed over (no checklist posted)


def release_at_ref(
    facts: ReleaseFacts,
    state: TrackingState,
    asked: DeploymentAsked,
    *,
    hold_label: str,
    candidate_commit: str | None,
) -> ReleaseAtRef:
    """``candidate_commit``: the commit of the signed-off candidate's tag (the github layer peels it)."""
    version = facts.version_obj
    assert version is not None
    conventions = facts.conventions
    kind, ref_version, _rc = classify_ref(asked.ref, conventions)
    if ref_version != version_text(version) or asked.tag not in facts.tag_names:
        kind = OTHER  # another version's tag, or a branch named like a tag: not this release's tag
    latest = max(facts.candidates) if facts.candidates else None
    record = state.stages
    verdict = record.uat
    sign_off = None
    if verdict is not None and uat_signed_off(record, StageFacts(candidates=facts.candidates)):
        assert verdict.rc is not None
        tag = rc_tag(version, verdict.rc, conventions.rc_tag_pattern)
        now = next((t.sha for t in facts.tags if t.name == tag), "")
        sign_off = SignOff(
            rc=verdict.rc,
            tag=tag,
            by=verdict.by,
            date=verdict.date,
            commit=candidate_commit,
            moved=bool(verdict.tag_sha) and now != verdict.tag_sha,
        )
    tracking = facts.tracking_issue
    holds: tuple[str, ...] = ()
    if tracking is not None and hold_label.casefold() in {label.casefold() for label in tracking.labels}:
        holds = (f"the tracking issue #{tracking.number} carries `{hold_label}`",)
    if record.hold is not None:
        reason = f" ({neutralize(record.hold.reason, 200)})" if record.hold.reason else ""
        by, on = neutralize(record.hold.by, 40), neutralize(record.hold.date, 12)
        holds += (f"`/hold` by @\u200b{by} on {on}{reason}; `/unhold` lifts it",)
    return ReleaseAtRef(
        version=version_text(version),
        milestone_number=facts.milestone_number,
        kind=kind,
        final_tag=final_tag(version, conventions.final_tag_pattern),
        latest_candidate_tag=rc_tag(version, latest, conventions.rc_tag_pattern) if latest else None,
        sign_off=sign_off,
        progress=_progress(facts, state),
        holds=holds,
        tracking_issue=tracking.number if tracking is not None else None,
        stage=record.current,
        skipped=frozenset(record.skipped),
    )


def _progress(facts: ReleaseFacts, state: TrackingState) -> dict[str, Progress]:
    """Each stage checklist's progress: the bot's stage comments listed now (new or ticked since the
    last read), over the progress the record keeps for the ones not listed."""
    progress = {stage: known.progress for stage, known in state.checklists.items()}
    listed: set[str] = set()
    for comment in sorted(facts.tracking_comments, key=lambda c: c.id):
        if comment.author != facts.bot_login:
            continue
        stage = stage_of_comment(comment.body, facts.milestone_number)
        if stage is not None and stage not in listed:
            listed.add(stage)
            progress[stage] = parse_progress(comment.body)
    return progress
