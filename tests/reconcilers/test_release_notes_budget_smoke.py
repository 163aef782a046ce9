"""Smoke test of `benchmarks/notes_budget.py` at a small N: the script still runs, and every kind
of rebuild it measures (cold, nothing new, publishing, marking after publishing) stays inside the
issue's read budget ceil(N/100) + ceil(C/250) + 8 against the sandbox over HTTP."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "notes_budget.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notes_budget_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(120)
def test_budget_script_at_small_n() -> None:
    script = load_script()
    row = script.measure_sandbox(40, 40)
    assert row["C"] == 80 and row["budget_reads"] == 1 + 1 + 8
    runs = {run["run"]: run for run in row["runs"]}
    assert set(runs) == {
        "cold rebuild",
        "rebuild, nothing new",
        "publish (tag pushed)",
        "rebuild after publish",
    }
    assert all(run["reads"] <= row["budget_reads"] for run in runs.values()), runs
    assert runs["cold rebuild"]["writes"] == 1 and runs["rebuild, nothing new"]["writes"] == 0
    assert runs["publish (tag pushed)"]["writes"] == 1 + 2 * 30  # publish, then 30 comments + 30 labels
    assert runs["rebuild after publish"]["writes"] == 2 * 10  # the remaining 10 items
    assert all(run["included"] == 40 for run in runs.values())
