"""Smoke run of `benchmarks/fanout_cost.py`: an issue opened outside any milestone wakes only the
release in Monitor — no `pr:` job, no listing of the pull requests, no reconcile of the other releases.

The benchmark (10 milestones, 20 pull requests) gives the figures; this runs a smaller repository.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fanout_cost_benchmark", ROOT / "benchmarks" / "fanout_cost.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_issue_outside_a_milestone_wakes_only_the_release_in_monitor() -> None:
    result = _benchmark().measure(milestones=4, pulls=6, monitor=1)
    # `touched`: any `issues` event may change what a milestone's items show (bot.github.freshness).
    assert result["hints"] == [{"release_events": ["issues"], "touched": ["items"]}]
    assert result["jobs"] == {"repo": 1, "release": 1}, result
    assert not any(" /repos/acme/rocket/pulls" in path for path in result["paths"]), result["paths"]
    # The release in Monitor lists the new issue as feedback: its release record notes it (kept after
    # Monitor, so remembered where only the App writes: issue 16) and its tracking issue shows it.
    assert result["feedback_listed_in"] == ["v1.0.0"], result
    assert result["writes"] == 2, result["paths"]
    assert result["api_calls"] <= 15, result
