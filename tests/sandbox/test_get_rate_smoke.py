"""Smoke test of benchmarks/sandbox_get_rate.py (the full run, ≥500 GET/s, is the benchmark's job:
here the clients share the sandbox's process and the machine runs the rest of the suite)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from validation import RunningSandbox

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sandbox_get_rate.py"


def _load():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("sandbox_get_rate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_get_rate_benchmark_runs(sb: RunningSandbox) -> None:
    bench = _load()
    bench.seed(sb.api_url)
    result = bench.measure(sb.api_url, clients=4, seconds=1.0)
    assert result.errors == 0
    assert result.requests > 50 and result.rate > 50  # a sanity floor, not the target
    assert result.p50_ms <= result.p95_ms <= result.p99_ms
