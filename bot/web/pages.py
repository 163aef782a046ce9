"""What the templates show beyond the facts: days left or late, stage and gate words (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.github.dashboard_io import GatedPull, ReleaseSummary

STATE_WORDS = {"done": "done", "current": "current stage", "skipped": "skipped", "pending": "not started"}
GATE_WORDS = {"passing": "passing", "failing": "failing", "pending": "running", "none": "no gate yet"}


def due_words(release: ReleaseSummary, today: date) -> tuple[str, str]:
    """('due 2026-12-15 · 13 days left', css class) — late, due today, or shipped/closed."""
    if not release.open:
        return (f"closed {release.closed_at}" if release.closed_at else "closed", "closed")
    if not release.due_day:
        return ("no due date", "none")
    days = (date.fromisoformat(release.due_day) - today).days
    if days > 0:
        return (f"due {release.due_day} · {days} day{'s' if days != 1 else ''} left", "ok")
    if days == 0:
        return (f"due {release.due_day} · due today", "soon")
    late = -days
    return (f"due {release.due_day} · {late} day{'s' if late != 1 else ''} late", "late")


@dataclass(frozen=True)
class GateCounts:
    passing: int
    failing: int
    other: int

    @property
    def total(self) -> int:
        return self.passing + self.failing + self.other


def gate_counts(pulls: tuple[GatedPull, ...]) -> GateCounts:
    open_pulls = [p for p in pulls if p.state == "open"]
    passing = sum(1 for p in open_pulls if p.gate == "passing")
    failing = sum(1 for p in open_pulls if p.gate == "failing")
    return GateCounts(passing=passing, failing=failing, other=len(open_pulls) - passing - failing)
