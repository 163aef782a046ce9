"""Smoke run of benchmarks/release_budget.py: a real sandbox, the real reconcilers (release + notes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
@pytest.mark.parametrize("final_tag", [False, True], ids=["build_test", "deploy"])
def test_steady_release_reconcile_is_within_the_read_budget_and_writes_nothing(final_tag: bool) -> None:
    """In Build & Test, and in Deploy (notes published on the tag; the deployment look-up Deploy adds)."""
    spec = importlib.util.spec_from_file_location("release_budget", ROOT / "benchmarks" / "release_budget.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.measure(items=101, commits=251, comments=5, final_tag=final_tag)  # budget: 2 + 2 + 8
    steady = result["steady"]
    assert result["budget_reads"] == 12
    assert steady["error"] is None, steady
    assert steady["writes_attempted"] == 0, steady["paths"]
    assert steady["reads"] <= result["budget_reads"], steady["paths"]
    assert result["first"]["writes_ok"] >= 3  # tracking issue, two stage comments (and the notes draft)
    # The first reconcile (it creates everything) keeps the budget too, apart from the one-time
    # configuration load of a cold process.
    first = result["first"]
    assert first["error"] is None, first
    assert first["release_reads"] <= result["budget_reads"], first["paths"]
    # A reconcile whose facts did not change costs nothing against the primary limit: every read
    # comes back 304 or is served inside its freshness window (docs/github-reads.md).
    unchanged = result["unchanged"]
    assert unchanged["error"] is None and unchanged["writes_attempted"] == 0, unchanged
    assert unchanged["counted"] == 0, unchanged["paths"]
