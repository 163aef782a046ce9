"""Smoke test of benchmarks/intake_cpu.py (the figures come from running it by hand, not from here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_intake_cpu_benchmark_runs_and_reports_both_sides():
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "intake_cpu.py"),
            "--threads",
            "3",
            "--per-thread",
            "20",
            "--rounds",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary = json.loads(out.stdout)
    for side in ("bare", "bot"):
        figures = summary["median"][side]
        assert figures["cpu_us_per_request"] > 0 and figures["requests_per_second"] > 0
        assert figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
