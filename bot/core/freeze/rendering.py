"""The freeze as people read it: the pull request's check run, the tracking issue's section. Pure.

Deterministic (no clock: every date comes from the record or GitHub's timestamps), so rendering
twice gives the same text and an unchanged freeze makes no write. User text (a reason) is
neutralized: one line, no mentions that notify, no HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.core.freeze.state import (
    CAUSE_DUE,
    CAUSE_MANUAL,
    LIFTED_CLOSED,
    LIFTED_ENDS,
    LIFTED_THAWED,
    LIFTED_UNCONFIGURED,
    LIFTED_WINDOW,
    FreezeState,
)
from bot.core.gate.plan import CheckOutput
from bot.core.stages import STAGE_TITLES

if TYPE_CHECKING:
    from bot.core.freeze.exceptions import FreezeCause, FreezeCheckFacts, FreezeCheckRecord
    from bot.core.freeze.settings import FreezeSettings

MAX_LISTED_EXCEPTIONS = 50


def _text(value: str, limit: int = 200) -> str:
    from bot.core.tracking import neutralize

    return neutralize(value, limit)


def _who(login: str) -> str:
    return f"@\u200b{login}" if login else "someone"


def cause_text(cause: str, by: str, settings: FreezeSettings) -> str:
    if cause == CAUSE_MANUAL:
        return f"`/freeze` by {_who(by)}"
    if cause == CAUSE_DUE:
        days = settings.days_before_due or 0
        return f"{days} day{'s' if days != 1 else ''} before the due date"
    stage = settings.starts_stage or ""
    return f"{STAGE_TITLES.get(stage, stage)} began"


def _cause_line(cause: FreezeCause, base: str, settings: FreezeSettings) -> str:
    return (
        f"- Release v{_text(cause.version, 64)} (milestone #{cause.milestone}) froze `{base}` since "
        f"{cause.since or 'today'} ({cause_text(cause.cause, cause.by, settings)})."
    )


def _grant_lines(record: FreezeCheckRecord) -> list[str]:
    lines = []
    for grant in record.grants:
        state = (
            f" — withdrawn by {_who(grant.withdrawn_by)} at {grant.withdrawn_at}" if grant.withdrawn else ""
        )
        lines.append(
            f"- #{grant.pr} into `{_text(grant.base, 100)}`: granted by {_who(grant.by)} at {grant.at}: "
            f"{_text(grant.reason)}{state}"
        )
    return lines


def freeze_check(facts: FreezeCheckFacts, record: FreezeCheckRecord) -> CheckOutput:
    """The commit's ``release-bot/freeze`` check run: failure while frozen without an exception."""
    pull, settings = facts.pull, facts.settings
    base, short = _text(pull.base, 100), pull.head_sha[:7]
    grant = record.active_for(pull.base)
    ends = STAGE_TITLES.get(settings.ends, settings.ends)
    lines: list[str]
    if not facts.causes:
        conclusion, title = "success", f"No code freeze on {base}"
        lines = [
            f"No release has frozen `{base}` now. A release freezes it {settings.describe_start()} "
            f"until {ends} begins (`releases.freeze` in `.github/release-bot.yml`)."
        ]
    else:
        versions = ", ".join(f"v{_text(c.version, 64)}" for c in facts.causes)
        since = min((c.since for c in facts.causes if c.since), default="")
        lines = [_cause_line(c, base, settings) for c in facts.causes]
        if grant is not None:
            conclusion = "success"
            title = f"Freeze exception for {short}: granted by @{grant.by}"
            lines += [
                "",
                f"Exception granted for head commit {short} by {_who(grant.by)} at {grant.at}: "
                f"{_text(grant.reason)}",
                "",
                "It holds for this commit only: a new commit needs `/exception <reason>` again.",
            ]
        else:
            conclusion = "failure"
            title = f"Code freeze: {versions} froze {base}" + (f" since {since}" if since else "")
            lines += [
                "",
                f"While the freeze lasts, pull requests into `{base}` need an exception. To ask for "
                "one, say in a comment why this change must go in now and ask "
                f"{facts.rm_words} to comment `/exception <reason>` on this pull request. An exception "
                f"holds for the current head commit ({short}) only: a new commit needs it again.",
                "",
                f"The freeze lifts by itself when {ends} begins or the milestone closes; release managers "
                "can lift it with `/thaw` on the release's tracking issue.",
            ]
    if record.grants:
        lines += ["", f"### Exceptions on commit {short}", "", *_grant_lines(record)]
    lines += ["", record.marker()]
    return CheckOutput(conclusion, title[:250], "\n".join(lines))


