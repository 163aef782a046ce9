#!/usr/bin/env python3
"""CPU per webhook and answer latency of the intake path, in one process, without gunicorn or wrk.

    .venv/bin/python benchmarks/intake_cpu.py [--threads 25] [--per-thread 400] [--rounds 3]

``--threads`` threads each POST the real signed ``milestone`` example (fresh delivery id each time)
straight into the WSGI app (``bot.intake.app.create_app``: verify, route, durable group commit to a
SQLite file with synchronous=FULL, JSON log line to a file). Reports the process CPU time per
delivery (user+sys, from ``time.process_time``: what the request costs, whatever else runs on the
machine) and answer-time percentiles, next to a bare Flask view (read + json.loads + 202) called
the same way. Complements ``webhook_throughput.py``, whose req/s ratio depends on the machine's load.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "benchmark-secret"


def milestone_body() -> bytes:
    from webhook_throughput import milestone_payload

    return milestone_payload()


def drive(app: Any, body: bytes, threads: int, per_thread: int) -> dict[str, float]:
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    latencies: list[float] = []
    lock = threading.Lock()
    run = f"{time.time_ns()}"

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        if not status.startswith(("200", "202")):
            raise AssertionError(status)

    def worker(n: int) -> None:
        mine = []
        for i in range(per_thread):
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/api/github/webhooks",
                "SERVER_NAME": "bench",
                "SERVER_PORT": "80",
                "wsgi.url_scheme": "http",
                "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
                "HTTP_X_GITHUB_EVENT": "milestone",
                "HTTP_X_GITHUB_DELIVERY": f"{run}-{n}-{i}",
                "HTTP_X_HUB_SIGNATURE_256": signature,
            }
            started = time.perf_counter()
            b"".join(app(environ, start_response))
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    cpu, wall = time.process_time(), time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = threads * per_thread
    latencies.sort()
    return {
        "cpu_us_per_request": round(cpu / total * 1e6, 1),
        "requests_per_second": round(total / wall),
        "p50_ms": round(latencies[total // 2] * 1000, 2),
        "p99_ms": round(latencies[int(total * 0.99)] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=25)
    parser.add_argument("--per-thread", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    body = milestone_body()
    from bare_app import app as bare

    from bot.intake.app import create_app
    from bot.logging import configure_logging
    from bot.queue.sqlite import SqliteQueue
    from bot.settings import Settings

    results: dict[str, list[dict[str, float]]] = {"bare": [], "bot": []}
    with tempfile.TemporaryDirectory(prefix="release-bot-intake-cpu-", dir="/var/tmp") as tmp:
        configure_logging("INFO", secrets=[SECRET])
        handler = next(h for h in logging.getLogger().handlers if getattr(h, "_release_bot", False))
        handler.setStream(open(os.path.join(tmp, "bot.log"), "w"))  # noqa: SIM115 - as in production: a file
        queue = SqliteQueue(os.path.join(tmp, "queue.db"))
        bot = create_app(Settings.from_env({"WEBHOOK_SECRET": SECRET}), queue)
        for _ in range(args.rounds):
            results["bare"].append(drive(bare, body, args.threads, args.per_thread))
            results["bot"].append(drive(bot, body, args.threads, args.per_thread))
        queue.close()

    def median(name: str, field: str) -> float:
        return statistics.median(r[field] for r in results[name])

    fields = ("cpu_us_per_request", "requests_per_second", "p50_ms", "p99_ms", "max_ms")
    summary = {
        "threads": args.threads,
        "per_thread": args.per_thread,
        "median": {name: {f: median(name, f) for f in fields} for name in results},
        "rounds": results,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
