"""The ``reliability`` marker: faults survived, bad input refused, attacks repelled — as data.

    @pytest.mark.reliability(area="attack", case="a forged signature is refused", trials=3)

``area`` is one of ``AREAS``; ``case`` a short description (one row of README's "Reliability and
security" table, shared by every test that carries it); ``trials`` how many times one test item
tries it — each parameter of a parametrized test is an item and counts on its own (a fuzz test
reports the real number of examples it ran with the ``reliability`` fixture: ``reliability.trials(1)``
per example).

After a run that executed marked tests, their outcomes are merged into
``.reliability/results.json`` (one entry per test id, so several focused runs add up), which
``scripts/reliability-table`` turns into the README table. ``--reliability-cases=PATH`` writes
the marked tests a collection finds (with ``--collect-only``: the cases without running them),
which is how the generator and tests/test_reliability_table.py know what the table must list.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

AREAS = ("fault", "crash", "bad input", "attack")
RESULTS = Path(".reliability") / "results.json"
_OUTCOMES = pytest.StashKey[dict[str, dict[str, Any]]]()
_TRIALS = pytest.StashKey[int]()


class ReliabilityMarkerError(pytest.UsageError):
    pass


def case_of(item: pytest.Item) -> dict[str, Any] | None:
    """The marker's arguments of ``item``, checked; None when it carries none."""
    marker = item.get_closest_marker("reliability")
    if marker is None:
        return None
    if marker.args:
        raise ReliabilityMarkerError(
            f"{item.nodeid}: reliability takes keyword arguments only (area=, case=, trials=)"
        )
    area, case, trials = marker.kwargs.get("area"), marker.kwargs.get("case"), marker.kwargs.get("trials", 1)
    unknown = set(marker.kwargs) - {"area", "case", "trials"}
    if area not in AREAS or not isinstance(case, str) or not case.strip() or unknown:
        raise ReliabilityMarkerError(
            f"{item.nodeid}: reliability(area=one of {AREAS}, case='<text>', trials=<int>) expected, "
            f"got {marker.kwargs!r}"
        )
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise ReliabilityMarkerError(
            f"{item.nodeid}: reliability trials must be a positive integer, got {trials!r}"
        )
    if "|" in case or "\n" in case:
        raise ReliabilityMarkerError(
            f"{item.nodeid}: a reliability case is one table cell (no '|' or newline)"
        )
    return {"area": area, "case": case.strip(), "trials": trials, "test": test_name(item)}


def test_name(item: pytest.Item) -> str:
    """The test function's id without its parameters: one table cell for all of them."""
    return item.nodeid.split("[", 1)[0]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-cases",
        default=None,
        metavar="PATH",
        help="write the tests carrying the reliability marker (JSON) to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability(area, case, trials): see tests/reliability_plugin.py")
    config.stash[_OUTCOMES] = {}


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    cases = {item.nodeid: case for item in items if (case := case_of(item)) is not None}
    path = config.getoption("--reliability-cases")
    if path:
        Path(path).write_text(json.dumps(cases, indent=1, sort_keys=True))


class Reliability:
    """What a marked test reports about itself at run time."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def trials(self, count: int) -> None:
        """The real number of attempts (e.g. the examples hypothesis ran), replacing the marker's."""
        self._item.stash[_TRIALS] = self._item.stash.get(_TRIALS, 0) + int(count)


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Reliability:
    return Reliability(request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    case = case_of(item)
    if case is None:
        return report
    outcomes = item.config.stash[_OUTCOMES]
    entry = outcomes.setdefault(item.nodeid, {**case, "outcome": "passed", "duration_s": 0.0})
    entry["duration_s"] = round(entry["duration_s"] + report.duration, 3)
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"
    if report.when == "call":
        entry["trials"] = item.stash.get(_TRIALS, case["trials"])
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    outcomes = session.config.stash.get(_OUTCOMES, {})
    if not outcomes or session.config.option.collectonly:
        return
    path = Path(session.config.rootpath) / RESULTS
    path.parent.mkdir(exist_ok=True)
    try:
        merged = json.loads(path.read_text())
    except (OSError, ValueError):
        merged = {}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for nodeid, entry in outcomes.items():
        merged[nodeid] = {**entry, "run_at": stamp}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, indent=1, sort_keys=True))
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file
