"""Hypothesis profiles for the fuzz tests (tests/fuzz), loaded by tests/fuzz/conftest.py.

``ci`` (default): small budgets so the suite stays within its time; ``long``: a longer hunt,
run by hand: ``HYPOTHESIS_PROFILE=long ./scripts/test tests/fuzz``. Deadlines are off: on a
shared 2-core machine one slow example says nothing about the code (the tests bound time and
memory themselves where it matters). Failing examples found once are kept as ``@example``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
}
settings.register_profile("ci", max_examples=200, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def budget() -> int:
    """The active profile's examples per test (the marker's trials in the README table)."""
    return int(settings.default.max_examples)
