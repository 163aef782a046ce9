#!/usr/bin/env python3
"""Webhook intake throughput: release-bot's endpoint vs a bare Flask view, same gunicorn settings.

    .venv/bin/python benchmarks/webhook_throughput.py [--duration 10] [--connections 50] [--rounds 2]

Runs gunicorn with the Procfile's settings (gunicorn.conf.py) twice, side by side in one run:
``bot.wsgi:app`` (verify, dedupe, route, commit to SQLite with synchronous=FULL, answer 202) and
``benchmarks.bare_app:app`` (read + json.loads + 202). wrk posts a real signed ``milestone``
payload from @octokit/webhooks-examples with a fresh X-GitHub-Delivery per request. Rounds
alternate bare/bot against both servers running, and the medians are compared (the machine is
shared). Prints a JSON summary and checks the targets: bot req/s >= 70% of bare, bot p99 <= 1.5x
bare p99, bot >= 1000 req/s. Installs wrk (apt-get) if missing.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret"


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("wrk not found: installing it with apt-get", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def milestone_payload() -> bytes:
    fixtures = subprocess.run(
        [str(ROOT / "scripts" / "fetch-fixtures")], check=True, capture_output=True, text=True
    )
    cache = Path(fixtures.stdout.strip().splitlines()[-1])
    index = json.loads((cache / "webhooks-examples" / "api.github.com" / "index.json").read_text())
    [entry] = [e for e in index if e["name"] == "milestone"]
    return json.dumps(entry["examples"][0]).encode()


def fsync_latency_ms(workdir: Path, commits: int = 200) -> dict[str, float]:
    """How long a durable SQLite commit takes on this disk right now (the floor under intake)."""
    db = sqlite3.connect(workdir / "fsync-probe.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (x)")
    times = []
    for i in range(commits):
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", (i,))
        db.execute("COMMIT")
        times.append((time.perf_counter() - started) * 1000)
    db.close()
    times.sort()
    return {
        "p50": round(times[len(times) // 2], 3),
        "p90": round(times[int(len(times) * 0.9)], 3),
        "p99": round(times[int(len(times) * 0.99)], 3),
    }


def commit_ms(log: Path) -> dict[str, float]:
    """Percentiles of the bot's own `commit_ms` (time waiting for the durable group commit)."""
    values = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"commit_ms"' in line:
            values.append(json.loads(line)["commit_ms"])
    if not values:
        return {}
    values.sort()
    return {
        "p50": values[len(values) // 2],
        "p90": values[int(len(values) * 0.9)],
        "p99": values[int(len(values) * 0.99)],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(app: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
        "QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
        "LOG_LEVEL": "INFO",  # production default: one JSON line per delivery (to the log file)
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes a fresh one
    log = open(workdir / f"{app.replace(':', '_')}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), app],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                break
        except urllib.error.HTTPError:
            break  # the bare app has no /healthz: a 404 means it is up
        except OSError:
            time.sleep(0.1)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(
    wrk: str, port: int, body_file: Path, signature: str, duration: int, connections: int
) -> dict[str, float]:
    out = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(ROOT / "benchmarks" / "webhook.lua"),
            f"http://127.0.0.1:{port}",
            "--",
            str(body_file),
            signature,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = _seconds(re.search(r"\s50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"\s99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    return {
        "rps": rps,
        "p50_ms": p50 * 1000,
        "p99_ms": p99 * 1000,
        "requests": total,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "stderr": out.stderr.strip()[:500],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    wrk = ensure_wrk()
    body = milestone_payload()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    results: dict[str, list[dict[str, float]]] = {"bare": [], "bot": []}
    with tempfile.TemporaryDirectory(prefix="release-bot-bench-") as tmp:
        workdir = Path(tmp)
        body_file = workdir / "milestone.json"
        body_file.write_bytes(body)
        fsync_before = fsync_latency_ms(workdir)
        # Both servers run for the whole measurement and take turns under wrk, round after
        # round, so a burst of load from elsewhere on the machine hits both alike.
        servers = {
            name: start_gunicorn(app, workdir)
            for name, app in (("bare", "benchmarks.bare_app:app"), ("bot", "bot.wsgi:app"))
        }
        try:
            for _ in range(args.rounds):
                for name in ("bare", "bot"):
                    port = servers[name][1]
                    results[name].append(
                        run_wrk(wrk, port, body_file, signature, args.duration, args.connections)
                    )
        finally:
            for proc, _ in servers.values():
                stop(proc)
        fsync_after = fsync_latency_ms(workdir)
        bot_commit = commit_ms(workdir / "bot.wsgi_app.log")
        db = sqlite3.connect(workdir / "queue.db")
        deliveries = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
        db.close()

    def median(name: str) -> dict[str, float]:
        runs = results[name]
        return {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        }

    bare, bot = median("bare"), median("bot")
    accepted = sum(r["requests"] - r["non_2xx"] for r in results["bot"])
    summary = {
        "connections": args.connections,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "gunicorn": "gunicorn.conf.py (WEB_CONCURRENCY={}, WEB_THREADS={})".format(
            os.environ.get("WEB_CONCURRENCY", "default"), os.environ.get("WEB_THREADS", "default")
        ),
        "bare": bare,
        "bot": bot,
        "all_rounds": results,
        "ratio_rps": round(bot["rps"] / bare["rps"], 3),
        "ratio_p99": round(bot["p99_ms"] / bare["p99_ms"], 3),
        "deliveries_committed": deliveries,
        "sqlite_commit_ms_before": fsync_before,
        "sqlite_commit_ms_after": fsync_after,
        "bot_commit_wait_ms": bot_commit,
        "load_average": os.getloadavg(),
        "bot_2xx_responses": accepted,
    }
    checks = {
        "rps >= 70% of bare": summary["ratio_rps"] >= 0.70,
        "p99 <= 1.5x bare": summary["ratio_p99"] <= 1.5,
        ">= 1000 webhooks/s": bot["rps"] >= 1000,
        # wrk stops counting while the last requests are in flight: those are committed too.
        "every 202 durable": deliveries >= accepted and all(r["non_2xx"] == 0 for r in results["bot"]),
    }
    summary["checks"] = checks
    print(json.dumps(summary, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
