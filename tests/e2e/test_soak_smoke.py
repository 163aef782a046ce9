"""A short run of benchmarks/soak.py (the 10,000-event soak is run by hand): a real `release-bot
serve` against the sandbox takes a few hundred signed events and real activity, drains its queue
after each batch, and stays under the soak's memory target."""

from __future__ import annotations

import pytest

from benchmarks.soak import TARGET_MB, soak

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_soak_smoke_a_few_hundred_events_stay_under_the_memory_target(tmp_path) -> None:
    result = soak(events=300, sample_every=100, workdir=tmp_path)
    assert result["statuses"] == {202: 300}, result["statuses"]
    assert result["real_deliveries"] > 0
    assert [s["events"] for s in result["samples"]] == [0, 100, 200, 300]
    assert all(s["processes"] >= 2 for s in result["samples"]), result["samples"]  # master and worker
    assert result["rss_mb_at_end"] < TARGET_MB, result["samples"]
