#!/usr/bin/env python3
"""What the GitHub layer costs per request, and what PyGithub's blanket sleeps cost.

Runs a minimal local JSON server (stdlib, loopback) that answers like GitHub, then times:
  1. release-bot's installation client (pacer at GitHub's limits, retry policy, call counting);
  2. the same without pacing (GITHUB_*_PER_MINUTE=0);
  3. PyGithub's defaults (0.25 s sleep per request, 1 s per write) — on a smaller sample;
  4. the pacer alone (acquire/release per request).

Usage: .venv/bin/python benchmarks/github_client_overhead.py [--reads 500] [--writes 50] [--default-sample 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github

from bot.github import accounting
from bot.github.auth import GitHubApp
from bot.github.pacer import Pacer, PacerLimits

REPO = json.dumps({"id": 42, "name": "rocket", "full_name": "acme/rocket", "default_branch": "main"}).encode()
TOKEN = json.dumps({"token": "ghs_bench", "expires_at": "2099-01-01T00:00:00Z"}).encode()
COMMENT = json.dumps({"id": 1, "body": "x"}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # headers and body in one segment: no Nagle/delayed-ACK stall on keep-alive

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-RateLimit-Remaining", "4999")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._send(200, REPO)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._send(201, TOKEN if self.path.endswith("/access_tokens") else COMMENT)

    def log_message(self, *args: object) -> None:
        pass


def workload(gh: Github, reads: int, writes: int) -> list[float]:
    latencies = []
    for i in range(reads + writes):
        started = time.perf_counter()
        if i < reads:
            gh.requester.requestJsonAndCheck("GET", "/repos/acme/rocket")
        else:
            gh.requester.requestJsonAndCheck(
                "POST", "/repos/acme/rocket/issues/1/comments", input={"body": "x"}
            )
        latencies.append(time.perf_counter() - started)
    return latencies


def report(name: str, latencies: list[float]) -> None:
    total = sum(latencies)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:<46} {len(latencies):>5} req  {total:7.2f} s  {len(latencies) / total:8.0f} req/s  "
        f"median {statistics.median(latencies) * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument(
        "--default-sample", type=int, default=20, help="requests for PyGithub's defaults (slow)"
    )
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/api/v3"
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    try:
        for label, limits in [
            ("release-bot client (GitHub limits)", PacerLimits.for_mode(sandbox=False)),
            ("release-bot client (pacing off)", PacerLimits(0, 0)),
        ]:
            app = GitHubApp(1, key, base_url=base, pacer_limits=limits)
            gh = app.client_for(1)
            gh.requester.requestJsonAndCheck("GET", "/repos/acme/rocket")  # mint the token first
            with accounting.count_job_calls() as calls:
                latencies = workload(gh, args.reads, args.writes)
            assert calls.calls == args.reads + args.writes, calls.calls
            report(label, latencies)
            app.close()

        sample_reads = max(0, args.default_sample - args.default_sample // 5)
        sample_writes = args.default_sample // 5
        plain = Github(auth=Auth.Token("ghs_bench"), base_url=base)  # PyGithub defaults: blanket sleeps
        report(
            "PyGithub defaults (0.25 s/req, 1 s/write sleeps)", workload(plain, sample_reads, sample_writes)
        )

        pacer = Pacer(PacerLimits(writes_per_minute=10**9, points_per_minute=10**12))
        started = time.perf_counter()
        for _ in range(100_000):
            pacer.acquire("GET")
            pacer.release()
        elapsed = time.perf_counter() - started
        print(f"{'pacer acquire+release':<46} {elapsed / 100_000 * 1e6:.2f} us per request")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
