"""The release life cycle as a pure function: facts + what was recorded before -> stage states.

Eight stages (DESIGN.md). What the reconciler passes in:
- ``StageFacts``: what GitHub shows right now (milestone open, due date set, release branch, tags,
  a production deployment of the final tag, which stage checklists are fully ticked);
- ``StageRecord``: what the bot recorded earlier in the tracking issue's hidden state (current
  stage, the date each stage began, skipped stages, the UAT verdict, a hand-requested stage).
  GitHub is the database: the record lives in the issue body, not in the bot's store.

Rules:
- a stage's trigger (the DESIGN.md table) makes it *reachable*; the release moves to the highest
  reachable stage; stages passed over whose trigger never held are *skipped*;
- stages never move backwards on their own, with one exception the life cycle demands: a UAT
  sign-off holds for the latest candidate only, so a new ``-rc.N`` tag while in UAT or Prepare
  returns the release to UAT (the new candidate must be accepted again);
- ``strict`` mode holds the release at a stage until its checklist is fully ticked (closing the
  milestone still ends in Future Planning: a closed milestone cannot be held in Deploy);
- ``/stage <name>`` moves forward by hand; it never moves backwards.

Dates are passed in (``today``), never read here, so the same inputs always give the same output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

IDENTIFY_NEEDS = "identify_needs"
PLAN = "plan"
BUILD_TEST = "build_test"
UAT = "uat"
PREPARE = "prepare"
DEPLOY = "deploy"
MONITOR = "monitor"
FUTURE_PLANNING = "future_planning"

STAGES: tuple[str, ...] = (IDENTIFY_NEEDS, PLAN, BUILD_TEST, UAT, PREPARE, DEPLOY, MONITOR, FUTURE_PLANNING)
STAGE_TITLES: dict[str, str] = {
    IDENTIFY_NEEDS: "Identify Needs",
    PLAN: "Plan Release",
    BUILD_TEST: "Build & Test",
    UAT: "UAT",
    PREPARE: "Prepare",
    DEPLOY: "Deploy",
    MONITOR: "Monitor",
    FUTURE_PLANNING: "Future Planning",
}
# Names people type after /stage: the id, the title, and short forms.
_STAGE_ALIASES: dict[str, str] = {
    "identify": IDENTIFY_NEEDS,
    "needs": IDENTIFY_NEEDS,
    "planning": PLAN,
    "build": BUILD_TEST,
    "test": BUILD_TEST,
    "build-test": BUILD_TEST,
    "build&test": BUILD_TEST,
    "prep": PREPARE,
    "release": DEPLOY,
    "future": FUTURE_PLANNING,
    "retro": FUTURE_PLANNING,
    "future-planning": FUTURE_PLANNING,
}

# Checklist items that are facts the bot reads from GitHub (bot.core.checklist_facts): the bot
# ticks them, with who and when; people tick the rest. A configured checklist names them too
# (``{item: "…", fact: branch_cut}``).
BRANCH_CUT = "branch_cut"
CANDIDATE_TAGGED = "candidate_tagged"
UAT_SIGNED_OFF = "uat_signed_off"
FINAL_TAGGED = "final_tagged"
RELEASE_PUBLISHED = "release_published"
DEPLOYED = "deployed"
MILESTONE_CLOSED = "milestone_closed"
FACTS: dict[str, str] = {
    BRANCH_CUT: "the release branch exists",
    CANDIDATE_TAGGED: "a release-candidate tag of the version exists",
    UAT_SIGNED_OFF: "`/uat passed` was given on the latest candidate",
    FINAL_TAGGED: "the final tag of the version exists",
    RELEASE_PUBLISHED: "the GitHub Release of the version is published",
    DEPLOYED: "a successful deployment of the final tag to the monitor environment",
    MILESTONE_CLOSED: "the milestone is closed",
}

DONE = "done"
CURRENT = "current"
SKIPPED = "skipped"
PENDING = "pending"

AGILE = "agile"
STRICT = "strict"


def index_of(stage: str) -> int:
    return STAGES.index(stage)


def stage_from_name(name: str) -> str | None:
    """'plan', 'Plan Release', 'build_test', 'build & test', 'monitor' -> stage id; None if unknown."""
    text = " ".join(name.strip().lower().split())
    if not text:
        return None
    for stage, title in STAGE_TITLES.items():
        if text in (stage, title.lower(), stage.replace("_", " "), stage.replace("_", "-")):
            return stage
    return _STAGE_ALIASES.get(text.replace(" ", "")) or _STAGE_ALIASES.get(text)


@dataclass(frozen=True)
class UatVerdict:
    """The latest ``/uat passed|failed`` on the tracking issue, bound to the candidate it judged."""

    passed: bool
    rc: int | None  # the latest candidate when the verdict was given (None: no candidate tag yet)
    by: str
    date: str  # ISO date
    reason: str = ""
    # The candidate tag's ref target when the verdict was given (git object id): a tag moved since
    # then points at something UAT did not judge (bot.core.deploy). Empty in records written before.
    tag_sha: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "passed": self.passed, "rc": self.rc, "by": self.by, "date": self.date, "reason": self.reason
        }
        if self.tag_sha:
            data["tag_sha"] = self.tag_sha
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> UatVerdict | None:
        if not isinstance(data, Mapping) or "passed" not in data:
            return None
        rc = data.get("rc")
        return cls(
            passed=bool(data["passed"]),
            rc=int(rc) if isinstance(rc, int) else None,
            by=str(data.get("by") or ""),
            date=str(data.get("date") or ""),
            reason=str(data.get("reason") or ""),
            tag_sha=_object_id(data.get("tag_sha")),
        )


def _object_id(value: Any) -> str:
    """A git object id (sha-1 or sha-256 hex), else empty: the record is read defensively."""
    text = value if isinstance(value, str) else ""
    return text if 40 <= len(text) <= 64 and all(c in "0123456789abcdef" for c in text) else ""


@dataclass(frozen=True)
class ReleaseHold:
    """``/hold [reason]`` on the tracking issue: deployments to protected environments are refused
    until ``/unhold`` (bot.core.deploy). Kept in the release record, which only the App writes, so
    a label removed by anyone with triage does not lift it."""

    by: str
    date: str  # ISO date, configured zone
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return {"by": self.by, "date": self.date, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Any) -> ReleaseHold | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("by"), str) or not data.get("by"):
            return None
        reason = str(data.get("reason") or "")[:500]
        return cls(by=str(data["by"]), date=str(data.get("date") or ""), reason=reason)


@dataclass(frozen=True)
class StageRecord:
    """What was recorded in the tracking issue before this reconcile (empty for a new release)."""

    current: str | None = None
    began: Mapping[str, str] = field(default_factory=dict)  # stage -> ISO date it began
    skipped: tuple[str, ...] = ()
    candidate: int | None = None  # the latest candidate number seen
    uat: UatVerdict | None = None
    manual: str | None = None  # the highest stage requested with /stage
    deployed: bool = False  # a successful deployment of the final tag was seen (sticky)
    hold: ReleaseHold | None = None  # /hold on the tracking issue (bot.core.deploy refuses meanwhile)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "current": self.current,
            "began": dict(sorted(self.began.items(), key=lambda kv: index_of(kv[0]))),
            "skipped": list(self.skipped),
            "candidate": self.candidate,
            "uat": self.uat.to_json() if self.uat else None,
            "manual": self.manual,
            "deployed": self.deployed,
        }
        if self.hold is not None:  # absent otherwise: a record without a hold keeps its bytes
            data["hold"] = self.hold.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> StageRecord:
        """Tolerant: anything unknown or malformed is dropped (the body is editable by people)."""
        if not isinstance(data, Mapping):
            return cls()
        current = data.get("current") if data.get("current") in STAGES else None
        began_raw = data.get("began") if isinstance(data.get("began"), Mapping) else {}
        began = {k: str(v) for k, v in began_raw.items() if k in STAGES and isinstance(v, str)}
        skipped = tuple(s for s in data.get("skipped") or () if s in STAGES)
        candidate = data.get("candidate") if isinstance(data.get("candidate"), int) else None
        manual = data.get("manual") if data.get("manual") in STAGES else None
        return cls(
            current=current,
            began=began,
            skipped=skipped,
            candidate=candidate,
            uat=UatVerdict.from_json(data.get("uat")),
            manual=manual,
            deployed=bool(data.get("deployed")),
            hold=ReleaseHold.from_json(data.get("hold")),
        )


@dataclass(frozen=True)
class StageFacts:
    """What GitHub shows now, reduced to what the triggers need."""

    milestone_open: bool = True
    has_due_date: bool = False
    branch_exists: bool = False
    candidates: tuple[int, ...] = ()  # rc numbers of this version's candidate tags
    final_tag: bool = False
    deployed: bool = False  # a successful deployment of the final tag to the monitor environment
    complete_checklists: frozenset[str] = frozenset()  # stages whose posted checklist is fully ticked
    mode: str = AGILE
    milestone_created: str | None = None  # ISO date: when Identify Needs began, for adopted releases
    latest_candidate_sha: str = ""  # the latest candidate tag's ref target (kept with a UAT verdict)

    @property
    def latest_candidate(self) -> int | None:
        return max(self.candidates) if self.candidates else None


@dataclass(frozen=True)
class StageOutcome:
    record: StageRecord
    begun: tuple[str, ...]  # stages that began in this step, in order (their comments are due)
    held: str | None = None  # strict mode: why the release did not move (said on the tracking issue)
    returned_to_uat: bool = False  # a new candidate superseded the one that was signed off


def uat_signed_off(record: StageRecord, facts: StageFacts) -> bool:
    """Sign-off counts only for the latest candidate."""
    verdict = record.uat
    return bool(
        verdict and verdict.passed and verdict.rc is not None and verdict.rc == facts.latest_candidate
    )


def triggered(stage: str, record: StageRecord, facts: StageFacts) -> bool:
    """The DESIGN.md trigger of one stage, from facts (and the recorded verdict / hand request)."""
    manual = record.manual is not None and index_of(record.manual) >= index_of(stage)
    if stage == IDENTIFY_NEEDS:
        return True
    if stage == PLAN:
        return facts.has_due_date or manual
    if stage == BUILD_TEST:
        return facts.branch_exists or manual
    if stage == UAT:
        return bool(facts.candidates) or manual
    if stage == PREPARE:
        return uat_signed_off(record, facts) or manual
    if stage == DEPLOY:
        return facts.final_tag or manual
    if stage == MONITOR:
        # Not "the Deploy checklist fully ticked": GitHub does not say who ticks a box, so a tick
        # never starts a stage (docs/release-lifecycle.md, "Who decides a stage").
        return facts.deployed or record.deployed or manual
    if stage == FUTURE_PLANNING:
        return not facts.milestone_open or manual
    raise ValueError(f"unknown stage {stage!r}")


def reachable(record: StageRecord, facts: StageFacts) -> str:
    """The highest stage whose trigger holds."""
    best = IDENTIFY_NEEDS
    for stage in STAGES:
        if triggered(stage, record, facts):
            best = stage
    return best


def advance(record: StageRecord, facts: StageFacts, today: str) -> StageOutcome:
    """One step of the life cycle. Idempotent: advance(advance(r)) == advance(r) for the same facts."""
    began = dict(record.began)
    skipped = list(record.skipped)
    manual = record.manual
    current = record.current
    returned = False

    latest = facts.latest_candidate
    if (
        current is not None
        and latest is not None
        and record.candidate is not None
        and latest > record.candidate
        and index_of(UAT) <= index_of(current) <= index_of(PREPARE)
        and not facts.final_tag
    ):
        # A new candidate supersedes the one under acceptance: back to UAT, Prepare to begin again.
        returned = current != UAT
        current = UAT
        began.pop(PREPARE, None)
        if manual is not None and index_of(manual) > index_of(UAT):
            manual = None

    base = replace(record, manual=manual, current=current, deployed=record.deployed or facts.deployed)
    target = reachable(base, facts)
    held: str | None = None
    if current is not None and index_of(target) < index_of(current):
        target = current  # never backwards on its own
    if (
        facts.mode == STRICT
        and current is not None
        and index_of(target) > index_of(current)
        and target != FUTURE_PLANNING
    ):
        if current not in facts.complete_checklists:
            held = _held_message(current, target)
            target = current
        else:
            # Waterfall: one stage at a time. The next stage whose trigger holds begins and is held in
            # turn until its own checklist is ticked; stages whose trigger never held are skipped, as in
            # agile. A hand request (/stage, checked against the ticked list) jumps where it asked.
            natural = replace(base, manual=None)
            step = next(
                s for s in STAGES[index_of(current) + 1 :] if s == target or triggered(s, natural, facts)
            )
            if manual is not None and index_of(manual) > index_of(step):
                step = STAGES[min(index_of(manual), index_of(target))]
            if step != target and step not in facts.complete_checklists:
                held = _held_message(step, target)
            target = step

    begun: list[str] = []
    for stage in STAGES[: index_of(target) + 1]:
        if stage in began or stage in skipped:
            continue
        if stage == target or triggered(stage, base, facts):
            began[stage] = (
                facts.milestone_created if stage == IDENTIFY_NEEDS and facts.milestone_created else today
            )
            begun.append(stage)
        else:
            skipped.append(stage)
    # A stage marked skipped earlier whose trigger now holds (/stage back-fill) stays skipped:
    # history is kept.
    new_record = StageRecord(
        current=target,
        began=began,
        skipped=tuple(sorted(set(skipped), key=index_of)),
        candidate=latest if latest is not None else record.candidate,
        uat=record.uat,
        manual=manual,
        deployed=base.deployed,
        hold=record.hold,
    )
    return StageOutcome(record=new_record, begun=tuple(begun), held=held, returned_to_uat=returned)


def _held_message(stage: str, target: str) -> str:
    return (
        f"Strict mode: the release stays in {STAGE_TITLES[stage]} until its checklist is fully ticked "
        f"(the facts already point to {STAGE_TITLES[target]})."
    )


def stage_states(record: StageRecord) -> dict[str, str]:
    """done / current / skipped / pending for each stage, from a record produced by ``advance``."""
    states: dict[str, str] = {}
    current = record.current
    for stage in STAGES:
        if stage == current:
            states[stage] = CURRENT
        elif stage in record.skipped:
            states[stage] = SKIPPED
        elif current is not None and index_of(stage) < index_of(current) and stage in record.began:
            states[stage] = DONE
        elif current is not None and index_of(stage) < index_of(current):
            states[stage] = SKIPPED
        else:
            states[stage] = PENDING
    return states


# --------------------------------------------------------------------------------------------
# commands on the tracking issue (permission is checked by the caller; this is the life-cycle side)


@dataclass(frozen=True)
class CommandDecision:
    record: StageRecord
    accepted: bool
    reply: str | None = None  # the refusal (or answer) to post; None with a 👍 reaction when accepted


def request_stage(record: StageRecord, facts: StageFacts, name: str) -> CommandDecision:
    """``/stage <name>``: forward only; in strict mode only past a fully ticked checklist."""
    stage = stage_from_name(name)
    if stage is None:
        known = ", ".join(f"`{s}`" for s in STAGES)
        return CommandDecision(record, False, f"Unknown stage `{name}`. Stages: {known}.")
    current = record.current or IDENTIFY_NEEDS
    if index_of(stage) < index_of(current):
        return CommandDecision(
            record,
            False,
            f"Stages never move backwards: the release is in {STAGE_TITLES[current]}, "
            f"past {STAGE_TITLES[stage]}.",
        )
    if stage == current:
        return CommandDecision(record, True)
    if facts.mode == STRICT and current not in facts.complete_checklists:
        return CommandDecision(
            record,
            False,
            f"Strict mode: {STAGE_TITLES[current]} has unticked checklist items; tick them before moving on.",
        )
    manual = stage if record.manual is None or index_of(stage) > index_of(record.manual) else record.manual
    return CommandDecision(replace(record, manual=manual), True)


def record_uat(
    record: StageRecord, facts: StageFacts, passed: bool, by: str, today: str, reason: str = ""
) -> CommandDecision:
    """``/uat passed`` / ``/uat failed <reason>``: a verdict on the latest candidate."""
    current = record.current or IDENTIFY_NEEDS
    # Still heard in Deploy: deployments to a protected environment wait for the sign-off on the
    # commit they deploy (bot.core.deploy), and a final tag may come before it.
    if index_of(current) > index_of(DEPLOY):
        return CommandDecision(
            record, False, f"UAT is over: the release is already in {STAGE_TITLES[current]}."
        )
    if passed and facts.latest_candidate is None:
        return CommandDecision(
            record,
            False,
            "There is no release candidate to accept yet: UAT signs off a candidate tag.",
        )
    if not passed and not reason.strip():
        return CommandDecision(record, False, "Say why: `/uat failed <reason>`.")
    verdict = UatVerdict(
        passed=passed,
        rc=facts.latest_candidate,
        by=by,
        date=today,
        reason=reason.strip()[:500],
        tag_sha=facts.latest_candidate_sha,
    )
    updated = replace(record, uat=verdict)
    if not passed and current == PREPARE:
        # A failed verdict after a sign-off withdraws it: back to UAT, Prepare begins again later.
        began = {k: v for k, v in record.began.items() if k != PREPARE}
        manual = record.manual if record.manual is None or index_of(record.manual) <= index_of(UAT) else None
        updated = replace(updated, current=UAT, began=began, manual=manual)
    return CommandDecision(updated, True)
