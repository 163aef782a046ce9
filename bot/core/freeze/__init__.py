"""The code freeze (``releases.freeze``), planned: pure, like the merge gate (``bot.core.gate``).

By concern: ``settings`` (``FreezeSettings``: frozen branches, when it starts and ends), ``state``
(``FreezeState``, kept in the release record; ``FreezeException``), ``window`` (``decide_freeze``:
the window from the stage or the due date, ``/freeze`` and ``/thaw``), ``exceptions``
(``/exception`` bound to the head commit, kept in the pull request's freeze check run;
``plan_freeze_check``), ``rendering`` (the check run, the tracking issue's lines). Where the trusted
state lives, and why, is in docs/code-freeze.md.
"""

from __future__ import annotations

from bot.core.freeze.settings import FREEZE_CHECK_NAME, FreezeSettings, freeze_settings
from bot.core.freeze.state import FreezeException, FreezeState, merge_exceptions
from bot.core.freeze.window import (
    FREEZE,
    THAW,
    FreezeRequest,
    WindowFacts,
    automatic_start,
    decide_freeze,
    next_window_day,
)

__all__ = [
    "FREEZE",
    "FREEZE_CHECK_NAME",
    "THAW",
    "FreezeException",
    "FreezeRequest",
    "FreezeSettings",
    "FreezeState",
    "WindowFacts",
    "automatic_start",
    "decide_freeze",
    "next_window_day",
    "freeze_settings",
    "merge_exceptions",
]
