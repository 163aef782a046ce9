"""Smoke run of benchmarks/release_day.py: one small release on one repository, cache on.

The figures of the whole benchmark (N = 1, 5, 10; cache on and off) are in benchmarks/README.md;
this keeps the script working and its measurements meaningful inside the suite."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_a_whole_release_runs_with_the_cache_and_revalidations_cost_nothing() -> None:
    spec = importlib.util.spec_from_file_location("release_day", ROOT / "benchmarks" / "release_day.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["release_day"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    row = module.run(repos=1, pulls=1, cache=True, quiet_start=False)
    assert row["errors"] == [] and row["failed_jobs"] == 0, row
    assert row["deliveries"] > 30 and row["writes"] > 20, row
    # Unchanged facts were revalidated (304: not counted against the primary limit) or not asked.
    assert row["not_modified"] > 0 and row["counted"] < row["requests"], row
    assert row["p95"] is not None and row["p95"] < 30, row
    # The sandbox enforced GitHub's secondary limits: the bot's pacing kept it inside them.
    assert row["secondary_limit_403s"] == 0, row
