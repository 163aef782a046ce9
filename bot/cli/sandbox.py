"""`release-bot sandbox`: run the simulated GitHub (docs/sandbox-contract.md) in the foreground.

    release-bot sandbox --port 8900 \\
        --webhook-url http://127.0.0.1:3000/api/github/webhooks \\
        --webhook-secret s3cret --app-key ./sandbox-app.pem

Prints where it listens and the environment the bot needs, then serves until SIGINT/SIGTERM.
The webhook secret is never printed (only whether one is set).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

HELP = "run the sandbox: a simulated GitHub speaking GitHub's REST API and sending real webhooks"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("sandbox", help=HELP, description=HELP)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="port (0 picks a free one; default 8900)")
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="where the App's webhooks are POSTed (default: none, deliveries are only recorded)",
    )
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="secret signing the webhooks (default: $WEBHOOK_SECRET or the sandbox default)",
    )
    parser.add_argument(
        "--app-key",
        default="sandbox-app.pem",
        help="the App's private key PEM; created if missing (default ./sandbox-app.pem)",
    )


def run(args: argparse.Namespace) -> int:
    from bot.sandbox.server import DEFAULT_WEBHOOK_SECRET, start_sandbox

    if not 0 <= args.port <= 65535:
        print(f"release-bot sandbox: invalid port {args.port}", file=sys.stderr)
        return 2
    secret = args.webhook_secret or os.environ.get("WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET
    try:
        handle = start_sandbox(
            port=args.port,
            webhook_url=args.webhook_url,
            webhook_secret=secret,
            app_key_path=args.app_key,
            host=args.host,
        )
    except OSError as exc:
        print(f"release-bot sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    print(f"sandbox ready: {handle.base_url} (REST API {handle.api_url})")
    print(f"  APP_ID=1 PRIVATE_KEY_PATH={os.path.abspath(args.app_key)} GITHUB_API_URL={handle.api_url}")
    print(
        f"  webhooks -> {args.webhook_url or '(none; recorded only)'}; "
        f"secret {'given' if args.webhook_secret or os.environ.get('WEBHOOK_SECRET') else 'sandbox default'}"
    )
    sys.stdout.flush()
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stop.wait()
    finally:
        handle.stop()
    return 0