_LIFTED_WORDS = {
    LIFTED_ENDS: "the release reached the stage that ends it",
    LIFTED_CLOSED: "the milestone closed",
    LIFTED_THAWED: "`/thaw`",
    LIFTED_UNCONFIGURED: "`releases.freeze` was removed from the configuration",
    LIFTED_WINDOW: "the release left its window: a later due date, or a new candidate before `starts`",
}


def freeze_rows(state: FreezeState) -> list[str]:
    """The line of the tracking issue's summary table."""
    branches = ", ".join(f"`{_text(b, 100)}`" for b in state.branches) or "the default branch"
    if state.active:
        if state.cause == CAUSE_MANUAL:
            how = f"`/freeze` by {_who(state.by)}"
        elif state.cause == CAUSE_DUE:
            days = int(state.detail) if state.detail.isdigit() else 0
            how = f"{days} day{'s' if days != 1 else ''} before the due date"
        else:
            how = f"{STAGE_TITLES.get(state.detail, 'its stage')} began"
        text = f"❄️ {branches} frozen since {state.since} ({how}); `/thaw` lifts it"
    elif state.lifted:
        why = _LIFTED_WORDS.get(state.lifted_why, "its window closed")
        text = f"lifted on {state.lifted} ({why})"
    else:
        text = f"not started ({branches})"
    return [f"| Code freeze | {text} |"]


def exceptions_section(state: FreezeState) -> list[str]:
    """The "Freeze exceptions" section of the tracking issue: every exception on record."""
    if not state.exceptions:
        return []
    rows = ["| Pull request | Commit | Granted by | When | Why |", "|---|---|---|---|---|"]
    shown = state.exceptions[-MAX_LISTED_EXCEPTIONS:]
    for grant in shown:
        why = _text(grant.reason)
        if grant.withdrawn:
            why += f" (withdrawn by {_who(grant.withdrawn_by)} at {grant.withdrawn_at})"
        rows.append(f"| #{grant.pr} | `{grant.sha[:7]}` | {_who(grant.by)} | {grant.at} | {why} |")
    more = len(state.exceptions) - len(shown)
    if more > 0:
        rows.append(f"| … | and {more} earlier | | | |")
    return ["### Freeze exceptions", "", *rows, ""]


def merge_group_freeze_check(
    causes: tuple[FreezeCause, ...], base: str, members: Sequence[tuple[int, bool]], head_sha: str
) -> CheckOutput:
    """A merge queue's group into a frozen branch: success outside a freeze, or when every pull
    request in it (``(number, holds an exception for its head)``) has an exception."""
    short, shown = head_sha[:7], _text(base, 100)
    if not causes:
        return CheckOutput("success", f"No code freeze on {shown}", f"No release has frozen `{shown}` now.")
    missing = [n for n, granted in members if not granted]
    versions = ", ".join(f"v{_text(c.version, 64)}" for c in causes)
    lines = [f"Merge group {short} into `{shown}`, frozen by {versions}:", ""]
    lines += [f"- #{n}: {'exception granted' if granted else 'no exception'}" for n, granted in members]
    if missing:
        title = f"Code freeze: {len(missing)} pull request(s) in the group without an exception"
        return CheckOutput("failure", title, "\n".join(lines))
    title = "Code freeze: every pull request in the group has an exception"
    return CheckOutput("success", title, "\n".join(lines))
