"""`serve` splits GitHub's per-installation budget between its gunicorn processes."""

from __future__ import annotations

from bot.cli.serve import share_pacing
from bot.github.pacer import PacerLimits
from bot.settings import Settings


def test_one_process_keeps_the_settings() -> None:
    settings = Settings(serve_web_workers=1)
    assert share_pacing(settings) is settings


def test_default_limits_are_divided_between_processes() -> None:
    shared = share_pacing(Settings(serve_web_workers=4))
    github = PacerLimits()
    assert shared.github_writes_per_minute == github.writes_per_minute / 4 == 20
    assert shared.github_points_per_minute == github.points_per_minute / 4 == 225
    # What the processes build from these settings adds up to GitHub's limits, not 4 times them.
    limits = PacerLimits.for_mode(False, shared.github_writes_per_minute, shared.github_points_per_minute)
    assert limits.writes_per_minute * 4 <= github.writes_per_minute


def test_sandbox_defaults_are_divided_too() -> None:
    shared = share_pacing(Settings(serve_web_workers=2, sandbox=True))
    assert shared.github_writes_per_minute == PacerLimits.for_mode(sandbox=True).writes_per_minute / 2


def test_explicit_limits_are_per_process_already() -> None:
    shared = share_pacing(
        Settings(serve_web_workers=2, github_writes_per_minute=30, github_points_per_minute=None)
    )
    assert shared.github_writes_per_minute == 30
    assert shared.github_points_per_minute == PacerLimits().points_per_minute / 2
