"""Rendering a commit's check run: the sections of every pull request at that head, and the
merge queue group's check."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.gate.plan import CheckOutput
from bot.core.gate.record import REASON_LIMIT, SUMMARY_LIMIT, CommitRecord, PullSection
from bot.core.gate.settings import Conclusion
from bot.core.gate.timeline import short

# At most this many pull requests share one commit's gate; more at one head fail it (a check run
# summary holds about 65,535 characters, and each section is shown and recorded).
MAX_PULLS_PER_COMMIT = 8


SECTION_SUMMARY_LIMIT = 3_000


def commit_check(sha: str, live: Sequence[PullSection], inert: Sequence[PullSection] = ()) -> CheckOutput:
    """The check run of commit ``sha``: the strictest verdict over ``live``, the open pull requests
    into a gated branch whose head it is. One pull request alone gets its own verdict as it is."""
    live = sorted(live, key=lambda s: s.number)
    record = CommitRecord(sha, tuple(sorted([*live[:MAX_PULLS_PER_COMMIT], *inert], key=lambda s: s.number)))
    marker = record.marker()
    if len(live) == 1 and live[0].verdict is not None:
        verdict = live[0].verdict
        return CheckOutput(verdict.conclusion, verdict.title, verdict.summary + "\n\n" + marker)
    failing = [s for s in live if s.verdict is None or s.verdict.conclusion != "success"]
    if len(live) > MAX_PULLS_PER_COMMIT:
        failing = failing or list(live[MAX_PULLS_PER_COMMIT:])
    numbers = ", ".join(f"#{s.number}" for s in live)
    lines = [
        f"Commit {short(sha)} is the head of {len(live)} open pull requests into release branches "
        f"({numbers}). "
        "A check belongs to a commit and GitHub merges the commit, so it passes only when every one "
        "of them passes; what each was given stays with it.",
        "",
    ]
    if len(live) > MAX_PULLS_PER_COMMIT:
        lines += [
            f"More than {MAX_PULLS_PER_COMMIT} pull requests share this commit: close the extra ones.",
            "",
        ]
    for section in live[:MAX_PULLS_PER_COMMIT]:
        lines.append(f"### #{section.number} into `{section.base}`")
        lines.append("")
        if section.verdict is None:
            lines.append("Not evaluated yet at this commit: it counts as failing until the bot has seen it.")
        else:
            lines.append(f"**{section.verdict.title}**")
            lines.append("")
            lines.append(section.verdict.summary)
        lines.append("")
    if failing:
        conclusion: Conclusion = "failure"
        parts = [
            f"#{s.number} "
            + (s.verdict.title.removeprefix("Missing: ").lower() if s.verdict else "not evaluated yet")
            for s in failing
        ]
        title = ("Missing: " + "; ".join(parts))[:REASON_LIMIT]
    else:
        conclusion = "success"
        title = f"Ready to merge: all {len(live)} pull requests at {short(sha)} pass the gate"
    body = "\n".join(lines).rstrip()[:SUMMARY_LIMIT]
    return CheckOutput(conclusion, title, body + "\n\n" + marker)


def merge_group_check(results: Sequence[tuple[int, CheckOutput | None]], head_sha: str) -> CheckOutput:
    """The check on a merge group's head commit: success when every pull request of it passes its gate."""
    lines = [f"Merge group at {short(head_sha)}:", ""]
    failing: list[int] = []
    for number, output in results:
        ok = output is not None and output.conclusion == "success"
        if not ok:
            failing.append(number)
        title = output.title if output else "not gated (no release branch)"
        lines.append(f"- [{'x' if ok else ' '}] #{number}: {title}")
    if not results:
        return CheckOutput("failure", "No pull requests found in the merge group", "\n".join(lines))
    if failing:
        title = "Gate failing for " + ", ".join(f"#{n}" for n in failing)
        return CheckOutput("failure", title, "\n".join(lines))
    return CheckOutput("success", f"All {len(results)} pull request(s) pass the gate", "\n".join(lines))
