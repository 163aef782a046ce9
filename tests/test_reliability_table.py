"""README's "Reliability and security" table lists exactly the tests marked ``reliability``."""

from __future__ import annotations

import pytest
import reliability_table as table
from reliability_plugin import AREAS


@pytest.mark.timeout(300)
def test_the_readme_table_lists_every_marked_case_and_no_other() -> None:
    cases = table.collect_cases()
    assert cases, "no test carries the reliability marker"
    assert {c["area"] for c in cases.values()} <= set(AREAS)
    have, want = table.readme_rows(table.README.read_text()), table.expected_rows(cases)
    missing = [r for r in want if r not in have]
    stale = [r for r in have if r not in want]
    assert not missing and not stale and have == want, (
        "README's reliability table is out of date: run ./scripts/reliability-table after the suite\n"
        f"missing: {missing}\nstale: {stale}"
    )


def test_rows_aggregate_trials_and_outcomes_per_case() -> None:
    cases = {
        "t.py::a[1]": {"area": "attack", "case": "forged", "trials": 2, "test": "t.py::a"},
        "t.py::a[2]": {"area": "attack", "case": "forged", "trials": 2, "test": "t.py::a"},
        "t.py::b": {"area": "bad input", "case": "fuzzed", "trials": 10, "test": "t.py::b"},
        "t.py::c": {"area": "fault", "case": "502s", "trials": 1, "test": "t.py::c"},
    }
    results = {
        "t.py::a[1]": {"outcome": "passed", "trials": 2},
        "t.py::a[2]": {"outcome": "failed", "trials": 2},
        "t.py::b": {"outcome": "passed", "trials": 250},  # the count the fuzz test reported
    }
    rows = table.table_rows(cases, results)
    assert rows == [
        ["fault", "502s", "1", "not run", "`t.py::c`"],
        ["bad input", "fuzzed", "250", "passed", "`t.py::b`"],
        ["attack", "forged", "4", "**failed** (1 of 2)", "`t.py::a`"],
    ]
    section = table.render(cases, results)
    assert table.readme_rows(f"x\n{section}\ny") == [(r[0], r[1], r[4]) for r in rows]
    assert (
        table.rewrite(f"intro\n{table.START}\nold\n{table.END}\nrest", section) == f"intro\n{section}\nrest"
    )
